"""Accounting-system errors: one classification, one catalog, one parser for every provider's wire format.

Every error an accounting system returns (and every one pre-push validation predicts) becomes an
`AccountingError`: the provider's own words kept verbatim (B1, B13), a category (architecture §6) and our
explanation and resolution, written once in `CATALOG`. `parse_accounting_error` never raises: a body it
cannot read still yields an error classified from the HTTP status, so callers need no fallback path.

What `message` holds, per wire format (the text the user sees as "the accounting system's message"):

- QuickBooks Online `Fault` (JSON either casing, or XML): each error's `Message` and `Detail` joined with
  ": " (the FAQ's form, e.g. "Duplicate Name Exists Error: The name supplied already exists. : null"), or
  `Message` alone when `Detail` is null or empty. `detail` keeps `Detail` raw, `provider_field` the `element`.
- Xero `ValidationException`: every `ValidationErrors[].Message` in `Elements` (nested ones included),
  de-duplicated; the generic top-level "A validation exception occurred" is kept in `detail` instead.
  Xero problem bodies (401/403): `Detail` (e.g. "TokenExpired: token expired at …"), `Title` in `detail`.
- OAuth token errors: "invalid_grant: <error_description>" (or the bare error code).
- Sage Intacct XML: each error's `description2` (falling back to `description`, then `errorno`), Support ID
  included as sent; `support_id` keeps it separately.
- QuickBooks Desktop qbXML: the failing `…Rs` element's `statusMessage`, XML entities decoded.
- Plain text (e.g. the FAQ's "Unable to create Customer, message=Authentication Failed, status code 401"):
  the text itself. HTML error pages: their `<title>`. No body: "HTTP 503 Service Unavailable".

Several errors in one response are joined with a newline. Messages are capped at 4,000 characters, and
bearer/refresh-token material that some 401 details echo ("Token expired: AB0173…") is replaced by
"[redacted]": that is the one deliberate departure from verbatim, because these messages are stored and shown.

XML is parsed with `xml.etree.ElementTree` (expat does not fetch external entities and, from 2.4.1, limits
entity expansion); bodies are capped at 1 MB before parsing and any body that declares an entity is not
parsed as XML at all but read with fixed patterns, so no provider body can make the parser expand input.
"""

from __future__ import annotations

import email.utils
import html
import json
import math
import re
import xml.etree.ElementTree as ET  # capped input, entity declarations refused: see the module docstring
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from arsync.models.common import AccountingSystem
from arsync.models.customer import AccountingErrorInfo, Address, CustomerContact

MAX_BODY_BYTES = 1_000_000
"""Bodies are cut here before any parsing: provider error bodies are small, a huge one is never trusted."""

MAX_MESSAGE_CHARS = 4000
"""Longest provider message kept; it is stored on the customer and shown to the user."""

DEFAULT_RATE_LIMIT_WAIT = 60.0
"""Seconds to wait on a 429 without Retry-After: QBO's documented advice, and Xero's minute window."""

MAX_RETRY_AFTER = 2 * 24 * 3600.0
"""A Retry-After beyond two days is treated as this; Xero's daily limit resets within one."""


class ErrorCategory(StrEnum):
    """What went wrong, in terms of what the user (or our retry policy) must do about it."""

    AUTHENTICATION_FAILED = "authentication_failed"
    # Kept apart from authentication_failed because the fix differs (reconnect as a user with the right
    # access, not just reconnect); both put the connection in needs_reauth (see `needs_reauth`).
    AUTHORIZATION_FAILED = "authorization_failed"
    DUPLICATE_NAME = "duplicate_name"
    DUPLICATE_NAME_INACTIVE = "duplicate_name_inactive"
    REQUIRED_FIELD_MISSING = "required_field_missing"
    INVALID_CHARACTERS = "invalid_characters"
    FIELD_TOO_LONG = "field_too_long"
    STALE_OBJECT = "stale_object"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    DAILY_LIMIT_REACHED = "daily_limit_reached"
    # Also used for timeouts and connection errors: the provider did not give an answer we can act on.
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    VALIDATION_FAILED = "validation_failed"


RETRYABLE_CATEGORIES = frozenset({ErrorCategory.RATE_LIMITED, ErrorCategory.PROVIDER_UNAVAILABLE})
"""Only these are retried; a provider's 4xx verdict on the data never changes by asking again."""

REAUTH_CATEGORIES = frozenset({ErrorCategory.AUTHENTICATION_FAILED, ErrorCategory.AUTHORIZATION_FAILED})
"""These put the connection in `needs_reauth` and stop calls to the provider until reconnected (B12)."""

_LABELS = {
    AccountingSystem.QUICKBOOKS_ONLINE: "QuickBooks Online",
    AccountingSystem.XERO: "Xero",
    AccountingSystem.SAGE_INTACCT: "Sage Intacct",
    AccountingSystem.QUICKBOOKS_DESKTOP: "QuickBooks Desktop",
}


def system_label(system: AccountingSystem) -> str:
    """The accounting system's product name as users know it."""
    return _LABELS.get(system, str(system))


