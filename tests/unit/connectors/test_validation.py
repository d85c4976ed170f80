"""Pre-push validation: every limit accepted at its value and rejected one past it, per system."""

from __future__ import annotations

from typing import Any

import pytest

from arsync.connectors.errors import ErrorCategory, parse_accounting_error
from arsync.connectors.validation import PREPUSH_CODE, validate_for_push
from arsync.models.common import AccountingSystem
from arsync.models.customer import Address, CustomerContact

QBO = AccountingSystem.QUICKBOOKS_ONLINE
XERO = AccountingSystem.XERO
INTACCT = AccountingSystem.SAGE_INTACCT
QBD = AccountingSystem.QUICKBOOKS_DESKTOP


def contact_with(path: str, value: str, **extra: Any) -> CustomerContact:
    """A valid contact with one field (`billing_address.line2` style for addresses) set to `value`."""
    fields: dict[str, Any] = {"display_name": "Acme", **extra}
    if "." in path:
        address, part = path.split(".")
        fields[address] = Address(**{part: value})
    else:
        fields[path] = value
    return CustomerContact(**fields)


ADDRESS_PARTS = ("line1", "line2", "line3", "line4", "city", "region", "postal_code", "country")


def address_limits(limits: dict[str, int]) -> list[tuple[str, int]]:
    return [(f"{a}.{p}", limits[p]) for a in ("billing_address", "shipping_address") for p in ADDRESS_PARTS]


LIMITS = {
    QBO: [
        ("display_name", 500),
        ("company_name", 500),
        ("given_name", 100),
        ("family_name", 100),
        ("email", 100),
        ("phone", 30),
        *address_limits(
            {
                **dict.fromkeys(("line1", "line2", "line3", "line4"), 500),
                "city": 255,
                "region": 255,
                "postal_code": 30,
                "country": 255,
            }
        ),
    ],
    XERO: [
        ("display_name", 255),
        ("given_name", 255),
        ("family_name", 255),
        ("email", 255),
        ("phone", 50),
        *address_limits(
            {
                **dict.fromkeys(("line1", "line2", "line3", "line4"), 500),
                "city": 255,
                "region": 255,
                "postal_code": 50,
                "country": 50,
            }
        ),
    ],
    QBD: [
        ("display_name", 41),
        ("company_name", 41),
        ("given_name", 25),
        ("family_name", 25),
        ("phone", 21),
        ("email", 1023),
        *address_limits(
            {
                **dict.fromkeys(("line1", "line2", "line3", "line4"), 41),
                "city": 31,
                "region": 21,
                "postal_code": 13,
                "country": 31,
            }
        ),
    ],
}
CASES = [(system, path, limit) for system, rules in LIMITS.items() for path, limit in rules]
LABELS = {QBO: "QuickBooks Online", XERO: "Xero", INTACCT: "Sage Intacct", QBD: "QuickBooks Desktop"}


@pytest.mark.parametrize(("system", "path", "limit"), CASES, ids=[f"{s.value}-{p}" for s, p, _ in CASES])
def test_length_limit(system: AccountingSystem, path: str, limit: int) -> None:
    assert validate_for_push(system, contact_with(path, "a" * limit)) == []
    errors = validate_for_push(system, contact_with(path, "a" * (limit + 1)))
    assert len(errors) == 1
    error = errors[0]
    assert error.category is ErrorCategory.FIELD_TOO_LONG
    assert error.field == path
    assert error.code == PREPUSH_CODE and error.http_status is None
    assert not error.retryable
    assert error.message.startswith(f"{LABELS[system]} allows at most {limit} characters in ")
    assert error.message.endswith(f"; {path} has {limit + 1}.")
    assert LABELS[system] in error.explanation and "Shorten" in error.resolution


def test_qbd_limit_matches_the_faq_3070_error() -> None:
    [error] = validate_for_push(QBD, contact_with("billing_address.line2", "x" * 42))
    parsed = parse_accounting_error(
        QBD,
        None,
        {},
        '<QBXML><QBXMLMsgsRs><CustomerAddRs statusCode="3070" statusSeverity="Error" statusMessage="The string '
        '&quot;xx&quot; in the field &quot;Addr2&quot; is too long." /></QBXMLMsgsRs></QBXML>',
    )
    assert (error.category, error.field) == (parsed.category, parsed.field)
    assert error.explanation == parsed.explanation
    assert error.provider_field == "BillAddress.Addr2"


