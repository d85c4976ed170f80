"""Xero Accounting API adapter behind the AccountingConnector port.

Wire facts are from accounting-apis.md §2 and Xero's OpenAPI document. Choices made where the reference marks an
item UNCONFIRMED are flagged with "UNCONFIRMED" comments below.

Address mapping (documented choice): our billing address <-> Xero `POBOX` (Xero's "postal address", the one
printed on invoices); our shipping address <-> Xero `STREET` (the physical/delivery address). Xero has no separate
company name: `Name` is the contact (organisation) name, so `company_name` is not sent and reads back as None.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from arsync.connectors import wire
from arsync.connectors.adapter import OAuthHttpAdapter
from arsync.connectors.base import (
    ChangeBatch,
    CreditKind,
    Page,
    PaymentApplication,
    RemoteCredit,
    RemoteCustomer,
    RemoteInvoice,
    RemotePayment,
    TokenSet,
    decode_cursor,
    encode_cursor,
)
from arsync.connectors.errors import ErrorCategory, find_embedded_fault
from arsync.connectors.http import (
    XERO_LIMITS,
    RateLimits,
    RetryPolicy,
    Timeouts,
    connector_error,
    read_json,
)
from arsync.models.common import AccountingSystem
from arsync.models.customer import Address, CustomerContact

SYSTEM = AccountingSystem.XERO
PAGE_SIZE = 1000  # "up to a maximum pagesize of 1000" (§2.4)
MAX_IDEMPOTENCY_KEY = 128  # spec L19795
AP_PAYMENT_TYPES = frozenset({"ACCPAYPAYMENT", "APCREDITPAYMENT", "APOVERPAYMENTPAYMENT", "APPREPAYMENTPAYMENT"})
GONE_STATUSES = frozenset({"DELETED", "VOIDED"})


class XeroConfig(BaseModel):
    """Everything the adapter needs; the composition root fills it from `arsync.config.Settings`."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret: SecretStr
    auth_url: str = "https://login.xero.com/identity/connect/authorize"
    token_url: str = "https://identity.xero.com/connect/token"  # noqa: S105 (a URL, not a secret)
    revoke_url: str = "https://identity.xero.com/connect/revocation"
    connections_url: str = "https://api.xero.com/connections"
    api_url: str = "https://api.xero.com/api.xro/2.0"
    scope: str = "openid profile email offline_access accounting.contacts accounting.transactions"
    company_id: str | None = None  # tenantId
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy(throttle_default_wait=61.0)
    limits: RateLimits = XERO_LIMITS
    # UNCONFIRMED/volatile (§2.2): unused refresh tokens expire after 60 days (30 before).
    refresh_token_lifetime: timedelta = Field(default=timedelta(days=60))

    @classmethod
    def for_base_url(cls, base_url: str, **kwargs: Any) -> XeroConfig:
        """All endpoints on one host (the local emulator): same paths as production."""
        base = base_url.rstrip("/")
        return cls(
            auth_url=f"{base}/identity/connect/authorize",
            token_url=f"{base}/connect/token",
            revoke_url=f"{base}/connect/revocation",
            connections_url=f"{base}/connections",
            api_url=f"{base}/api.xro/2.0",
            **kwargs,
        )


# --- parsing helpers ----------------------------------------------------------------------------------------------

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_xero_datetime(value: Any) -> datetime | None:
    """MS-JSON `/Date(1503348544227+0000)/` (epoch ms, UTC; the offset is informational) or ISO 8601 → UTC."""
    if not value or not isinstance(value, str):
        return None
    match = _MS_DATE.match(value.strip())
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Xero's ISO strings without an offset are UTC
    return parsed.astimezone(UTC)


def _date(value: Any) -> date | None:
    parsed = parse_xero_datetime(value)
    return parsed.date() if parsed else None


def _contact_id(obj: Any) -> str | None:
    if isinstance(obj, dict):
        return wire.text((obj.get("Contact") or {}).get("ContactID"))
    return None


_ADDRESS_FIELDS_XERO = {
    "line1": "AddressLine1",
    "line2": "AddressLine2",
    "line3": "AddressLine3",
    "line4": "AddressLine4",
    "city": "City",
    "region": "Region",
    "postal_code": "PostalCode",
    "country": "Country",
}


def address_from_xero(raw: Any) -> Address | None:
    return wire.address(raw, _ADDRESS_FIELDS_XERO)