# --- the catalog ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    """Our words for one category. Placeholders: {system} {record} {records} {inactive} {scope} {field_label}
    {existing} {retry} {reset}; they are filled per system and per error."""

    title: str
    explanation: str
    resolution: str


CATALOG: Mapping[ErrorCategory, CatalogEntry] = {
    ErrorCategory.AUTHENTICATION_FAILED: CatalogEntry(
        title="Accounting system authentication failed",
        explanation=(
            'We received an "Authentication failure" from {system}, so it did not accept the change. Usually '
            "this happens after a password or permission change in {system}, or when the access granted to "
            "this account was revoked or has expired."
        ),
        resolution=(
            "Disconnect {system} in the accounting settings and connect it again. Calls to {system} are paused "
            "until you reconnect; your changes are kept and sync once the connection works."
        ),
    ),
    ErrorCategory.AUTHORIZATION_FAILED: CatalogEntry(
        title="Accounting system permission denied",
        explanation=(
            "{system} recognised the connection but refused permission for this action. Usually this happens "
            "after a permission change: the {system} user who connected the account no longer has the access "
            "needed, or the {system} subscription changed."
        ),
        resolution=(
            "Disconnect {system} and connect it again, signing in as a {system} user with administrator "
            "access. Calls to {system} are paused until you reconnect; your changes are kept."
        ),
    ),
    ErrorCategory.DUPLICATE_NAME: CatalogEntry(
        title="Name already exists in the accounting system",
        explanation=(
            "A {record} with that name already exists in {system}; names must be unique {scope}. If you do not "
            "see a {record} with that name in {system}, it may have been marked as {inactive} and therefore "
            "excluded from search results."
        ),
        resolution=(
            "Give this customer a different name and sync again. If it is the same {record}, link this "
            "customer to the existing {system} record instead (search {system} including {inactive} {records})."
        ),
    ),
    ErrorCategory.DUPLICATE_NAME_INACTIVE: CatalogEntry(
        title="Name belongs to an inactive record in the accounting system",
        explanation=(
            "A {record} with that name already exists in {system}{existing}, but it is marked as {inactive} "
            "and therefore excluded from search results, which is why you may not see it."
        ),
        resolution=(
            "Choose one: link this customer to the existing {inactive} {system} record; reactivate that "
            "record in {system} and link to it; or rename this customer and sync again."
        ),
    ),
    ErrorCategory.REQUIRED_FIELD_MISSING: CatalogEntry(
        title="Required field missing",
        explanation=(
            "{system} requires {field_label}, and this customer does not have it. The message from {system} "
            "names the field that must be specified on the customer."
        ),
        resolution="Fill in {field_label} on the customer and sync again.",
    ),
    ErrorCategory.INVALID_CHARACTERS: CatalogEntry(
        title="Characters not permitted",
        explanation="{field_label} contains one or more characters that {system} does not permit.",
        resolution="Edit {field_label} to remove the characters {system} does not permit, then sync again.",
    ),
    ErrorCategory.FIELD_TOO_LONG: CatalogEntry(
        title="Value too long",
        explanation="The value in {field_label} is longer than {system} allows.",
        resolution="Shorten the value in {field_label} and sync again.",
    ),
    ErrorCategory.STALE_OBJECT: CatalogEntry(
        title="Changed in the accounting system meanwhile",
        explanation=(
            "The {record} was changed in {system} after we last read it, so {system} refused to overwrite "
            "the newer version. Nothing was overwritten."
        ),
        resolution=(
            "Re-Sync the customer to load the latest version from {system}, then make your change again "
            "if it is still needed."
        ),
    ),
    ErrorCategory.NOT_FOUND: CatalogEntry(
        title="Record not found in the accounting system",
        explanation=(
            "{system} could not find a record this change refers to. It may have been deleted or merged in "
            "{system}, or marked as {inactive}."
        ),
        resolution=(
            "Re-Sync the customer to refresh it from {system}. If the record was marked as {inactive} in "
            "{system}, make it active there and sync again."
        ),
    ),
    ErrorCategory.RATE_LIMITED: CatalogEntry(
        title="Accounting system busy",
        explanation="{system} is limiting how many requests we may send right now.",
        resolution="No action needed: we retry automatically{retry}.",
    ),
    ErrorCategory.DAILY_LIMIT_REACHED: CatalogEntry(
        title="Accounting system daily limit reached",
        explanation=(
            "{system}'s daily limit on API calls for this organisation has been reached, so {system} accepts "
            "no more requests from us until it resets."
        ),
        resolution=(
            "No action needed: syncing resumes automatically when the limit resets{reset}. Your changes are "
            "kept and pushed then."
        ),
    ),
    ErrorCategory.PROVIDER_UNAVAILABLE: CatalogEntry(
        title="Accounting system unavailable",
        explanation="{system} is temporarily unavailable or did not answer in time. Nothing is wrong with the data.",
        resolution=(
            "No action needed: we retry automatically. If this continues, check {system}'s status page; your "
            "changes are kept."
        ),
    ),
    ErrorCategory.VALIDATION_FAILED: CatalogEntry(
        title="Rejected by the accounting system",
        explanation="{system} rejected the {record}. Its message says why.",
        resolution=(
            "Correct the customer as the message describes and sync again. If the message is unclear, "
            "contact support and include it."
        ),
    ),
}

_RECORD = {
    AccountingSystem.QUICKBOOKS_ONLINE: ("customer", "customers"),
    AccountingSystem.XERO: ("contact", "contacts"),
    AccountingSystem.SAGE_INTACCT: ("customer", "customers"),
    AccountingSystem.QUICKBOOKS_DESKTOP: ("customer", "customers"),
}
_INACTIVE = {
    AccountingSystem.QUICKBOOKS_ONLINE: "inactive",
    AccountingSystem.XERO: "archived",
    AccountingSystem.SAGE_INTACCT: "inactive",
    AccountingSystem.QUICKBOOKS_DESKTOP: "inactive",
}
_NAME_SCOPE = {
    AccountingSystem.QUICKBOOKS_ONLINE: "across customers, vendors and employees",
    AccountingSystem.XERO: "across all active contacts",
    AccountingSystem.SAGE_INTACCT: "among customers",
    AccountingSystem.QUICKBOOKS_DESKTOP: "across the customer, vendor, employee and other name lists",
}
NAME_FIELD = {
    AccountingSystem.QUICKBOOKS_ONLINE: "DisplayName",
    AccountingSystem.XERO: "Name",
    AccountingSystem.SAGE_INTACCT: "NAME",
    AccountingSystem.QUICKBOOKS_DESKTOP: "Name",
}
"""The provider's name for the field our `display_name` is pushed to."""

