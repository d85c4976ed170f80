"""QuickBooks Online (Accounting API v3) adapter behind the AccountingConnector port.

Wire facts are from accounting-apis.md §1. Choices made where the reference marks an item UNCONFIRMED are
flagged with "UNCONFIRMED" comments below.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from arsync.connectors import wire
from arsync.connectors.adapter import OAuthHttpAdapter
from arsync.connectors.base import (
    ChangeBatch,
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
from arsync.connectors.errors import AccountingError, ErrorCategory, find_embedded_fault
from arsync.connectors.http import (
    QBO_LIMITS,
    RateLimits,
    RetryPolicy,
    Timeouts,
    connector_error,
    read_json,
)
from arsync.models.common import AccountingSystem
from arsync.models.customer import Address, CustomerContact

SYSTEM = AccountingSystem.QUICKBOOKS_ONLINE
MAX_REQUEST_ID = 50  # "maximum of 50 characters for all operations except batch" (§1.8)
MAX_RESULTS = 1000  # query page cap (§1.4)
CDC_CAP = 1000  # CDC response cap (§1.4)
CDC_ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo")
DELETED_SUFFIX = " (deleted)"


class QuickBooksConfig(BaseModel):
    """Everything the adapter needs; the composition root fills it from `arsync.config.Settings`."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret: SecretStr
    auth_url: str = "https://appcenter.intuit.com/connect/oauth2"
    token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 (a URL, not a secret)
    revoke_url: str = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    api_url: str = "https://quickbooks.api.intuit.com"  # paths are /v3/company/{realmId}/...
    minor_version: int = 75
    scope: str = "com.intuit.quickbooks.accounting"
    company_id: str | None = None  # realmId
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    limits: RateLimits = QBO_LIMITS
    cdc_window: timedelta = Field(default=timedelta(days=30))
    # Fall back to queries a little before the 30-day edge: the provider's clock and ours can differ.
    cdc_safety_margin: timedelta = Field(default=timedelta(hours=1))

    @classmethod
    def for_base_url(cls, base_url: str, **kwargs: Any) -> QuickBooksConfig:
        """All endpoints on one host (the local emulator): same paths as production."""
        base = base_url.rstrip("/")
        return cls(
            auth_url=f"{base}/connect/oauth2",
            token_url=f"{base}/oauth2/v1/tokens/bearer",
            revoke_url=f"{base}/v2/oauth2/tokens/revoke",
            api_url=base,
            **kwargs,
        )


# --- parsing helpers ----------------------------------------------------------------------------------------------


def _opt_dec(value: Any) -> Decimal | None:
    return None if value is None else wire.amount(value)