def address_to_xero(address: Address | None, address_type: str) -> dict[str, str]:
    """None clears the address (every part sent empty)."""
    a = address or Address()
    return {
        "AddressType": address_type,
        "AddressLine1": a.line1 or "",
        "AddressLine2": a.line2 or "",
        "AddressLine3": a.line3 or "",
        "AddressLine4": a.line4 or "",
        "City": a.city or "",
        "Region": a.region or "",
        "PostalCode": a.postal_code or "",
        "Country": a.country or "",
    }


def _phone_from_xero(phones: Any) -> str | None:
    for phone in phones or []:
        if phone.get("PhoneType") == "DEFAULT":
            parts = [phone.get("PhoneCountryCode"), phone.get("PhoneAreaCode"), phone.get("PhoneNumber")]
            text = " ".join(str(p) for p in parts if p)
            return text or None
    return None


def customer_from_xero(raw: dict[str, Any]) -> RemoteCustomer:
    billing = shipping = None
    for addr in raw.get("Addresses") or []:
        if addr.get("AddressType") == "POBOX":
            billing = address_from_xero(addr)
        elif addr.get("AddressType") == "STREET":
            shipping = address_from_xero(addr)
    receivable = ((raw.get("Balances") or {}).get("AccountsReceivable") or {}).get("Outstanding")
    status = str(raw.get("ContactStatus") or "ACTIVE").upper()
    return RemoteCustomer(
        id=str(raw.get("ContactID")),
        display_name=str(raw.get("Name") or ""),
        given_name=wire.text(raw.get("FirstName")),
        family_name=wire.text(raw.get("LastName")),
        email=wire.text(raw.get("EmailAddress")),
        phone=_phone_from_xero(raw.get("Phones")),
        billing_address=billing,
        shipping_address=shipping,
        currency=wire.text(raw.get("DefaultCurrency")),
        active=status == "ACTIVE",  # ARCHIVED and GDPRREQUEST are both "not active"
        updated_at=parse_xero_datetime(raw.get("UpdatedDateUTC")),
        # UNCONFIRMED (§2.5): whether Balances come back on paged reads; single reads carry them.
        balance=None if receivable is None else wire.amount(receivable),
    )


def contact_to_xero(contact: CustomerContact) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": contact.display_name}
    if contact.given_name:
        body["FirstName"] = contact.given_name
    if contact.family_name:
        body["LastName"] = contact.family_name
    if contact.email:
        body["EmailAddress"] = contact.email
    if contact.phone:
        body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": contact.phone}]
    addresses = []
    if contact.billing_address:
        addresses.append({k: v for k, v in address_to_xero(contact.billing_address, "POBOX").items() if v})
    if contact.shipping_address:
        addresses.append({k: v for k, v in address_to_xero(contact.shipping_address, "STREET").items() if v})
    if addresses:
        body["Addresses"] = addresses
    if contact.currency:
        body["DefaultCurrency"] = contact.currency
    return body


def changes_to_xero(changes: dict[str, Any]) -> dict[str, Any]:
    """Update body for our contact fields. None clears a field (sent as empty string)."""
    body: dict[str, Any] = {}
    addresses: list[dict[str, str]] = []
    for key, value in changes.items():
        if key == "display_name":
            if not value:
                raise ValueError("display_name cannot be removed (Xero Name is required)")
            body["Name"] = value
        elif key == "company_name":
            continue  # Xero has no company-name field (module docstring)
        elif key == "given_name":
            body["FirstName"] = value or ""
        elif key == "family_name":
            body["LastName"] = value or ""
        elif key == "email":
            body["EmailAddress"] = value or ""
        elif key == "phone":
            body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": value or ""}]
        elif key in ("billing_address", "shipping_address"):
            address = Address.model_validate(value) if isinstance(value, dict) else value
            addresses.append(address_to_xero(address, "POBOX" if key == "billing_address" else "STREET"))
        elif key == "currency":
            if value:
                body["DefaultCurrency"] = value
        else:
            raise ValueError(f"{key!r} is not a contact field Xero carries")
    if addresses:
        body["Addresses"] = addresses
    return body