_FIELD_LABELS = {
    "display_name": "the customer name",
    "company_name": "the company name",
    "given_name": "the first name",
    "family_name": "the last name",
    "email": "the email address",
    "phone": "the phone number",
    "currency": "the currency",
}
_ADDRESS_LABELS = {
    "line1": "line 1",
    "line2": "line 2",
    "line3": "line 3",
    "line4": "line 4",
    "city": "city",
    "region": "state/region",
    "postal_code": "postal code",
    "country": "country",
}


def field_label(field: str | None, provider_field: str | None = None) -> str:
    """Plain words for one of our fields ("the billing address line 2"), for explanations."""
    if field in _FIELD_LABELS:
        return _FIELD_LABELS[field]
    if field and "." in field:
        address, _, part = field.partition(".")
        which = {"billing_address": "billing address", "shipping_address": "shipping address"}.get(address)
        if which and part in _ADDRESS_LABELS:
            return f"the {which} {_ADDRESS_LABELS[part]}"
    if field in ("billing_address", "shipping_address"):
        return f"the {field.replace('_', ' ')}"
    name = provider_field or field
    return f'the "{name}" field' if name else "the field named in the message"


def _render(template: str, context: Mapping[str, str]) -> str:
    text = template.format_map(context)
    return text[:1].upper() + text[1:]


# --- the error ------------------------------------------------------------------------------------------


