"""Pre-push validation: each accounting system's own rules, checked before the round trip.

The rules produce `AccountingError`s with the same categories and catalog text the parser gives the
provider's answer, so a customer fails the same way whether we or the provider catch it (architecture §6).
Messages say whose rule it is and name our field; `code` is `PREPUSH_CODE` and `http_status` is None.

Name uniqueness needs a remote lookup (including inactive/archived records), so the push service checks it,
not this module.

Limits, and where the reference disagrees (accounting-apis.md §1.3, §2.3, §3, §4):

- QuickBooks Online limits come from a third-party transcription of Intuit's schema. Where it conflicts
  with other evidence we take the larger limit: CompanyName 500 (one 2015 error said 50) and phone 30
  (Invoiced truncates to 21). Rejecting what QBO would accept blocks a user with no way round it; letting
  an over-long value through costs one round trip, and QBO's 2050 answer parses to the same
  `field_too_long` error. UNCONFIRMED against Intuit's official page.
- Xero limits are the OpenAPI spec's `maxLength`s. The "< >" rule comes from the product FAQ, not from Xero's
  documentation (UNCONFIRMED in Xero's material). Xero has no company-name field; `company_name` is not sent.
- Sage Intacct: only "name is required" is known; its field lengths are UNCONFIRMED, so none are enforced.
- QuickBooks Desktop: qbXML CustomerAdd lengths (Intuit's reference for Name, consolibyte's schema for the rest).
- Address lines: our line1..line4 are assumed to go to the provider's Line1..4 / AddressLine1..4 / Addr1..4.
  For Xero, billing is assumed to be the POBOX address and shipping the STREET one (only the provider field
  named in the message depends on this).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from arsync.connectors.errors import AccountingError, ErrorCategory, system_label
from arsync.models.common import AccountingSystem
from arsync.models.customer import Address, CustomerContact

PREPUSH_CODE = "prepush"
"""`AccountingError.code` for errors found before anything was sent."""

_ADDRESS_PARTS = ("line1", "line2", "line3", "line4", "city", "region", "postal_code", "country")
_ADDRESSES = ("billing_address", "shipping_address")


@dataclass(frozen=True)
class _NameRule:
    """A character a system refuses in a name field, and how to say so."""

    pattern: re.Pattern[str]
    message: str  # formatted with {system} and {noun}


@dataclass(frozen=True)
class SystemRules:
    """One accounting system's customer rules, as (provider field name, limit) per field of ours."""

    name_field: str
    name_noun: str
    name_alternatives: tuple[str, ...] = ()  # fields that may stand in for an empty name (QBO name parts)
    forbidden: _NameRule | None = None
    forbidden_fields: Mapping[str, str] = field(default_factory=dict)  # our field -> noun for the message
    lengths: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    address_names: tuple[str, str] = ("", "")  # provider names of the billing and shipping address
    address_lengths: Mapping[str, tuple[str, int]] = field(default_factory=dict)


def _lines(prefix: str, limit: int) -> dict[str, tuple[str, int]]:
    return {f"line{n}": (f"{prefix}{n}", limit) for n in range(1, 5)}