def parse_qbo_datetime(value: Any) -> datetime | None:
    """QBO timestamps carry the company's offset (e.g. -07:00); we keep UTC."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _date(value: Any) -> date | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _ref(obj: Any) -> str | None:
    if isinstance(obj, dict) and obj.get("value") is not None:
        return str(obj["value"])
    return None


def _updated(obj: dict[str, Any]) -> datetime | None:
    meta = obj.get("MetaData") or {}
    return parse_qbo_datetime(meta.get("LastUpdatedTime"))


def _is_deleted(obj: dict[str, Any]) -> bool:
    return str(obj.get("status", "")).lower() == "deleted"


_ADDRESS_FIELDS_QBO = {
    "line1": "Line1",
    "line2": "Line2",
    "line3": "Line3",
    "line4": "Line4",
    "city": "City",
    "region": "CountrySubDivisionCode",
    "postal_code": "PostalCode",
    "country": "Country",
}


def address_from_qbo(raw: Any) -> Address | None:
    return wire.address(raw, _ADDRESS_FIELDS_QBO)


def address_to_qbo(address: Address | None) -> dict[str, str]:
    """None clears the address in a sparse update (every part sent empty)."""
    a = address or Address()
    return {
        "Line1": a.line1 or "",
        "Line2": a.line2 or "",
        "Line3": a.line3 or "",
        "Line4": a.line4 or "",
        "City": a.city or "",
        "CountrySubDivisionCode": a.region or "",
        "PostalCode": a.postal_code or "",
        "Country": a.country or "",
    }


def _strip_empty(d: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in d.items() if v}


def customer_from_qbo(raw: dict[str, Any]) -> RemoteCustomer:
    active = raw.get("Active", True) is not False
    name = str(raw.get("DisplayName") or "")
    # UNCONFIRMED (§1.3): QBO shows inactive name-list rows as "Name (deleted)". We treat the suffix as display
    # decoration and give back the name the user typed, so a clash with an inactive record is recognisable.
    if not active and name.endswith(DELETED_SUFFIX):
        name = name[: -len(DELETED_SUFFIX)]
    return RemoteCustomer(
        id=str(raw.get("Id")),
        display_name=name,
        company_name=wire.text(raw.get("CompanyName")),
        given_name=wire.text(raw.get("GivenName")),
        family_name=wire.text(raw.get("FamilyName")),
        email=wire.text((raw.get("PrimaryEmailAddr") or {}).get("Address")),
        phone=wire.text((raw.get("PrimaryPhone") or {}).get("FreeFormNumber")),
        billing_address=address_from_qbo(raw.get("BillAddr")),
        shipping_address=address_from_qbo(raw.get("ShipAddr")),
        currency=_ref(raw.get("CurrencyRef")),
        active=active,
        sync_token=wire.text(raw.get("SyncToken")),
        updated_at=_updated(raw),
        balance=_opt_dec(raw.get("Balance")),
        deleted=_is_deleted(raw),
    )


def contact_to_qbo(contact: CustomerContact) -> dict[str, Any]:
    """Create body: only the fields we have (a create never needs to clear anything)."""
    body: dict[str, Any] = {"DisplayName": contact.display_name}
    if contact.company_name:
        body["CompanyName"] = contact.company_name
    if contact.given_name:
        body["GivenName"] = contact.given_name
    if contact.family_name:
        body["FamilyName"] = contact.family_name
    if contact.email:
        body["PrimaryEmailAddr"] = {"Address": contact.email}
    if contact.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": contact.phone}
    if contact.billing_address:
        body["BillAddr"] = _strip_empty(address_to_qbo(contact.billing_address))
    if contact.shipping_address:
        body["ShipAddr"] = _strip_empty(address_to_qbo(contact.shipping_address))
    if contact.currency:
        body["CurrencyRef"] = {"value": contact.currency}
    return body


def changes_to_qbo(changes: dict[str, Any]) -> dict[str, Any]:
    """Sparse-update body for our contact fields. None clears a field (sent as empty string)."""
    body: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "display_name":
            if not value:
                raise ValueError("display_name cannot be removed (QBO: 'Cannot be removed with sparse update')")
            body["DisplayName"] = value
        elif key == "company_name":
            body["CompanyName"] = value or ""
        elif key == "given_name":
            body["GivenName"] = value or ""
        elif key == "family_name":
            body["FamilyName"] = value or ""
        elif key == "email":
            body["PrimaryEmailAddr"] = {"Address": value or ""}
        elif key == "phone":
            body["PrimaryPhone"] = {"FreeFormNumber": value or ""}
        elif key in ("billing_address", "shipping_address"):
            address = Address.model_validate(value) if isinstance(value, dict) else value
            body["BillAddr" if key == "billing_address" else "ShipAddr"] = address_to_qbo(address)
        elif key == "currency":
            if value:
                body["CurrencyRef"] = {"value": value}
        else:
            raise ValueError(f"{key!r} is not a contact field QuickBooks Online carries")
    return body


def invoice_from_qbo(raw: dict[str, Any]) -> RemoteInvoice:
    deleted = _is_deleted(raw)
    amount_due = wire.amount(raw.get("Balance"))
    status = "deleted" if deleted else ("paid" if amount_due == 0 else "open")
    return RemoteInvoice(
        id=str(raw.get("Id")),
        customer_id=_ref(raw.get("CustomerRef")),
        number=wire.text(raw.get("DocNumber")),
        issue_date=_date(raw.get("TxnDate")),
        due_date=_date(raw.get("DueDate")),
        total=wire.amount(raw.get("TotalAmt")),
        amount_due=amount_due,
        currency=_ref(raw.get("CurrencyRef")),
        status=status,
        updated_at=_updated(raw),
        deleted=deleted,
    )


def payment_from_qbo(raw: dict[str, Any]) -> RemotePayment:
    applications: list[PaymentApplication] = []
    for line in raw.get("Line") or []:
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType") == "Invoice" and linked.get("TxnId") is not None:
                applications.append(
                    PaymentApplication(invoice_id=str(linked["TxnId"]), amount=wire.amount(line.get("Amount")))
                )
    return RemotePayment(
        id=str(raw.get("Id")),
        customer_id=_ref(raw.get("CustomerRef")),
        date=_date(raw.get("TxnDate")),
        amount=wire.amount(raw.get("TotalAmt")),
        unapplied_amount=wire.amount(raw.get("UnappliedAmt")),
        applications=tuple(applications),
        updated_at=_updated(raw),
        deleted=_is_deleted(raw),
    )


def credit_from_qbo(raw: dict[str, Any]) -> RemoteCredit:
    return RemoteCredit(
        id=str(raw.get("Id")),
        kind="credit_memo",
        customer_id=_ref(raw.get("CustomerRef")),
        number=wire.text(raw.get("DocNumber")),
        date=_date(raw.get("TxnDate")),
        total=wire.amount(raw.get("TotalAmt")),
        remaining_credit=wire.amount(raw.get("RemainingCredit")),
        updated_at=_updated(raw),
        deleted=_is_deleted(raw),
    )


def quote_qbo(value: str) -> str:
    """A QBO query string literal. Quotes are backslash-escaped (`'Amy\\'s Bird Sanctuary'`).

    UNCONFIRMED: escaping a literal backslash as `\\\\` (no vendor source; follows the same backslash rule).
    """
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def qbo_request_id(idempotency_key: str) -> str:
    """`requestid` is capped at 50 characters: longer keys become a stable hash (still deterministic)."""
    if len(idempotency_key) <= MAX_REQUEST_ID:
        return idempotency_key
    return "h-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[: MAX_REQUEST_ID - 2]


def _query_iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


_ENTITY_PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Customer": customer_from_qbo,
    "Invoice": invoice_from_qbo,
    "Payment": payment_from_qbo,
    "CreditMemo": credit_from_qbo,
}


class QuickBooksOnlineConnector(OAuthHttpAdapter):
    """QBO adapter on the shared OAuth/HTTP base."""

    system = SYSTEM

    def __init__(self, config: QuickBooksConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.config = config

    def exchange_code(self, code: str, redirect_uri: str, company_id: str | None = None) -> TokenSet:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self._token_call(data, company_id or self.config.company_id)

    def refresh(self, refresh_token: str) -> TokenSet:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_call(data, self.config.company_id)

    def revoke(self, tokens: TokenSet) -> None:
        self.http.request(
            "POST",
            self.config.revoke_url,
            json_body={"token": tokens.refresh_token.get_secret_value()},
            headers={"Content-Type": "application/json"},
            bearer=False,
            basic_auth=self._basic(),
            replay_safe=True,  # revoking twice is harmless
        )

    def _token_call(self, data: dict[str, str], company_id: str | None) -> TokenSet:
        # Replay-safe: re-sending a refresh with the same (old) token is allowed (the previous refresh token stays
        # valid for 24 h after rotation, §1.2), and a re-sent code exchange fails cleanly at worst.
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
        refresh_expires = body.get("x_refresh_token_expires_in")
        return TokenSet(
            access_token=SecretStr(str(body["access_token"])),
            refresh_token=SecretStr(str(body["refresh_token"])),
            expires_at=now + timedelta(seconds=int(body.get("expires_in", 3600))),
            refresh_expires_at=now + timedelta(seconds=int(refresh_expires)) if refresh_expires else None,
            company_id=company_id,
            scope=body.get("scope") or self.config.scope,
        )

    # --- plumbing --------------------------------------------------------------------------------------------------
    def _realm(self) -> str:
        if not self.config.company_id:
            raise RuntimeError("QuickBooksConfig.company_id (realmId) is required for data calls")
        return self.config.company_id

    def _url(self, path: str) -> str:
        return f"{self.config.api_url.rstrip('/')}/v3/company/{self._realm()}/{path.lstrip('/')}"

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: str | None = None,
        content_type: str | None = None,
        replay_safe: bool | None = None,
    ) -> dict[str, Any]:
        query = {"minorversion": str(self.config.minor_version), **(params or {})}
        headers = {"Content-Type": content_type} if content_type else None
        response = self.http.request(
            method,
            self._url(path),
            params=query,
            headers=headers,
            json_body=json_body,
            data=data.encode() if data is not None else None,
            replay_safe=replay_safe,
        )
        body = read_json(SYSTEM, response)
        # "200 OK: the response body may contain a <Fault> element" (§1.2).
        fault = find_embedded_fault(SYSTEM, body)
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

    def _query(self, sql: str) -> dict[str, Any]:
        body = self._call("POST", "query", data=sql, content_type="application/text", replay_safe=True)
        result = body.get("QueryResponse")
        return result if isinstance(result, dict) else {}

    def _batch_queries(self, queries: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Several queries in one `/batch` request (§1.1, §1.7): `QueryResponse` per `bId`.

        A per-item `Fault` is raised by `_call` like a top-level one. Batch requests have their own provider
        limit (40 a minute per realm and app), so this is kept to one request per list, never a loop."""
        body = self._call(
            "POST",
            "batch",
            json_body={"BatchItemRequest": [{"bId": bid, "Query": sql} for bid, sql in queries.items()]},
            content_type="application/json",
            replay_safe=True,  # read-only queries
        )
        found: dict[str, dict[str, Any]] = {}
        for item in body.get("BatchItemResponse") or []:
            result = item.get("QueryResponse") if isinstance(item, dict) else None
            if isinstance(result, dict):
                found[str(item.get("bId"))] = result
        missing = set(queries) - set(found)
        if missing:
            raise connector_error(
                SYSTEM,
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"Batch response without a QueryResponse for {', '.join(sorted(missing))}",
                retryable=True,
            )
        return found

    def _paged(self, entity: str, where: str, cursor: str | None, kind: str) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a full read, `ORDERBY Id` from STARTPOSITION.

        A query page carries no total, so a list that is an exact multiple of MAXRESULTS would cost one more
        (empty) read to find its end. The first page therefore goes out as one batch with `SELECT COUNT(*)`
        of the same filter; the count rides in the cursor and the read stops at it. Rows created after the
        count are picked up by the next incremental sync (its bookmark is this run's start). Without a count
        (a cursor from before), a short page is the last one."""
        state = decode_cursor(cursor, kind) if cursor else {"start": 1}
        start = int(state["start"])
        sql = f"SELECT * FROM {entity}{where} ORDERBY Id STARTPOSITION {start} MAXRESULTS {MAX_RESULTS}"  # noqa: S608
        if cursor is None:
            results = self._batch_queries({"count": f"SELECT COUNT(*) FROM {entity}{where}", "page": sql})  # noqa: S608
            total: int | None = int(results["count"].get("totalCount") or 0)
            rows = results["page"].get(entity) or []
        else:
            total = int(state["total"]) if state.get("total") is not None else None
            rows = self._query(sql).get(entity) or []
        following = start + len(rows)
        more = len(rows) >= MAX_RESULTS and (total is None or following <= total)
        return rows, encode_cursor(kind, start=following, total=total) if more else None

    # --- customers -------------------------------------------------------------------------------------------------
    def list_customers(self, *, include_inactive: bool, cursor: str | None = None) -> Page[RemoteCustomer]:
        # UNCONFIRMED (§1.3): the default is active-only; `Active IN (true, false)` includes inactive rows.
        where = " WHERE Active IN (true, false)" if include_inactive else " WHERE Active = true"
        kind = "qbo-customers-all" if include_inactive else "qbo-customers-active"
        rows, next_cursor = self._paged("Customer", where, cursor, kind)
        return Page[RemoteCustomer](items=tuple(customer_from_qbo(r) for r in rows), next_cursor=next_cursor)

    def get_customer(self, customer_id: str) -> RemoteCustomer:
        body = self._call("GET", f"customer/{customer_id}")
        return customer_from_qbo(body.get("Customer") or {})

    def find_customers_by_name(self, name: str) -> list[RemoteCustomer]:
        # QBO has no OR; IN covers the inactive " (deleted)" rendering (UNCONFIRMED, §1.3). Inactive rows need the
        # explicit Active filter. Final match is exact but case-insensitive, as QBO's uniqueness rule is.
        names = f"{quote_qbo(name)}, {quote_qbo(name + DELETED_SUFFIX)}"  # values escaped by quote_qbo
        sql = f"SELECT * FROM Customer WHERE DisplayName IN ({names}) AND Active IN (true, false) MAXRESULTS {MAX_RESULTS}"  # noqa: S608, E501
        rows = self._query(sql).get("Customer") or []
        wanted = name.casefold()
        return [c for c in (customer_from_qbo(r) for r in rows) if c.display_name.casefold() == wanted]

    def create_customer(self, contact: CustomerContact, *, idempotency_key: str) -> RemoteCustomer:
        body = self._call(
            "POST",
            "customer",
            params={"requestid": qbo_request_id(idempotency_key)},
            json_body=contact_to_qbo(contact),
            content_type="application/json",
            replay_safe=True,  # same requestid on every replay: QBO answers with the original response (§1.8)
        )
        return customer_from_qbo(body.get("Customer") or {})

    def update_customer(
        self,
        customer_id: str,
        changes: dict[str, Any],
        *,
        sync_token: str | None = None,
        expected_updated_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> RemoteCustomer:
        """Sparse update guarded by SyncToken: a stale token is QBO 5010 → stale_object (never overwrites)."""
        if sync_token is None:
            raise ValueError("QuickBooks Online updates need the SyncToken the change was based on")
        body = {"Id": customer_id, "SyncToken": sync_token, "sparse": True, **changes_to_qbo(changes)}
        return self._write_customer(body, idempotency_key)

    def set_customer_active(self, customer_id: str, active: bool, *, sync_token: str | None = None) -> RemoteCustomer:
        if sync_token is None:
            sync_token = self.get_customer(customer_id).sync_token
        body = {"Id": customer_id, "SyncToken": sync_token, "sparse": True, "Active": active}
        return self._write_customer(body, None)

    def _write_customer(self, body: dict[str, Any], idempotency_key: str | None) -> RemoteCustomer:
        # Intuit recommends a requestid on every write; one per logical call makes our own replays safe.
        request_id = qbo_request_id(idempotency_key or uuid.uuid4().hex)
        response = self._call(
            "POST",
            "customer",
            params={"requestid": request_id},
            json_body=body,
            content_type="application/json",
            replay_safe=True,
        )
        return customer_from_qbo(response.get("Customer") or {})

    # --- AR documents ----------------------------------------------------------------------------------------------
    def list_invoices(self, cursor: str | None = None) -> Page[RemoteInvoice]:
        rows, next_cursor = self._paged("Invoice", "", cursor, "qbo-invoices")
        return Page[RemoteInvoice](items=tuple(invoice_from_qbo(r) for r in rows), next_cursor=next_cursor)

    def list_payments(self, cursor: str | None = None) -> Page[RemotePayment]:
        rows, next_cursor = self._paged("Payment", "", cursor, "qbo-payments")
        return Page[RemotePayment](items=tuple(payment_from_qbo(r) for r in rows), next_cursor=next_cursor)

    def list_credits(self, cursor: str | None = None) -> Page[RemoteCredit]:
        # QBO's unapplied cash is CreditMemo.RemainingCredit plus Payment.UnappliedAmt (on RemotePayment).
        rows, next_cursor = self._paged("CreditMemo", "", cursor, "qbo-credits")
        return Page[RemoteCredit](items=tuple(credit_from_qbo(r) for r in rows), next_cursor=next_cursor)

    # --- incremental -------------------------------------------------------------------------------------------------
    def changes_since(self, since: datetime, cursor: str | None = None) -> ChangeBatch:
        """ONE CDC call for all four entities; paged queries when the window or the 1000-object cap forbids CDC."""
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        if cursor:
            state = decode_cursor(cursor, "qbo-changes")
            return self._changes_by_query(since, int(state["entity"]), int(state["start"]))
        if since < self._now() - self.config.cdc_window + self.config.cdc_safety_margin:
            return self._changes_by_query(since, 0, 1)
        try:
            body = self._call(
                "GET",
                "cdc",
                params={"entities": ",".join(CDC_ENTITIES), "changedSince": since.astimezone(UTC).isoformat()},
            )
        except AccountingError as exc:
            # UNCONFIRMED (§8): the error text for changedSince older than 30 days. A 4xx validation answer to a
            # well-formed CDC call is taken to be that, and we fall back rather than fail the sync.
            if exc.category == ErrorCategory.VALIDATION_FAILED:
                return self._changes_by_query(since, 0, 1)
            raise
        grouped: dict[str, list[dict[str, Any]]] = {name: [] for name in CDC_ENTITIES}
        for cdc in body.get("CDCResponse") or []:
            for qr in cdc.get("QueryResponse") or []:
                for name in CDC_ENTITIES:
                    grouped[name].extend(qr.get(name) or [])
        if sum(len(v) for v in grouped.values()) >= CDC_CAP:
            # The cap truncates silently: the response cannot be trusted as complete.
            return self._changes_by_query(since, 0, 1)
        return ChangeBatch(
            customers=tuple(customer_from_qbo(r) for r in grouped["Customer"]),
            invoices=tuple(invoice_from_qbo(r) for r in grouped["Invoice"]),
            payments=tuple(payment_from_qbo(r) for r in grouped["Payment"]),
            credits=tuple(credit_from_qbo(r) for r in grouped["CreditMemo"]),
            as_of=parse_qbo_datetime(body.get("time")),
        )

    def _changes_by_query(self, since: datetime, entity_index: int, start: int) -> ChangeBatch:
        entity = CDC_ENTITIES[entity_index]
        where = f" WHERE MetaData.LastUpdatedTime >= '{_query_iso(since)}'"
        if entity == "Customer":
            where += " AND Active IN (true, false)"
        sql = f"SELECT * FROM {entity}{where} ORDERBY Id STARTPOSITION {start} MAXRESULTS {MAX_RESULTS}"  # noqa: S608
        rows = self._query(sql).get(entity) or []
        if len(rows) >= MAX_RESULTS:
            next_cursor: str | None = encode_cursor("qbo-changes", entity=entity_index, start=start + len(rows))
        elif entity_index + 1 < len(CDC_ENTITIES):
            next_cursor = encode_cursor("qbo-changes", entity=entity_index + 1, start=1)
        else:
            next_cursor = None
        parsed = [_ENTITY_PARSERS[entity](r) for r in rows]
        return ChangeBatch(
            customers=tuple(parsed) if entity == "Customer" else (),
            invoices=tuple(parsed) if entity == "Invoice" else (),
            payments=tuple(parsed) if entity == "Payment" else (),
            credits=tuple(parsed) if entity == "CreditMemo" else (),
            next_cursor=next_cursor,
            fallback=True,
        )