class AccountingError(Exception):
    """An accounting system's refusal, with its words verbatim and ours beside them.

    A domain error: `http_status` is the provider's status (None for pre-push validation and for systems
    reached without HTTP), never the status our API answers with.
    """

    def __init__(
        self,
        system: AccountingSystem,
        category: ErrorCategory,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        provider_field: str | None = None,
        detail: str | None = None,
        fault_type: str | None = None,
        value: str | None = None,
        retry_after: float | None = None,
        reset_at: datetime | None = None,
        request_id: str | None = None,
        support_id: str | None = None,
        existing_name: str | None = None,
        existing_id: str | None = None,
        retryable: bool | None = None,
        explanation: str | None = None,
        resolution: str | None = None,
    ) -> None:
        super().__init__(message)
        self.system = AccountingSystem(system)
        self.category = ErrorCategory(category)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.field = field
        self.provider_field = provider_field
        self.detail = detail
        self.fault_type = fault_type
        self.value = value
        self.retry_after = retry_after
        self.reset_at = reset_at
        self.request_id = request_id
        self.support_id = support_id
        self.existing_name = existing_name
        self.existing_id = existing_id
        # Derived from the category unless the caller knows better (e.g. a timeout on a non-replay-safe call).
        self.retryable = self.category in RETRYABLE_CATEGORIES if retryable is None else retryable
        self._explanation = explanation
        self._resolution = resolution

    @property
    def explanation(self) -> str:
        """Our plain-words account of the error, naming the system (catalog text unless overridden)."""
        return self._explanation or _render(CATALOG[self.category].explanation, self._context())

    @property
    def resolution(self) -> str:
        """What the user should do (catalog text unless overridden); rendered late so a later
        `retry_after`/`reset_at` is reflected."""
        return self._resolution or _render(CATALOG[self.category].resolution, self._context())

    def _context(self) -> dict[str, str]:
        record, records = _RECORD.get(self.system, ("customer", "customers"))
        existing = ""
        if self.existing_name:
            existing = f' ("{self.existing_name}")'
        elif self.existing_id:
            existing = f" (id {self.existing_id})"
        retry = f" in about {math.ceil(self.retry_after)} seconds" if self.retry_after else ""
        reset = f" (at {self.reset_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)" if self.reset_at else ""
        return {
            "system": system_label(self.system),
            "record": record,
            "records": records,
            "inactive": _INACTIVE.get(self.system, "inactive"),
            "scope": _NAME_SCOPE.get(self.system, ""),
            "field_label": field_label(self.field, self.provider_field),
            "existing": existing,
            "retry": retry,
            "reset": reset,
        }

    @property
    def title(self) -> str:
        """Short summary for a problem document's `title`."""
        return CATALOG[self.category].title

    @property
    def needs_reauth(self) -> bool:
        """True when the connection must be re-established before any further call (B12)."""
        return self.category in REAUTH_CATEGORIES

    def _kwargs(self) -> dict[str, Any]:
        return {
            "http_status": self.http_status,
            "code": self.code,
            "field": self.field,
            "provider_field": self.provider_field,
            "detail": self.detail,
            "fault_type": self.fault_type,
            "value": self.value,
            "retry_after": self.retry_after,
            "reset_at": self.reset_at,
            "request_id": self.request_id,
            "support_id": self.support_id,
            "existing_name": self.existing_name,
            "existing_id": self.existing_id,
        }

    def reclassified(
        self,
        category: ErrorCategory,
        *,
        existing_name: str | None = None,
        existing_id: str | None = None,
    ) -> AccountingError:
        """The same provider error under another category, with the catalog text for it.

        Used when a lookup explains the error better than its text can, e.g. a duplicate name whose
        clashing record turns out to be inactive or archived (`DUPLICATE_NAME_INACTIVE`).
        """
        kwargs = self._kwargs()
        if existing_name is not None:
            kwargs["existing_name"] = existing_name
        if existing_id is not None:
            kwargs["existing_id"] = existing_id
        return AccountingError(self.system, category, self.message, **kwargs)

    def with_field(self, field: str | None, provider_field: str | None = None) -> AccountingError:
        """The same error pointing at another of our fields (explanation re-rendered to name it)."""
        kwargs = self._kwargs()
        kwargs["retryable"] = self.retryable
        kwargs["field"] = field
        if provider_field is not None:
            kwargs["provider_field"] = provider_field
        return AccountingError(self.system, self.category, self.message, **kwargs)

    def resolve_field(self, contact: CustomerContact) -> AccountingError:
        """Pin an ambiguous address field to the address that holds the offending value.

        QuickBooks Desktop's 3070 names only "Addr2", not which address; the value it quotes tells.
        Returns self when nothing better is known.
        """
        if not self.value or not self.field or "." not in self.field:
            return self
        part = self.field.partition(".")[2]
        matches = [
            name
            for name, address in (
                ("billing_address", contact.billing_address),
                ("shipping_address", contact.shipping_address),
            )
            if isinstance(address, Address) and getattr(address, part, None) == self.value
        ]
        if len(matches) != 1 or f"{matches[0]}.{part}" == self.field:
            return self
        return self.with_field(f"{matches[0]}.{part}")

    @classmethod
    def unavailable(cls, system: AccountingSystem, message: str, *, code: str = "timeout") -> AccountingError:
        """A provider that did not answer (timeout, connection reset): retryable, no HTTP status."""
        return cls(system, ErrorCategory.PROVIDER_UNAVAILABLE, message, code=code)

    def to_info(self, occurred_at: datetime | None = None) -> AccountingErrorInfo:
        """The frozen value stored on the customer whose push failed (B1)."""
        return AccountingErrorInfo(
            system=self.system,
            category=self.category.value,
            http_status=self.http_status,
            code=self.code,
            message=self.message,
            field=self.field,
            explanation=self.explanation,
            resolution=self.resolution,
            retryable=self.retryable,
            occurred_at=occurred_at,
        )

    def __str__(self) -> str:
        return f"{system_label(self.system)}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"AccountingError(system={self.system.value!r}, category={self.category.value!r}, "
            f"http_status={self.http_status!r}, code={self.code!r}, field={self.field!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat Exception's default pickling; logging and multiprocessing need it.
        kwargs = self._kwargs()
        kwargs.update(retryable=self.retryable, explanation=self._explanation, resolution=self._resolution)
        return (_rebuild, (self.system, self.category, self.message, kwargs))


def _rebuild(
    system: AccountingSystem, category: ErrorCategory, message: str, kwargs: dict[str, Any]
) -> AccountingError:
    return AccountingError(system, category, message, **kwargs)


# --- field names ----------------------------------------------------------------------------------------

_LEAF_FIELDS = {
    "displayname": "display_name",
    "name": "display_name",
    "contactname": "display_name",
    "customername": "display_name",
    "companyname": "company_name",
    "givenname": "given_name",
    "firstname": "given_name",
    "familyname": "family_name",
    "lastname": "family_name",
    "email": "email",
    "email1": "email",
    "emailaddress": "email",
    "primaryemailaddr": "email",
    "phone": "phone",
    "phone1": "phone",
    "phonenumber": "phone",
    "primaryphone": "phone",
    "freeformnumber": "phone",
    "currency": "currency",
    "currencyref": "currency",
}
_ADDRESS_LEAVES = {
    **{f"{prefix}{n}": f"line{n}" for prefix in ("line", "addr", "addressline", "address") for n in range(1, 5)},
    "city": "city",
    "state": "region",
    "region": "region",
    "countrysubdivisioncode": "region",
    "postalcode": "postal_code",
    "zip": "postal_code",
    "country": "country",
}
_SHIPPING_PREFIXES = ("shipaddr", "shipaddress", "shipto", "street")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def map_field(provider_field: str | None) -> str | None:
    """Our field for a provider's field name, or the provider's name when we have no equivalent.

    Address parts named without their address (QuickBooks Desktop's "Addr2", a bare "City") are taken
    as the billing address; `AccountingError.resolve_field` corrects that when the value shows otherwise.
    """
    if not provider_field:
        return None
    parts = [_norm(p) for p in re.split(r"[./\[\]]+", provider_field) if p.strip()]
    if not parts:
        return provider_field
    leaf, prefixes = parts[-1], parts[:-1]
    if "primaryemailaddr" in prefixes:
        return "email"
    if "primaryphone" in prefixes or "phones" in prefixes:
        return "phone"
    if leaf in _ADDRESS_LEAVES:
        shipping = any(p.startswith(_SHIPPING_PREFIXES) for p in prefixes)
        return f"{'shipping' if shipping else 'billing'}_address.{_ADDRESS_LEAVES[leaf]}"
    if leaf in ("pobox", "billaddr", "billaddress"):
        return "billing_address"
    if leaf in ("street", "shipaddr", "shipaddress"):
        return "shipping_address"
    return _LEAF_FIELDS.get(leaf, provider_field)


# --- the parser -----------------------------------------------------------------------------------------


@dataclass
class _Found:
    """One provider error as read off the wire, before HTTP status and headers are considered."""

    message: str
    category: ErrorCategory | None = None
    code: str | None = None
    detail: str | None = None
    provider_field: str | None = None
    fault_type: str | None = None
    value: str | None = None
    support_id: str | None = None


_C = ErrorCategory
_TEXT_RULES: tuple[tuple[re.Pattern[str], ErrorCategory], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), category)
    for pattern, category in (
        (r'The string ["“](?P<value>.*?)["”] in the field ["“](?P<field>[^"”]+)["”] is too long', _C.FIELD_TOO_LONG),
        (r'Required field ["“”]?(?P<field>[^"“”]+?)["“”]? is missing', _C.REQUIRED_FIELD_MISSING),
        (r"Required param(?:eter)? (?P<field>[\w.]+) is missing", _C.REQUIRED_FIELD_MISSING),
        (r"Required param missing", _C.REQUIRED_FIELD_MISSING),
        (r"String length (?:is either shorter or longer|specified does not match)|\bis too long\b", _C.FIELD_TOO_LONG),
        (r"exceeds? the max(?:imum)? length|maximum length", _C.FIELD_TOO_LONG),
        (
            r"Duplicate (?:Name|Record) Exists Error|name supplied already exists|"
            r"is already assigned to another contact|of the list element is already in use",
            _C.DUPLICATE_NAME,
        ),
        (r"are not permitted characters|cannot contain (?:a )?colon|invalid characters?\b", _C.INVALID_CHARACTERS),
        (r"Stale Object Error|EditSequence|modified by another user", _C.STALE_OBJECT),
        (r"AuthorizationFailed|errorCode=003100|statusCode=403", _C.AUTHORIZATION_FAILED),
        (
            r"Authentication ?Fail(?:ed|ure)|AuthenticationUnsuccessful|TokenExpired|Token expired|invalid_grant|"
            r"Sign-in information is incorrect|status ?code[ =:]*401\b|Malformed bearer token",
            _C.AUTHENTICATION_FAILED,
        ),
        (r"AuthorizationUnsuccessful|Authorization Failure", _C.AUTHORIZATION_FAILED),
        (r"ThrottleExceeded|rate limit exceeded|Too Many Requests|statusCode=429", _C.RATE_LIMITED),
        (r"Object Not Found|No record exi?s?ts|\bnot found\b", _C.NOT_FOUND),
        (r"Service Unavailable|temporarily unavailable|Gateway Time-?out|Bad Gateway", _C.PROVIDER_UNAVAILABLE),
    )
)