RULES: Mapping[AccountingSystem, SystemRules] = {
    AccountingSystem.QUICKBOOKS_ONLINE: SystemRules(
        name_field="DisplayName",
        name_noun="a customer display name",
        name_alternatives=("given_name", "family_name"),
        forbidden=_NameRule(
            re.compile(r"[:\t\r\n]"),
            '{system} does not allow a colon (":"), tab or line break in {noun}.',
        ),
        forbidden_fields={
            "display_name": "a customer display name",
            "given_name": "a customer's first name (GivenName)",
            "family_name": "a customer's last name (FamilyName)",
        },
        lengths={
            "display_name": ("DisplayName", 500),
            "company_name": ("CompanyName", 500),
            "given_name": ("GivenName", 100),
            "family_name": ("FamilyName", 100),
            "email": ("PrimaryEmailAddr.Address", 100),
            "phone": ("PrimaryPhone.FreeFormNumber", 30),
        },
        address_names=("BillAddr", "ShipAddr"),
        address_lengths={
            **_lines("Line", 500),
            "city": ("City", 255),
            "region": ("CountrySubDivisionCode", 255),
            "postal_code": ("PostalCode", 30),
            "country": ("Country", 255),
        },
    ),
    AccountingSystem.XERO: SystemRules(
        name_field="Name",
        name_noun="a contact name",
        forbidden=_NameRule(re.compile(r"[<>]"), '{system} does not allow "<" or ">" in {noun}.'),
        forbidden_fields={"display_name": "a contact name"},
        lengths={
            "display_name": ("Name", 255),
            "given_name": ("FirstName", 255),
            "family_name": ("LastName", 255),
            "email": ("EmailAddress", 255),
            "phone": ("Phones[].PhoneNumber", 50),
        },
        address_names=("Addresses[POBOX]", "Addresses[STREET]"),
        address_lengths={
            **_lines("AddressLine", 500),
            "city": ("City", 255),
            "region": ("Region", 255),
            "postal_code": ("PostalCode", 50),
            "country": ("Country", 50),
        },
    ),
    AccountingSystem.SAGE_INTACCT: SystemRules(name_field="NAME", name_noun="a customer name"),
    AccountingSystem.QUICKBOOKS_DESKTOP: SystemRules(
        name_field="Name",
        name_noun="a customer name",
        lengths={
            "display_name": ("Name", 41),
            "company_name": ("CompanyName", 41),
            "given_name": ("FirstName", 25),
            "family_name": ("LastName", 25),
            "phone": ("Phone", 21),
            "email": ("Email", 1023),
        },
        address_names=("BillAddress", "ShipAddress"),
        address_lengths={
            **_lines("Addr", 41),
            "city": ("City", 31),
            "region": ("State", 21),
            "postal_code": ("PostalCode", 13),
            "country": ("Country", 31),
        },
    ),
}


def _error(
    system: AccountingSystem, category: ErrorCategory, message: str, our_field: str, provider_field: str
) -> AccountingError:
    return AccountingError(
        system,
        category,
        message,
        code=PREPUSH_CODE,
        field=our_field,
        provider_field=provider_field,
    )


def _values(contact: CustomerContact, rules: SystemRules) -> list[tuple[str, str, str, int]]:
    """(our field, value, provider field, limit) for every non-empty field the system limits."""
    out = [
        (name, value, provider, limit)
        for name, (provider, limit) in rules.lengths.items()
        if isinstance(value := getattr(contact, name, None), str) and value
    ]
    for address_field, provider_address in zip(_ADDRESSES, rules.address_names, strict=True):
        address = getattr(contact, address_field)
        if not isinstance(address, Address):
            continue
        for part in _ADDRESS_PARTS:
            value = getattr(address, part)
            if part in rules.address_lengths and isinstance(value, str) and value:
                provider, limit = rules.address_lengths[part]
                out.append((f"{address_field}.{part}", value, f"{provider_address}.{provider}", limit))
    return out


def validate_for_push(system: AccountingSystem, contact: CustomerContact) -> list[AccountingError]:
    """Everything `system` would reject in `contact` that we can know locally; empty means push it."""
    rules = RULES.get(system)
    if rules is None:
        return []
    label = system_label(system)
    errors: list[AccountingError] = []

    if not contact.display_name.strip() and not any(
        (getattr(contact, alt) or "").strip() for alt in rules.name_alternatives
    ):
        parts = f" or at least one name part ({', '.join(rules.name_alternatives)})" if rules.name_alternatives else ""
        errors.append(
            _error(
                system,
                ErrorCategory.REQUIRED_FIELD_MISSING,
                f"{label} requires {rules.name_noun} ({rules.name_field}){parts}; display_name is empty.",
                "display_name",
                rules.name_field,
            )
        )

    if rules.forbidden is not None:
        for our_field, noun in rules.forbidden_fields.items():
            value = getattr(contact, our_field, None)
            if isinstance(value, str) and rules.forbidden.pattern.search(value):
                provider = rules.lengths.get(our_field, (rules.name_field, 0))[0]
                message = rules.forbidden.message.format(system=label, noun=noun)
                errors.append(_error(system, ErrorCategory.INVALID_CHARACTERS, message, our_field, provider))

    for our_field, value, provider, limit in _values(contact, rules):
        if len(value) > limit:
            message = f"{label} allows at most {limit} characters in {provider}; {our_field} has {len(value)}."
            errors.append(_error(system, ErrorCategory.FIELD_TOO_LONG, message, our_field, provider))
    return errors
