"""The accounting-system port: one adapter per system, the domain only ever sees these models.

Vendor JSON is parsed into the frozen models below at the adapter boundary. Cursors are opaque strings the
caller stores as a checkpoint after applying a page, so a crashed sync resumes from the last applied page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from abc import ABC, abstractmethod
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from arsync.models.common import AccountingSystem
from arsync.models.customer import Address, CustomerContact

T = TypeVar("T")

CreditKind = Literal["credit_memo", "credit_note", "overpayment", "prepayment"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RemoteCustomer(_Frozen):
    """A customer (QBO Customer / Xero Contact) as the provider holds it."""

    id: str
    display_name: str = ""  # empty only on deletion stubs (QBO CDC `status="Deleted"` carries just Id)
    company_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    currency: str | None = None
    active: bool = True
    sync_token: str | None = None  # QBO SyncToken; None for Xero (UpdatedDateUTC is the concurrency check)
    updated_at: datetime | None = None
    balance: Decimal | None = None  # the provider's own open balance (B8); None when the read did not carry it
    deleted: bool = False  # QBO merge/delete stub from CDC; Xero contacts are never deleted (archived instead)

    def to_contact(self) -> CustomerContact:
        """Our contact shape for this remote customer (what import writes)."""
        return CustomerContact(
            display_name=self.display_name,
            company_name=self.company_name,
            given_name=self.given_name,
            family_name=self.family_name,
            email=self.email,
            phone=self.phone,
            billing_address=self.billing_address,
            shipping_address=self.shipping_address,
            currency=self.currency,
        )


class RemoteInvoice(_Frozen):
    """A sales invoice (QBO Invoice / Xero ACCREC Invoice)."""

    id: str
    customer_id: str | None = None
    number: str | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    total: Decimal = Decimal(0)
    amount_due: Decimal = Decimal(0)
    currency: str | None = None
    # Lower-case provider status. Xero: draft|submitted|authorised|paid|voided|deleted. QBO has no status field:
    # derived as "paid" (Balance == 0), "open" or "deleted".
    status: str | None = None
    fully_paid_on: dt.date | None = None  # Xero FullyPaidOnDate; QBO does not carry it (derive from payments)
    updated_at: datetime | None = None
    deleted: bool = False


class PaymentApplication(_Frozen):
    invoice_id: str
    amount: Decimal


class RemotePayment(_Frozen):
    """A customer payment and the invoices it pays."""

    id: str
    customer_id: str | None = None
    date: dt.date | None = None
    amount: Decimal = Decimal(0)
    unapplied_amount: Decimal = Decimal(0)  # QBO UnappliedAmt; Xero payments are always fully applied
    applications: tuple[PaymentApplication, ...] = ()
    updated_at: datetime | None = None
    deleted: bool = False


class RemoteCredit(_Frozen):
    """Unapplied-credit documents that explain Balance vs Total Due (B9)."""

    id: str
    kind: CreditKind
    customer_id: str | None = None
    number: str | None = None
    date: dt.date | None = None
    total: Decimal = Decimal(0)
    remaining_credit: Decimal = Decimal(0)
    updated_at: datetime | None = None
    deleted: bool = False


class TokenSet(_Frozen):
    """OAuth tokens of one connection. Tokens are SecretStr so repr/str/logs never show them."""

    access_token: SecretStr
    refresh_token: SecretStr
    expires_at: datetime
    refresh_expires_at: datetime | None = None
    company_id: str | None = None  # QBO realmId / Xero tenantId
    scope: str | None = None

    def to_storage(self) -> dict[str, Any]:
        """Plain dict with the secrets revealed, for a TokenStore that encrypts at rest (never log it)."""
        data = self.model_dump(mode="json")
        data["access_token"] = self.access_token.get_secret_value()
        data["refresh_token"] = self.refresh_token.get_secret_value()
        return data


class Page(_Frozen, Generic[T]):
    items: tuple[T, ...] = ()
    next_cursor: str | None = None  # None: this was the last page


class ChangeBatch(_Frozen):
    """One step of an incremental read. Apply it, checkpoint `next_cursor`, call again until it is None."""

    customers: tuple[RemoteCustomer, ...] = ()
    invoices: tuple[RemoteInvoice, ...] = ()
    payments: tuple[RemotePayment, ...] = ()
    credits: tuple[RemoteCredit, ...] = ()
    next_cursor: str | None = None
    # True when the provider's incremental window/cap forced paged queries instead (QBO CDC older than 30 days or
    # >= 1000 objects). Queries do not return deleted transactions, so the caller should reconcile deletions with
    # a full read when it matters.
    fallback: bool = False
    as_of: datetime | None = Field(default=None, description="Provider's server time of the read, when it gives one")

    @property
    def size(self) -> int:
        return len(self.customers) + len(self.invoices) + len(self.payments) + len(self.credits)


class CredentialsProvider(Protocol):
    """What adapters need for data calls: a current access token and a way to force a refresh after a 401."""

    def access_token(self) -> str: ...

    def force_refresh(self, rejected_token: str | None = None) -> str: ...


class AccountingConnector(ABC):
    """Port for one accounting system. Every data method uses the injected credentials provider."""

    system: AccountingSystem

    # --- OAuth ---------------------------------------------------------------------------------------------------
    @abstractmethod
    def authorization_url(self, state: str, redirect_uri: str) -> str: ...

    @abstractmethod
    def exchange_code(self, code: str, redirect_uri: str, company_id: str | None = None) -> TokenSet: ...

    @abstractmethod
    def refresh(self, refresh_token: str) -> TokenSet: ...

    @abstractmethod
    def revoke(self, tokens: TokenSet) -> None: ...

    # --- customers -------------------------------------------------------------------------------------------------
    @abstractmethod
    def list_customers(self, *, include_inactive: bool, cursor: str | None = None) -> Page[RemoteCustomer]: ...

    @abstractmethod
    def get_customer(self, customer_id: str) -> RemoteCustomer: ...

    @abstractmethod
    def find_customers_by_name(self, name: str) -> list[RemoteCustomer]:
        """Exact (case-insensitive) name matches, INCLUDING inactive/archived records."""

    @abstractmethod
    def create_customer(self, contact: CustomerContact, *, idempotency_key: str) -> RemoteCustomer: ...

    @abstractmethod
    def update_customer(
        self,
        customer_id: str,
        changes: dict[str, Any],
        *,
        sync_token: str | None = None,
        expected_updated_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> RemoteCustomer:
        """Sparse update of our contact fields; raises stale_object rather than overwrite newer remote data."""

    @abstractmethod
    def set_customer_active(
        self, customer_id: str, active: bool, *, sync_token: str | None = None
    ) -> RemoteCustomer: ...

    def get_customer_balance(self, customer_id: str) -> Decimal | None:
        """The provider's own open balance for one customer (B8): read from a single-record fetch."""
        return self.get_customer(customer_id).balance

    # --- AR documents ----------------------------------------------------------------------------------------------
    @abstractmethod
    def list_invoices(self, cursor: str | None = None) -> Page[RemoteInvoice]: ...

    @abstractmethod
    def list_payments(self, cursor: str | None = None) -> Page[RemotePayment]: ...

    @abstractmethod
    def list_credits(self, cursor: str | None = None) -> Page[RemoteCredit]: ...

    @abstractmethod
    def changes_since(self, since: datetime, cursor: str | None = None) -> ChangeBatch: ...


# --- opaque cursors ------------------------------------------------------------------------------------------------


class InvalidConnectorCursor(ValueError):
    """A cursor that this adapter did not issue (or issued for another query)."""


def encode_cursor(kind: str, **state: Any) -> str:
    raw = json.dumps({"k": kind, **state}, separators=(",", ":"), sort_keys=True, default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidConnectorCursor("cursor is not valid") from exc
    if not isinstance(data, dict) or data.get("k") != kind:
        raise InvalidConnectorCursor(f"cursor is not a {kind} cursor")
    return data