def _classify_text(text: str) -> tuple[ErrorCategory | None, str | None, str | None]:
    """Category, provider field and offending value that a provider's sentence states."""
    plain = html.unescape(text)
    for pattern, category in _TEXT_RULES:
        match = pattern.search(plain)
        if match:
            groups = match.groupdict()
            return category, groups.get("field"), groups.get("value")
    return None, None, None


_FIELD_HINTS = (
    (re.compile(r"\bemail", re.IGNORECASE), "email"),
    (re.compile(r"\bphone", re.IGNORECASE), "phone"),
    (re.compile(r"\b(?:contact |customer |display )?name\b", re.IGNORECASE), "name"),
)


def _hinted_field(system: AccountingSystem, text: str) -> str | None:
    """The provider field a sentence is about when it names none explicitly ("The contact name … ")."""
    provider = {
        "email": {AccountingSystem.XERO: "EmailAddress", AccountingSystem.QUICKBOOKS_ONLINE: "PrimaryEmailAddr"},
        "phone": {AccountingSystem.XERO: "PhoneNumber", AccountingSystem.QUICKBOOKS_ONLINE: "PrimaryPhone"},
    }
    for pattern, kind in _FIELD_HINTS:
        if pattern.search(text):
            if kind == "name":
                return NAME_FIELD.get(system)
            return provider[kind].get(system, kind.capitalize())
    return None


_CODE_CATEGORIES: Mapping[AccountingSystem | None, Mapping[str, ErrorCategory]] = {
    AccountingSystem.QUICKBOOKS_ONLINE: {
        "6240": _C.DUPLICATE_NAME,
        "5010": _C.STALE_OBJECT,
        "2050": _C.FIELD_TOO_LONG,
        "2020": _C.REQUIRED_FIELD_MISSING,
        "610": _C.NOT_FOUND,
        "6000": _C.VALIDATION_FAILED,
        "500": _C.VALIDATION_FAILED,  # Unsupported Operation (e.g. non-UTF-8 payload): asking again won't help
        "100": _C.AUTHENTICATION_FAILED,
        "3200": _C.AUTHENTICATION_FAILED,
        "120": _C.AUTHORIZATION_FAILED,
        "3100": _C.AUTHORIZATION_FAILED,
        "3001": _C.RATE_LIMITED,
    },
    AccountingSystem.QUICKBOOKS_DESKTOP: {
        "3070": _C.FIELD_TOO_LONG,
        "3100": _C.DUPLICATE_NAME,
        "3200": _C.STALE_OBJECT,
        "500": _C.NOT_FOUND,
        "3140": _C.VALIDATION_FAILED,
        "3210": _C.VALIDATION_FAILED,
    },
    AccountingSystem.SAGE_INTACCT: {
        "XL03000006": _C.AUTHENTICATION_FAILED,
        "tokenInvalid": _C.AUTHENTICATION_FAILED,
        "REST-2102": _C.AUTHENTICATION_FAILED,
    },
}
_OAUTH_AUTH_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "invalid_token"})

_SECRETS = (
    re.compile(r"(?i)(token expired:\s*)([A-Za-z0-9._~+/=-]{16,})"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]{16,})"),
    re.compile(r"(?i)((?:access|refresh|id)_token[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9._~+/=-]{16,})"),
)
_SUPPORT_ID = re.compile(r"\[Support ID:\s*([^\]]+)\]")


def _redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