def invoice_from_xero(raw: dict[str, Any]) -> RemoteInvoice:
    status = str(raw.get("Status") or "").upper()
    return RemoteInvoice(
        id=str(raw.get("InvoiceID")),
        customer_id=_contact_id(raw),
        number=wire.text(raw.get("InvoiceNumber")),
        issue_date=_date(raw.get("Date")),
        due_date=_date(raw.get("DueDate")),
        total=wire.amount(raw.get("Total")),
        amount_due=wire.amount(raw.get("AmountDue")),
        currency=wire.text(raw.get("CurrencyCode")),
        status=status.lower() or None,
        fully_paid_on=_date(raw.get("FullyPaidOnDate")),
        updated_at=parse_xero_datetime(raw.get("UpdatedDateUTC")),
        deleted=status in GONE_STATUSES,
    )


def payment_from_xero(raw: dict[str, Any]) -> RemotePayment:
    invoice = raw.get("Invoice") or {}
    customer_id = _contact_id(invoice)
    for other in ("CreditNote", "Overpayment", "Prepayment"):
        customer_id = customer_id or _contact_id(raw.get(other))
    applications: tuple[PaymentApplication, ...] = ()
    if invoice.get("InvoiceID"):
        applications = (
            PaymentApplication(invoice_id=str(invoice["InvoiceID"]), amount=wire.amount(raw.get("Amount"))),
        )
    return RemotePayment(
        id=str(raw.get("PaymentID")),
        customer_id=customer_id,
        date=_date(raw.get("Date")),
        amount=wire.amount(raw.get("Amount")),
        unapplied_amount=Decimal(0),  # a Xero payment is always against one document; credit lives elsewhere
        applications=applications,
        updated_at=parse_xero_datetime(raw.get("UpdatedDateUTC")),
        deleted=str(raw.get("Status") or "").upper() == "DELETED",
    )


_CREDIT_SOURCES: tuple[tuple[str, str, CreditKind, str, frozenset[str]], ...] = (
    # (endpoint, id field, our kind, number field, accepted Type values)
    ("CreditNotes", "CreditNoteID", "credit_note", "CreditNoteNumber", frozenset({"ACCRECCREDIT"})),
    ("Overpayments", "OverpaymentID", "overpayment", "Reference", frozenset({"RECEIVE-OVERPAYMENT"})),
    ("Prepayments", "PrepaymentID", "prepayment", "Reference", frozenset({"RECEIVE-PREPAYMENT"})),
)


def credit_from_xero(raw: dict[str, Any], id_field: str, kind: CreditKind, number_field: str) -> RemoteCredit:
    status = str(raw.get("Status") or "").upper()
    return RemoteCredit(
        id=str(raw.get(id_field)),
        kind=kind,
        customer_id=_contact_id(raw),
        number=wire.text(raw.get(number_field)),
        date=_date(raw.get("Date")),
        total=wire.amount(raw.get("Total")),
        remaining_credit=wire.amount(raw.get("RemainingCredit")),
        updated_at=parse_xero_datetime(raw.get("UpdatedDateUTC")),
        deleted=status in GONE_STATUSES,
    )


def xero_idempotency_key(key: str) -> str:
    """`Idempotency-Key` is capped at 128 characters: longer keys become a stable hash."""
    if len(key) <= MAX_IDEMPOTENCY_KEY:
        return key
    return "h-" + hashlib.sha256(key.encode()).hexdigest()


def where_string_literal(value: str) -> str | None:
    """A `where` string literal, or None when the value cannot be expressed safely.

    UNCONFIRMED: Xero's filter parser has no documented escape for a double quote; backslash escapes fail in
    practice (XeroAPI/Xero-Java#347, waynerobinson/xeroizer#160). Names containing `"` or `\\` therefore go
    through `searchTerm` instead of `where`.
    """
    if '"' in value or "\\" in value:
        return None
    return f'"{value}"'


def _is_ar_payment(raw: dict[str, Any]) -> bool:
    return str(raw.get("PaymentType") or "").upper() not in AP_PAYMENT_TYPES


# Endpoint plan for incremental reads: (endpoint, extra params, row filter, parser target).
_CHANGE_ENDPOINTS: tuple[str, ...] = ("Contacts", "Invoices", "Payments", "CreditNotes", "Overpayments", "Prepayments")


def _authentication_event_id(access_token: str) -> str | None:
    """Read (not verify: the token came straight from Xero's token endpoint) the consent event id."""
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    value = claims.get("authentication_event_id")
    return str(value) if value else None


