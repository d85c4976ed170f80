"""Constrained types shared by the API and domain models.

Every user-typed string is NFC-normalised, stripped of outer whitespace and checked for characters that
no accounting system accepts and that make stored data unsafe to show (C0/C1 controls, bidi overrides,
lone surrogates). Rejection is loud (a 422 naming the field): nothing a user typed is silently changed
beyond Unicode normalisation and outer whitespace.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field

_FORBIDDEN = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"  # C0/C1 controls (tab, LF, CR handled per field)
    "\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides and isolates
    "\ufeff\ufffe\uffff]"
)
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


class AccountingSystem(StrEnum):
    QUICKBOOKS_ONLINE = "quickbooks_online"
    XERO = "xero"
    SAGE_INTACCT = "sage_intacct"
    QUICKBOOKS_DESKTOP = "quickbooks_desktop"


CONNECTABLE_SYSTEMS = (AccountingSystem.QUICKBOOKS_ONLINE, AccountingSystem.XERO)
"""Systems arsync can connect to today (OAuth connectors and emulators exist for these)."""

EDIT_OVERRIDE_SYSTEMS = (AccountingSystem.QUICKBOOKS_ONLINE, AccountingSystem.XERO)
"""Systems for which `allow_customer_edits` may lift the edit lock (B2)."""


def _check_text(value: str, *, multiline: bool) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("contains an invalid Unicode code point (lone surrogate)") from exc
    # Checked before stripping: str.strip() also removes some control characters (U+001C-U+001F, U+0085),
    # which would otherwise vanish silently instead of being refused.
    if _FORBIDDEN.search(value):
        raise ValueError("contains control or bidirectional-override characters")
    value = unicodedata.normalize("NFC", value).strip()
    if not multiline and _LINE_BREAKS.search(value):
        raise ValueError("must be a single line (no tabs or line breaks)")
    return value


def _single_line(value: str) -> str:
    return _not_blank(_check_text(value, multiline=False))


def _multi_line(value: str) -> str:
    return _not_blank(_check_text(value, multiline=True))


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    return value


def _line(max_length: int, description: str = "") -> Any:
    """A single-line text type: the limit is checked as sent, the blank check after normalising."""
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length, description=description or None),
        AfterValidator(_single_line),
    ]


DisplayName = _line(500, "Name shown on invoices; unique in the accounting system")
ShortText = _line(255)
LineText = _line(500)
PostalCode = _line(50)
CountryName = _line(50)
Reason = _line(500)
Email = Annotated[
    str,
    Field(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    AfterValidator(_single_line),
]
Phone = Annotated[
    str,
    Field(min_length=1, max_length=50, pattern=r"^[0-9+().\-\s/xX#*]+$"),
    AfterValidator(_single_line),
]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")]
Notes = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_multi_line)]


class CompanyType(StrEnum):
    SOLE_TRADER = "sole_trader"
    PARTNERSHIP = "partnership"
    PRIVATE_COMPANY = "private_company"
    PUBLIC_COMPANY = "public_company"
    NONPROFIT = "nonprofit"
    GOVERNMENT = "government"
    OTHER = "other"


class CompanySize(StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    ENTERPRISE = "enterprise"


class SyncState(StrEnum):
    LOCAL_ONLY = "local_only"  # account not connected: nothing to push
    PENDING = "pending"  # a change waits to be pushed
    SYNCED = "synced"  # matches the accounting system as of last_synced_at
    FAILED = "failed"  # the accounting system rejected the last push; error attached


class HealthBand(StrEnum):
    HEALTHY = "healthy"
    WATCH = "watch"
    AT_RISK = "at_risk"


class ArchivedFilter(StrEnum):
    NO = "no"
    YES = "yes"
    ALL = "all"