def _cap(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _str(value: object) -> str | None:
    """A wire value as text; None, "" and non-scalars count as absent."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text if text.strip() else None


def _get(data: Mapping[str, Any], *keys: str) -> Any:
    """The first present key, so `Fault`/`fault` and `Message`/`message` read alike."""
    for key in keys:
        if key in data and data[key] is not None:
            return data[key]
    return None


def _classified(
    system: AccountingSystem | None, code: str | None, text: str
) -> tuple[ErrorCategory | None, str | None, str | None]:
    """Category from the provider's code when we know it, else from its words; field and value from the words."""
    by_text, text_field, value = _classify_text(text)
    known = _CODE_CATEGORIES.get(system, {})
    category = (known.get(code) or known.get(code.lstrip("0"))) if code else None
    return category or by_text, text_field, value


def _primary(found: list[_Found]) -> _Found:
    """The error that says most: the first with a specific category, else the first."""
    for item in found:
        if item.category not in (None, _C.VALIDATION_FAILED):
            return item
    return found[0]


def _merge(found: list[_Found]) -> _Found | None:
    if not found:
        return None
    main = _primary(found)
    messages = list(dict.fromkeys(item.message for item in found if item.message))
    main.message = "\n".join(messages)
    return main


# JSON shapes


def _qbo_fault(fault: Mapping[str, Any]) -> _Found | None:
    errors = _get(fault, "Error", "error")
    if isinstance(errors, Mapping):
        errors = [errors]
    if not isinstance(errors, list):
        return None
    found = []
    for err in errors:
        if not isinstance(err, Mapping):
            continue
        message = _str(_get(err, "Message", "message"))
        detail = _str(_get(err, "Detail", "detail"))
        code = _str(_get(err, "code", "Code"))
        element = _str(_get(err, "element", "Element"))
        text = f"{message}: {detail}" if message and detail else (message or detail or code or "")
        category, text_field, value = _classified(AccountingSystem.QUICKBOOKS_ONLINE, code, text)
        found.append(
            _Found(
                message=text,
                category=category,
                code=code,
                detail=detail,
                provider_field=element or text_field,
                fault_type=_str(_get(fault, "type", "Type")),
                value=value,
            )
        )
    return _merge(found)


def _qbo_json(data: Mapping[str, Any]) -> _Found | None:
    fault = _get(data, "Fault", "fault")
    if isinstance(fault, Mapping):
        return _qbo_fault(fault)
    items = _get(data, "BatchItemResponse", "batchItemResponse")
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and isinstance(_get(item, "Fault", "fault"), Mapping):
                return _qbo_fault(item["Fault"] if "Fault" in item else item["fault"])
    return None


def _walk_validation(node: Any, where: str | None) -> Iterator[tuple[str, str | None]]:
    """Every `ValidationErrors[].Message` under a Xero element, with the part of the contact it sits in."""
    if isinstance(node, Mapping):
        here = where
        if _str(node.get("AddressType")):
            here = f"Addresses[{node['AddressType']}]"
        elif _str(node.get("PhoneType")):
            here = "Phones[].PhoneNumber"
        for key, value in node.items():
            if key == "ValidationErrors" and isinstance(value, list):
                for item in value:
                    message = _str(item.get("Message")) if isinstance(item, Mapping) else _str(item)
                    if message:
                        yield message, here
            else:
                yield from _walk_validation(value, here)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_validation(item, where)


def _xero_elements(system: AccountingSystem, elements: list[Any], top: str | None, kind: str | None) -> _Found | None:
    found = []
    for message, where in _walk_validation(elements, None):
        category, text_field, value = _classify_text(message)
        provider_field = text_field or where or (_hinted_field(system, message) if category else None)
        found.append(_Found(message, category, kind, top, provider_field, kind, value))
    return _merge(found)


def _xero_json(system: AccountingSystem, data: Mapping[str, Any]) -> _Found | None:
    if not ("Elements" in data or data.get("Type") == "ValidationException" or "ErrorNumber" in data):
        return None
    kind = _str(data.get("Type"))
    top = _str(data.get("Message"))
    elements = data.get("Elements")
    found = _xero_elements(system, elements, top, kind) if isinstance(elements, list) else None
    if found:
        return found
    text = top or kind or ""
    category, text_field, value = _classify_text(text)
    return _Found(text, category, kind, None, text_field, kind, value)


def _oauth_json(data: Mapping[str, Any]) -> _Found | None:
    error = _str(data.get("error"))
    if error is None or not re.fullmatch(r"[a-z_]+", error):
        return None
    description = _str(data.get("error_description"))
    message = f"{error}: {description}" if description else error
    category = _C.AUTHENTICATION_FAILED if error in _OAUTH_AUTH_ERRORS else _classify_text(message)[0]
    return _Found(message, category, error, description)


def _intacct_json(data: Mapping[str, Any]) -> _Found | None:
    error = _get(data, "ia::error", "error")
    if not isinstance(error, Mapping):
        return None
    message = _str(_get(error, "message", "Message")) or ""
    code = _str(_get(error, "errorId", "code"))
    alt = _str(error.get("code"))
    category, text_field, value = _classified(AccountingSystem.SAGE_INTACCT, code, message)
    if category is None and alt:
        category = _CODE_CATEGORIES[AccountingSystem.SAGE_INTACCT].get(alt)
    support = _str(error.get("supportId"))
    return _Found(message or code or "", category, code, alt, text_field, None, value, support)


def _problem_json(data: Mapping[str, Any]) -> _Found | None:
    detail = _str(_get(data, "Detail", "detail"))
    title = _str(_get(data, "Title", "title"))
    if detail is None and title is None:
        return None
    message = detail or title or ""
    code_match = re.match(r"([A-Za-z]+)(?::|$)", message)
    category, text_field, value = _classify_text(message)
    return _Found(message, category, code_match.group(1) if code_match else None, title, text_field, None, value)


def _generic_json(data: Mapping[str, Any]) -> _Found | None:
    message = _str(_get(data, "Message", "message", "error_description", "errorMessage", "error"))
    if message is None:
        return None
    category, text_field, value = _classify_text(message)
    return _Found(message, category, _str(_get(data, "code", "Code")), None, text_field, None, value)


def _from_json(system: AccountingSystem, data: Any, *, embedded_only: bool) -> _Found | None:
    if isinstance(data, list):
        for item in data:
            found = _from_json(system, item, embedded_only=embedded_only)
            if found:
                return found
        return None
    if not isinstance(data, Mapping):
        return None
    found = _qbo_json(data) or _xero_json(system, data)
    if found or embedded_only:
        return found or _xero_embedded(system, data)
    return (
        _xero_embedded(system, data)
        or _oauth_json(data)
        or _intacct_json(data)
        or _problem_json(data)
        or _generic_json(data)
    )


def _xero_embedded(system: AccountingSystem, data: Mapping[str, Any]) -> _Found | None:
    """Xero's 200 with `summarizeErrors=false`: failed elements carry `HasValidationErrors: true`."""
    for value in data.values():
        if isinstance(value, list):
            failed = [item for item in value if isinstance(item, Mapping) and item.get("HasValidationErrors") is True]
            if failed:
                return _xero_elements(system, failed, None, "ValidationException")
    return None


# XML shapes


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return _str(child.text)
    return None


def _qbo_xml(root: ET.Element) -> _Found | None:
    for fault in root.iter():
        if _local(fault.tag) != "Fault":
            continue
        errors = [
            {
                "Message": _child_text(err, "Message"),
                "Detail": _child_text(err, "Detail"),
                "code": err.get("code"),
                "element": err.get("element"),
            }
            for err in fault
            if _local(err.tag) == "Error"
        ]
        return _qbo_fault({"Error": errors, "type": fault.get("type")})
    return None


def _intacct_error(element: ET.Element, auth_failed: bool) -> _Found:
    errorno = _child_text(element, "errorno")
    description = _child_text(element, "description")
    description2 = _child_text(element, "description2")
    correction = _child_text(element, "correction")
    message = description2 or description or errorno or ""
    category, text_field, value = _classified(AccountingSystem.SAGE_INTACCT, errorno, message)
    if auth_failed and category is None:
        category = _C.AUTHENTICATION_FAILED
    support = _SUPPORT_ID.search(message)
    detail = description if description2 else correction
    return _Found(message, category, errorno, detail, text_field, None, value, support.group(1) if support else None)


def _intacct_xml(root: ET.Element) -> _Found | None:
    failed = [
        parent
        for parent in root.iter()
        if any(_local(c.tag) == "status" and (c.text or "").strip().lower() == "failure" for c in parent)
    ]
    errors = [e for e in root.iter() if _local(e.tag) == "error" and _child_text(e, "errorno") is not None]
    if not failed and not errors:
        return None
    auth_failed = any(_local(p.tag) in ("authentication", "control") for p in failed)
    found = [_intacct_error(e, auth_failed) for e in errors]
    if not found:
        tag = _local(failed[0].tag)
        category = _C.AUTHENTICATION_FAILED if auth_failed else None
        return _Found(f"{tag} failure", category)
    return _merge(found)


def _qbd_found(code: str | None, message: str, tag: str | None) -> _Found:
    category, text_field, value = _classified(AccountingSystem.QUICKBOOKS_DESKTOP, code, message)
    return _Found(message, category, code, None, text_field, tag, value)


def _qbd_xml(root: ET.Element) -> _Found | None:
    for element in root.iter():
        code = element.get("statusCode")
        if code is None:
            continue
        if (element.get("statusSeverity") or "").lower() == "error" and code != "0":
            return _qbd_found(code, element.get("statusMessage") or "", _local(element.tag))
    return None


_XML_PATTERNS = {
    "rs": re.compile(r"<(\w+Rs)\b([^>]*\bstatusSeverity\s*=\s*\"Error\"[^>]*)>", re.IGNORECASE),
    "attr": re.compile(r"(\w+)\s*=\s*\"([^\"]*)\""),
    "qbo": re.compile(
        r"<Error\b[^>]*?code=\"([^\"]*)\"[^>]*>\s*<Message>(.*?)</Message>(?:\s*<Detail>(.*?)</Detail>)?", re.DOTALL
    ),
    "intacct": re.compile(r"<errorno>(.*?)</errorno>.*?<description2>(.*?)</description2>", re.DOTALL),
}


def _xml_by_pattern(system: AccountingSystem, text: str) -> _Found | None:
    """Read the known XML error shapes without an XML parser (truncated or entity-declaring bodies)."""
    match = _XML_PATTERNS["rs"].search(text)
    if match:
        attrs = dict(_XML_PATTERNS["attr"].findall(match.group(2)))
        return _qbd_found(attrs.get("statusCode"), html.unescape(attrs.get("statusMessage", "")), match.group(1))
    match = _XML_PATTERNS["qbo"].search(text)
    if match:
        errors = [{"code": match.group(1), "Message": html.unescape(match.group(2)), "Detail": match.group(3)}]
        return _qbo_fault({"Error": errors})
    match = _XML_PATTERNS["intacct"].search(text)
    if match:
        message = html.unescape(match.group(2))
        category, text_field, value = _classified(AccountingSystem.SAGE_INTACCT, match.group(1), message)
        return _Found(message, category, match.group(1), None, text_field, None, value)
    return None


def _from_xml(system: AccountingSystem, text: str) -> _Found | None:
    if re.search(r"<!ENTITY", text, re.IGNORECASE):
        return _xml_by_pattern(system, text)
    try:
        root = ET.fromstring(text)  # noqa: S314 - capped, entity-free input (see the module docstring)
    except (ET.ParseError, ValueError):
        return _xml_by_pattern(system, text)
    return _qbo_xml(root) or _intacct_xml(root) or _qbd_xml(root)


_HTML = re.compile(r"^\s*(?:<!DOCTYPE\s+html|<html)", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _from_html(text: str) -> _Found | None:
    match = _TITLE.search(text)
    title = " ".join(html.unescape(match.group(1)).split())[:200] if match else ""
    if not title:
        return None
    category, _, _ = _classify_text(title)
    return _Found(title, category if category in (_C.PROVIDER_UNAVAILABLE, _C.RATE_LIMITED) else None)


def _from_text(text: str) -> _Found | None:
    stripped = text.strip()
    if not stripped:
        return None
    category, text_field, value = _classify_text(stripped)
    return _Found(stripped, category, None, None, text_field, None, value)


# decoding


def _decode(body: bytes | bytearray | memoryview | str | Mapping[str, Any] | list[Any] | None) -> tuple[Any, str]:
    """(parsed JSON or None, text) from whatever the HTTP client handed over, capped at MAX_BODY_BYTES."""
    if body is None:
        return None, ""
    if isinstance(body, (Mapping, list)):
        return body, ""
    if isinstance(body, (bytes, bytearray, memoryview)):
        text = bytes(body[:MAX_BODY_BYTES]).decode("utf-8", errors="replace")
    else:
        text = str(body)[:MAX_BODY_BYTES]
    text = text.lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped), text
        except (ValueError, RecursionError):
            return None, text
    return None, text


def _from_body(system: AccountingSystem, data: Any, text: str, *, embedded_only: bool = False) -> _Found | None:
    if data is not None:
        return _from_json(system, data, embedded_only=embedded_only)
    stripped = text.lstrip()
    if stripped.startswith("<"):
        if _HTML.match(stripped):
            return None if embedded_only else _from_html(stripped)
        return _from_xml(system, stripped)
    if embedded_only or stripped.startswith(("{", "[")):
        return None
    return _from_text(stripped)


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _status_text(status: int | None, problem: str | None) -> str:
    if status is None:
        return "No error details were returned"
    try:
        text = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        text = f"HTTP {status}"
    return f"{text} (X-Rate-Limit-Problem: {problem})" if problem else text


def _status_category(status: int | None) -> ErrorCategory:
    if status in (401,):
        return _C.AUTHENTICATION_FAILED
    if status == 403:
        return _C.AUTHORIZATION_FAILED
    if status in (404, 410):
        return _C.NOT_FOUND
    if status in (408, 425) or (status is not None and status >= 500):
        return _C.PROVIDER_UNAVAILABLE
    return _C.VALIDATION_FAILED


def _build(
    system: AccountingSystem,
    status: int | None,
    headers: Mapping[str, str],
    found: _Found | None,
    now: datetime,
) -> AccountingError:
    problem = (headers.get("x-rate-limit-problem") or "").strip().lower() or None
    retry_after = _retry_after(headers.get("retry-after"), now)
    body_category = found.category if found else None

    if status == 401:
        category = _C.AUTHENTICATION_FAILED
    elif status == 429 and problem == "day":
        category = _C.DAILY_LIMIT_REACHED
    elif status == 429:
        category = _C.RATE_LIMITED
    elif status is not None and status >= 500:
        keep = body_category not in (None, _C.VALIDATION_FAILED, _C.NOT_FOUND)
        category = body_category if keep and body_category else _C.PROVIDER_UNAVAILABLE
    else:
        category = body_category or _status_category(status)

    reset_at = None
    if category is _C.DAILY_LIMIT_REACHED and retry_after is not None:
        reset_at = now + timedelta(seconds=retry_after)
    if category is _C.RATE_LIMITED and retry_after is None:
        retry_after = DEFAULT_RATE_LIMIT_WAIT

    message = found.message if found and found.message else _status_text(status, problem if status == 429 else None)
    provider_field = found.provider_field if found else None
    if provider_field is None and category in (
        _C.DUPLICATE_NAME,
        _C.DUPLICATE_NAME_INACTIVE,
        _C.INVALID_CHARACTERS,
    ):
        provider_field = _hinted_field(system, message) or NAME_FIELD.get(system)
    detail = found.detail if found else (f"X-Rate-Limit-Problem: {problem}" if problem else None)
    request_id = headers.get("intuit_tid") or headers.get("xero-correlation-id") or headers.get("x-request-id")
    return AccountingError(
        system,
        category,
        _cap(_redact(message)),
        http_status=status,
        code=found.code if found else None,
        field=map_field(provider_field),
        provider_field=provider_field,
        detail=_cap(_redact(detail)) if detail else None,
        fault_type=found.fault_type if found else None,
        value=found.value if found else None,
        retry_after=retry_after,
        reset_at=reset_at,
        request_id=request_id,
        support_id=found.support_id if found else None,
    )


def _headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if not headers:
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _status(status_code: object) -> int | None:
    if status_code is None or isinstance(status_code, bool):
        return None
    try:
        status = int(status_code)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return status if 100 <= status <= 999 else None


def parse_accounting_error(
    system: AccountingSystem,
    status_code: int | None,
    headers: Mapping[str, str] | None,
    body: bytes | str | dict[str, Any] | None,
    *,
    now: datetime | None = None,
) -> AccountingError:
    """Classify one failed provider response. Never raises.

    `status_code` is the provider's HTTP status (None when the system is not reached over HTTP, e.g.
    QuickBooks Desktop through the Web Connector); header names are matched case-insensitively; `now`
    anchors Retry-After dates and Xero's daily reset (defaults to the current time).
    """
    now = now or datetime.now(UTC)
    status = _status(status_code)
    header_map = _headers(headers)
    try:
        data, text = _decode(body)
        found = _from_body(system, data, text)
    except Exception:  # a body we cannot read still gets a status-based classification
        found = None
    try:
        return _build(system, status, header_map, found, now)
    except Exception:
        return AccountingError(system, _status_category(status), _status_text(status, None), http_status=status)


def find_embedded_fault(system: AccountingSystem, body: bytes | str | dict[str, Any] | None) -> AccountingError | None:
    """The error inside a successful (HTTP 200) response, or None when the response really succeeded.

    QuickBooks Online may answer 200 with a `Fault` (or per-item faults in a batch), Xero with elements
    carrying `HasValidationErrors` (`summarizeErrors=false`), Sage Intacct always answers 200 and reports
    failure in `<status>failure</status>`, and qbXML reports it in `statusSeverity="Error"`. The first
    failure is returned. Never raises.
    """
    try:
        data, text = _decode(body)
        found = _from_body(system, data, text, embedded_only=True)
        if found is None:
            return None
        return _build(system, 200, {}, found, datetime.now(UTC))
    except Exception:
        return None