class XeroConnector(OAuthHttpAdapter):
    """Xero adapter on the shared OAuth/HTTP base."""

    system = SYSTEM

    def __init__(self, config: XeroConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.config = config

    def exchange_code(self, code: str, redirect_uri: str, company_id: str | None = None) -> TokenSet:
        tokens = self._token_call({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        tenant_id = self._pick_tenant(tokens.access_token.get_secret_value(), company_id or self.config.company_id)
        return tokens.model_copy(update={"company_id": tenant_id})

    def refresh(self, refresh_token: str) -> TokenSet:
        tokens = self._token_call({"grant_type": "refresh_token", "refresh_token": refresh_token})
        return tokens.model_copy(update={"company_id": self.config.company_id})

    def revoke(self, tokens: TokenSet) -> None:
        self.http.request(
            "POST",
            self.config.revoke_url,
            data={"token": tokens.refresh_token.get_secret_value()},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            bearer=False,
            basic_auth=self._basic(),
            replay_safe=True,
        )

    def _token_call(self, data: dict[str, str]) -> TokenSet:
        # Replay-safe: a refresh whose response was lost may be retried with the old token for 30 minutes (§2.2).
        response = self.http.request(
            "POST",
            self.config.token_url,
            data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            bearer=False,
            basic_auth=self._basic(),
            replay_safe=True,
        )
        body = read_json(SYSTEM, response)
        now = self._now()
        return TokenSet(
            access_token=SecretStr(str(body["access_token"])),
            refresh_token=SecretStr(str(body["refresh_token"])),
            expires_at=now + timedelta(seconds=int(body.get("expires_in", 1800))),
            refresh_expires_at=now + self.config.refresh_token_lifetime,
            scope=body.get("scope") or self.config.scope,
        )

    def _pick_tenant(self, access_token: str, wanted: str | None) -> str:
        """The organisation this authorisation connected: the requested one, else the one whose `authEventId`
        matches the token's `authentication_event_id` (Xero's way to tell this consent from earlier ones,
        since `/connections` lists every organisation the user ever connected), else the first."""
        response = self.http.request(
            "GET", self.config.connections_url, headers={"Authorization": f"Bearer {access_token}"}, bearer=False
        )
        connections = read_json(SYSTEM, response) or []
        tenants = [c for c in connections if str(c.get("tenantType", "ORGANISATION")).upper() == "ORGANISATION"]
        event_id = _authentication_event_id(access_token)
        if wanted is None and event_id:
            tenants.sort(key=lambda c: c.get("authEventId") != event_id)
        for conn in tenants:
            if wanted is None or conn.get("tenantId") == wanted:
                return str(conn["tenantId"])
        raise connector_error(
            SYSTEM,
            ErrorCategory.AUTHENTICATION_FAILED,
            "The authorisation did not connect any Xero organisation"
            + (f" with tenant id {wanted}" if wanted else "")
            + ".",
        )

    # --- plumbing --------------------------------------------------------------------------------------------------
    def _tenant(self) -> str:
        if not self.config.company_id:
            raise RuntimeError("XeroConfig.company_id (tenantId) is required for data calls")
        return self.config.company_id

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        replay_safe: bool | None = None,
    ) -> dict[str, Any]:
        send_headers = {"xero-tenant-id": self._tenant(), **(headers or {})}
        if json_body is not None:
            send_headers["Content-Type"] = "application/json"
        response = self.http.request(
            method,
            f"{self.config.api_url.rstrip('/')}/{path.lstrip('/')}",
            params=params,
            headers=send_headers,
            json_body=json_body,
            replay_safe=replay_safe,
        )
        body = read_json(SYSTEM, response)
        fault = find_embedded_fault(SYSTEM, body)  # elements with HasValidationErrors (summarizeErrors=false)
        if fault is not None:
            raise fault
        if not isinstance(body, dict):
            raise connector_error(
                SYSTEM,
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"Unexpected response shape (HTTP {response.status_code})",
                http_status=response.status_code,
                retryable=True,
            )
        return body

    def _page(
        self,
        endpoint: str,
        page: int,
        *,
        params: dict[str, str] | None = None,
        since: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of an endpoint; returns (rows, is_last).

        A paged Xero response carries `pagination.pageCount` (§2.1, §2.4): the page that reaches it is the last,
        so a list that is an exact multiple of the page size costs no extra empty read. Without `pagination`, a
        short page is the last one. An empty page always ends the list (rows deleted between reads)."""
        query = {"page": str(page), "pageSize": str(PAGE_SIZE), **(params or {})}
        headers = {"If-Modified-Since": since.astimezone(UTC).isoformat(timespec="milliseconds")} if since else None
        body = self._call("GET", endpoint, params=query, headers=headers)
        rows = body.get(endpoint) or []
        page_count = (body.get("pagination") or {}).get("pageCount")
        if isinstance(page_count, int) and not isinstance(page_count, bool):
            return rows, page >= page_count or not rows
        return rows, len(rows) < PAGE_SIZE

    def _one_contact(self, body: dict[str, Any]) -> RemoteCustomer:
        contacts = body.get("Contacts") or []
        if not contacts:
            raise connector_error(
                SYSTEM, ErrorCategory.PROVIDER_UNAVAILABLE, "Xero returned no contact", retryable=True
            )
        contact = contacts[0]
        if contact.get("HasValidationErrors"):
            # Only with summarizeErrors=false; we use the default (true), so this is belt and braces.
            messages = [e.get("Message", "") for e in contact.get("ValidationErrors") or []]
            raise connector_error(
                SYSTEM, ErrorCategory.VALIDATION_FAILED, " ".join(m for m in messages if m) or "Validation failed"
            )
        return customer_from_xero(contact)

    # --- customers -------------------------------------------------------------------------------------------------
    def list_customers(self, *, include_inactive: bool, cursor: str | None = None) -> Page[RemoteCustomer]:
        kind = "xero-contacts-all" if include_inactive else "xero-contacts-active"
        page = int(decode_cursor(cursor, kind)["page"]) if cursor else 1
        params = {"includeArchived": "true"} if include_inactive else None
        rows, last = self._page("Contacts", page, params=params)
        return Page[RemoteCustomer](
            items=tuple(customer_from_xero(r) for r in rows),
            next_cursor=None if last else encode_cursor(kind, page=page + 1),
        )

    def get_customer(self, customer_id: str) -> RemoteCustomer:
        return self._one_contact(self._call("GET", f"Contacts/{customer_id}"))

    def find_customers_by_name(self, name: str) -> list[RemoteCustomer]:
        literal = where_string_literal(name)
        wanted = name.casefold()
        found: list[RemoteCustomer] = []
        page = 1
        while True:
            params = {"includeArchived": "true"}
            if literal is not None:
                params["where"] = f"Name=={literal}"
            else:
                params["searchTerm"] = name
            rows, last = self._page("Contacts", page, params=params)
            # UNCONFIRMED: whether `==` on Name is case-sensitive; uniqueness is case-insensitive, so compare so.
            found.extend(c for c in (customer_from_xero(r) for r in rows) if c.display_name.casefold() == wanted)
            if last:
                return found
            page += 1

    def create_customer(self, contact: CustomerContact, *, idempotency_key: str) -> RemoteCustomer:
        body = self._call(
            "PUT",
            "Contacts",
            json_body={"Contacts": [contact_to_xero(contact)]},
            headers={"Idempotency-Key": xero_idempotency_key(idempotency_key)},
            replay_safe=True,  # the same Idempotency-Key is re-sent on every replay
        )
        return self._one_contact(body)

    def update_customer(
        self,
        customer_id: str,
        changes: dict[str, Any],
        *,
        sync_token: str | None = None,
        expected_updated_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> RemoteCustomer:
        """Xero has no concurrency token: re-read and refuse (stale_object) if the contact changed since.

        A remote edit between our re-read and our POST can still be overwritten (no conditional write exists).
        """
        if expected_updated_at is None:
            raise ValueError("Xero updates need the UpdatedDateUTC the change was based on (expected_updated_at)")
        self._ensure_unchanged(customer_id, expected_updated_at)
        return self._post_contact(customer_id, changes_to_xero(changes), idempotency_key)

    def set_customer_active(self, customer_id: str, active: bool, *, sync_token: str | None = None) -> RemoteCustomer:
        # UNCONFIRMED (§8): unarchive by POSTing ContactStatus ACTIVE (Invoiced does this in production).
        return self._post_contact(customer_id, {"ContactStatus": "ACTIVE" if active else "ARCHIVED"}, None)

    def _ensure_unchanged(self, customer_id: str, expected_updated_at: datetime) -> None:
        current = self.get_customer(customer_id)
        if current.updated_at is not None and current.updated_at > expected_updated_at:
            raise connector_error(
                SYSTEM,
                ErrorCategory.STALE_OBJECT,
                f"The contact was changed in Xero at {current.updated_at.isoformat()} after the version this "
                f"change was based on ({expected_updated_at.isoformat()}).",
                code="stale_object",
            )

    def _post_contact(self, customer_id: str, fields: dict[str, Any], idempotency_key: str | None) -> RemoteCustomer:
        body = self._call(
            "POST",
            f"Contacts/{customer_id}",
            json_body={"Contacts": [{"ContactID": customer_id, **fields}]},
            headers={"Idempotency-Key": xero_idempotency_key(idempotency_key or uuid.uuid4().hex)},
            replay_safe=True,
        )
        return self._one_contact(body)

    # --- AR documents ----------------------------------------------------------------------------------------------
    def list_invoices(self, cursor: str | None = None) -> Page[RemoteInvoice]:
        page = int(decode_cursor(cursor, "xero-invoices")["page"]) if cursor else 1
        rows, last = self._page("Invoices", page, params={"where": 'Type=="ACCREC"'})
        items = tuple(invoice_from_xero(r) for r in rows if r.get("Type", "ACCREC") == "ACCREC")
        return Page[RemoteInvoice](
            items=items, next_cursor=None if last else encode_cursor("xero-invoices", page=page + 1)
        )

    def list_payments(self, cursor: str | None = None) -> Page[RemotePayment]:
        page = int(decode_cursor(cursor, "xero-payments")["page"]) if cursor else 1
        rows, last = self._page("Payments", page)
        items = tuple(payment_from_xero(r) for r in rows if _is_ar_payment(r))
        return Page[RemotePayment](
            items=items, next_cursor=None if last else encode_cursor("xero-payments", page=page + 1)
        )

    def list_credits(self, cursor: str | None = None) -> Page[RemoteCredit]:
        state = decode_cursor(cursor, "xero-credits") if cursor else {"src": 0, "page": 1}
        src, page = int(state["src"]), int(state["page"])
        rows, last = self._page(_CREDIT_SOURCES[src][0], page)
        items = self._credits(src, rows)
        if not last:
            next_cursor: str | None = encode_cursor("xero-credits", src=src, page=page + 1)
        elif src + 1 < len(_CREDIT_SOURCES):
            next_cursor = encode_cursor("xero-credits", src=src + 1, page=1)
        else:
            next_cursor = None
        return Page[RemoteCredit](items=items, next_cursor=next_cursor)

    @staticmethod
    def _credits(src: int, rows: list[dict[str, Any]]) -> tuple[RemoteCredit, ...]:
        _, id_field, kind, number_field, types = _CREDIT_SOURCES[src]
        return tuple(
            credit_from_xero(r, id_field, kind, number_field) for r in rows if str(r.get("Type") or "") in types
        )

    # --- incremental -------------------------------------------------------------------------------------------------
    def changes_since(self, since: datetime, cursor: str | None = None) -> ChangeBatch:
        """`If-Modified-Since` per endpoint, pageSize 1000, one page per call until a short page.

        UNCONFIRMED (§2.4): whether the boundary is inclusive; callers overlap the bookmark and de-duplicate.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        state = decode_cursor(cursor, "xero-changes") if cursor else {"ep": 0, "page": 1}
        ep, page = int(state["ep"]), int(state["page"])
        endpoint = _CHANGE_ENDPOINTS[ep]
        params: dict[str, str] = {}
        if endpoint == "Contacts":
            params["includeArchived"] = "true"
        elif endpoint == "Invoices":
            params["where"] = 'Type=="ACCREC"'
        rows, last = self._page(endpoint, page, params=params, since=since)
        if not last:
            next_cursor: str | None = encode_cursor("xero-changes", ep=ep, page=page + 1)
        elif ep + 1 < len(_CHANGE_ENDPOINTS):
            next_cursor = encode_cursor("xero-changes", ep=ep + 1, page=1)
        else:
            next_cursor = None
        if endpoint == "Contacts":
            return ChangeBatch(customers=tuple(customer_from_xero(r) for r in rows), next_cursor=next_cursor)
        if endpoint == "Invoices":
            invoices = tuple(invoice_from_xero(r) for r in rows if r.get("Type", "ACCREC") == "ACCREC")
            return ChangeBatch(invoices=invoices, next_cursor=next_cursor)
        if endpoint == "Payments":
            payments = tuple(payment_from_xero(r) for r in rows if _is_ar_payment(r))
            return ChangeBatch(payments=payments, next_cursor=next_cursor)
        src = [s[0] for s in _CREDIT_SOURCES].index(endpoint)
        return ChangeBatch(credits=self._credits(src, rows), next_cursor=next_cursor)