@pytest.mark.parametrize("bad", ["Acme: East", "Acme\tEast", "Acme\nEast", "Acme\r\nEast"])
def test_qbo_rejects_colon_tab_newline_in_display_name(bad: str) -> None:
    [error] = validate_for_push(QBO, CustomerContact(display_name=bad))
    assert error.category is ErrorCategory.INVALID_CHARACTERS
    assert error.field == "display_name" and error.provider_field == "DisplayName"
    assert (
        error.message == 'QuickBooks Online does not allow a colon (":"), tab or line break in a customer display name.'
    )
    assert "QuickBooks Online does not permit" in error.explanation


@pytest.mark.parametrize("field", ["given_name", "family_name"])
def test_qbo_rejects_colon_in_name_parts(field: str) -> None:
    [error] = validate_for_push(QBO, contact_with(field, "A:B"))
    assert (error.category, error.field) == (ErrorCategory.INVALID_CHARACTERS, field)


def test_qbo_allows_colon_elsewhere_and_other_systems_allow_it_in_names() -> None:
    assert validate_for_push(QBO, contact_with("billing_address.line1", "Unit 4: Rear")) == []
    assert validate_for_push(XERO, CustomerContact(display_name="Acme: East")) == []


@pytest.mark.parametrize("bad", ["<Acme>", "Acme <East", "Acme > West"])
def test_xero_rejects_angle_brackets_in_contact_name(bad: str) -> None:
    [error] = validate_for_push(XERO, CustomerContact(display_name=bad))
    assert error.message == 'Xero does not allow "<" or ">" in a contact name.'
    parsed = parse_accounting_error(
        XERO,
        400,
        {},
        {
            "Type": "ValidationException",
            "Elements": [
                {"ValidationErrors": [{"Message": "The contact name is not valid. < > are not permitted characters."}]}
            ],
        },
    )
    assert (
        (error.category, error.field)
        == (parsed.category, parsed.field)
        == (
            ErrorCategory.INVALID_CHARACTERS,
            "display_name",
        )
    )
    assert error.explanation == parsed.explanation and error.resolution == parsed.resolution


def test_angle_brackets_are_fine_for_qbo() -> None:
    assert validate_for_push(QBO, CustomerContact(display_name="<Acme>")) == []


@pytest.mark.parametrize("system", list(AccountingSystem))
def test_name_is_required(system: AccountingSystem) -> None:
    [error] = validate_for_push(system, CustomerContact(display_name="  "))
    assert error.category is ErrorCategory.REQUIRED_FIELD_MISSING
    assert error.field == "display_name"
    assert error.message.startswith(f"{LABELS[system]} requires ")
    assert error.message.endswith("display_name is empty.")
    assert LABELS[system] in error.explanation


def test_qbo_accepts_name_parts_instead_of_display_name() -> None:
    assert validate_for_push(QBO, CustomerContact(display_name="", given_name="Ada")) == []
    assert validate_for_push(QBO, CustomerContact(display_name="", family_name="Lovelace")) == []
    assert len(validate_for_push(XERO, CustomerContact(display_name="", given_name="Ada"))) == 1


def test_sage_intacct_enforces_no_lengths() -> None:
    # Its field lengths are UNCONFIRMED (accounting-apis.md §3): only the name is checked.
    assert validate_for_push(INTACCT, contact_with("billing_address.line1", "x" * 5000, email="y" * 3000)) == []


def test_several_problems_are_all_reported_in_field_order() -> None:
    contact = CustomerContact(
        display_name="A" * 42,
        phone="1" * 22,
        billing_address=Address(city="C" * 32),
        shipping_address=Address(postal_code="9" * 14),
    )
    errors = validate_for_push(QBD, contact)
    assert [e.field for e in errors] == [
        "display_name",
        "phone",
        "billing_address.city",
        "shipping_address.postal_code",
    ]


def test_valid_contact_passes_everywhere() -> None:
    contact = CustomerContact(
        display_name="Acme Pty Ltd",
        company_name="Acme",
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.com",
        phone="+1 (555) 010-0000",
        billing_address=Address(line1="1 Main St", city="Springfield", region="IL", postal_code="62701", country="US"),
        currency="USD",
    )
    for system in AccountingSystem:
        assert validate_for_push(system, contact) == []
