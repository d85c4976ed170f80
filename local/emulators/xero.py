"""Local emulator of the Xero Accounting API, Xero identity (OAuth 2.0, /connections) and Xero webhooks.

Why: connectors are tested against this over real HTTP on 127.0.0.1; a connector that passes here must work
against api.xero.com, so the emulator copies the observed wire formats (see
``../shared/reference/accounting-apis.md`` §2) and every success/400 body validates against Xero's own OpenAPI
document (``local/contracts/xero_accounting.yaml``; checked in ``tests/emulators/test_xero_emulator.py``).

Start it: ``python -m local.emulators.xero --port 8766`` (foreground) or, in tests,
``serve_in_thread(port=0)``. Admin surface: ``/_admin/...`` per ``local/emulators/ADMIN_API.md`` plus the
Xero-only extras listed in ``_register_admin``.

Design choices where the reference is UNCONFIRMED (each also noted at the code that implements it):

- 403 body (tenant header missing/unknown/not connected) = the problem object observed in xero-node#432:
  ``{"Type":null,"Title":"Forbidden","Status":403,"Detail":"AuthenticationUnsuccessful",...}``.
- Missing Name on create: ``Contact Name cannot be empty.`` (observed in a Xero ValidationException quoted in
  waynerobinson/xeroizer PR #380; old but the only real sample).
- ``< >`` in Name: ``The contact name is not valid. < > are not permitted characters.`` (FAQ text; §0).
- Over-long fields: ``The {Field} field cannot be more than {max} characters long.`` (wording invented; the
  limits are the spec's ``maxLength``). NB: XeroAPI/xero-python#70 reports real contact names of 263 chars,
  i.e. Xero may not enforce Name ≤ 255; the emulator enforces it because the contract says 255
  (``EmulatorConfig.enforce_max_lengths`` turns all length checks off).
- Validation messages sit on the element's top-level ``ValidationErrors`` (what xero-python and Invoiced read);
  nested Addresses/Phones/PaymentTerms carry ``"ValidationErrors": []`` like the spec example.
- A failed create echoes ``ContactID`` ``00000000-0000-0000-0000-000000000000`` (spec example).
- ``summarizeErrors`` defaults to true: any invalid element → 400 and nothing is written. ``false`` → 200 with
  per-element ``HasValidationErrors``; valid elements are written.
- Balances (``Balances.AccountsReceivable.{Outstanding,Overdue}``) are returned on paged list reads and single
  reads, not on unpaged lists. Outstanding = Σ AmountDue of AUTHORISED ACCREC invoices − Σ RemainingCredit of
  AUTHORISED ACCRECCREDIT credit notes, overpayments and prepayments; Overdue = Σ AmountDue with DueDate before
  today (emulator clock). Changing balances does not bump the contact's UpdatedDateUTC (Xero docs, "requests and
  responses": Balances/IsCustomer changes do not change UpdatedDateUTC).
- Without ``page``/``pageSize`` a list returns every match (no ``pagination`` object, invoice LineItems and
  contact Balances omitted), as Xero documents for unpaged reads. ``pageSize`` > 1000 is clamped to 1000.
- Default order = creation order (stable under concurrent edits); ``order=Field [ASC|DESC]`` is supported.
- ``If-Modified-Since`` (ISO 8601 or RFC 1123) is inclusive at one-second resolution ("accurate to the second").
- ``Idempotency-Key``: keyed per tenant; the stored status+body of a 200/400 write is replayed for 24 h
  (``idempotency_ttl``) regardless of the new request's body; > 128 chars → 400.
- 429: ``Retry-After`` in seconds; ``X-Rate-Limit-Problem`` ``minute`` | ``day`` | ``concurrent`` |
  ``appminute``; concurrent → ``Retry-After: 1``; rejected (429) calls do not consume quota. 429 body: none
  (empty) because no OAuth2-era body was ever observed.
- 404 for an unknown id: ``text/plain`` "The resource you're looking for cannot be found" (Invoiced: "404
  responses seem to not provide a JSON error").
- Bad ``where`` → 400 ``{"ErrorNumber":16,"Type":"QueryParseException",...}``; bad JSON → 400
  ``{"ErrorNumber":14,"Type":"PostDataInvalidException",...}`` (numbers per Xero's HTTP-response-code page as
  remembered; not verified).
- ``Accept`` must include ``application/json``, otherwise 406: real Xero answers XML by default, which this
  emulator does not speak — a connector that forgets the header must fail here too.
- Token endpoint client errors → 400 ``{"error":"invalid_client"}``; authorization codes live 5 minutes and are
  single use; refresh tokens expire after 60 idle days.
- Paths are case-sensitive here (Xero's are not); connectors should use the documented casing anyway.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import copy
import datetime as dt
import email.utils
import functools
import hashlib
import hmac
import json
import logging
import math
import random
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlparse

import requests
from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.emulators.xero_where import WhereSyntaxError, compile_where

log = logging.getLogger("arsync.emulators.xero")

API = "/api.xro/2.0"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
PUBLIC_API_BASE = "https://api.xero.com/api.xro/2.0"
JSON_CT = "application/json; charset=utf-8"
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"
DUPLICATE_NAME_MSG = (
    "The contact name {name} is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)
INVALID_CHARS_MSG = "The contact name is not valid. < > are not permitted characters."
EMPTY_NAME_MSG = "Contact Name cannot be empty."
TOO_LONG_MSG = "The {field} field cannot be more than {max} characters long."
IDEMPOTENCY_KEY_MAX = 128

CONTACT_LIMITS = {
    "Name": 255,
    "FirstName": 255,
    "LastName": 255,
    "EmailAddress": 255,
    "ContactNumber": 50,
    "AccountNumber": 50,
    "CompanyNumber": 50,
    "TaxNumber": 50,
}
ADDRESS_LIMITS = {
    "AddressLine1": 500,
    "AddressLine2": 500,
    "AddressLine3": 500,
    "AddressLine4": 500,
    "City": 255,
    "Region": 255,
    "PostalCode": 50,
    "Country": 50,
    "AttentionTo": 255,
}
PHONE_LIMITS = {"PhoneNumber": 50, "PhoneAreaCode": 10, "PhoneCountryCode": 20}
# Read-only or computed Contact fields a client may echo back; never stored from a write.
CONTACT_READ_ONLY = {
    "ContactID",
    "UpdatedDateUTC",
    "Balances",
    "IsCustomer",
    "IsSupplier",
    "HasValidationErrors",
    "ValidationErrors",
    "HasAttachments",
    "Website",
    "Discount",
    "StatusAttributeString",
}
SCOPES_CONTACTS = ("accounting.contacts", "accounting.contacts.read")
SCOPES_CONTACTS_WRITE = ("accounting.contacts",)
SCOPES_TX = ("accounting.transactions", "accounting.transactions.read")


# --------------------------------------------------------------------------------------------------------------
# configuration, clock, helpers
# --------------------------------------------------------------------------------------------------------------
@dataclass
class EmulatorConfig:
    """Knobs for tests and benchmarks; defaults are Xero's published values."""

    per_minute: int = 60
    per_day: int = 5000
    concurrent: int = 5
    app_per_minute: int = 10_000
    access_token_ttl: int = 1800
    refresh_grace_seconds: int = 1800
    refresh_token_idle_ttl: int = 60 * 86400
    auth_code_ttl: int = 300
    idempotency_ttl: int = 86400
    provider_name: str = "arsync local"
    enforce_max_lengths: bool = True
    require_json_accept: bool = True
    # A client that exists from the start so a dev stack works without registering one; its redirect URIs are
    # any http(s) URL on 127.0.0.1/localhost.
    default_client_id: str | None = "arsync-local"
    default_client_secret: str = "arsync-local-secret"
    webhook_timeout: float = 5.0


class Clock:
    """Emulator clock: real UTC plus an offset, optionally frozen (token expiry, rate windows, timestamps)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), tz=dt.UTC)

    def ms(self) -> int:
        return int(self.time() * 1000)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def set(self, when: dt.datetime) -> None:
        target = when.timestamp()
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._offset = target - time.time()

    def freeze(self, frozen: bool) -> None:
        with self._lock:
            current = self._frozen_at if self._frozen_at is not None else time.time() + self._offset
            if frozen:
                self._frozen_at = current
            else:
                self._frozen_at = None
                self._offset = current - time.time()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None


def ms_date(ms: int) -> str:
    """Xero's MS-JSON date with explicit offset, as on UpdatedDateUTC / Date fields."""
    return f"/Date({ms}+0000)/"


def date_ms(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)


def date_string(d: dt.date) -> str:
    return f"{d.isoformat()}T00:00:00"


def money(cents: int) -> float:
    return cents / 100


def to_cents(value: Any) -> int:
    if value is None or value == "":
        return 0
    return round(float(value) * 100)


_MS_DATE_RE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_any_date(value: Any) -> dt.date | None:
    """Parse ``2024-01-31``, ``2024-01-31T00:00:00`` or ``/Date(ms+0000)/`` into a date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    text = str(value)
    m = _MS_DATE_RE.fullmatch(text)
    if m:
        return dt.datetime.fromtimestamp(int(m.group(1)) / 1000, tz=dt.UTC).date()
    return dt.date.fromisoformat(text[:10])


def parse_instant(value: str | None) -> dt.datetime | None:
    """Parse If-Modified-Since / clock values: ISO 8601 (naive = UTC) or RFC 1123 HTTP-date."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def parse_bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"true", "1", "yes"}


def parse_int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def det_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def name_key(name: str) -> str:
    """Uniqueness key: trimmed, case-insensitive (the rule is over ACTIVE contacts only)."""
    return " ".join(name.split()).casefold()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """Xero's identity-layer problem object (401/403 bodies as observed)."""
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


class ApiError(Exception):
    """Short-circuit a handler with a ready response."""

    def __init__(
        self, status: int, body: Any = None, *, text: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(status)
        self.status = status
        self.body = body
        self.text = text
        self.headers = headers or {}


# --------------------------------------------------------------------------------------------------------------
# data model
# --------------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class ContactRec:
    id: str
    seq: int
    updated_ms: int
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data.get("Name") or "")

    @property
    def active(self) -> bool:
        return self.data.get("ContactStatus", "ACTIVE") == "ACTIVE"


@dataclass(slots=True)
class InvoiceRec:
    id: str
    seq: int
    number: str
    contact_id: str
    date: dt.date
    due: dt.date
    total_c: int
    status: str
    updated_ms: int
    reference: str = ""
    paid_c: int = 0
    credited_c: int = 0
    payment_ids: list[str] = field(default_factory=list)
    # (kind, credit id, amount cents, date)
    credits: list[tuple[str, str, int, dt.date]] = field(default_factory=list)
    fully_paid_on: dt.date | None = None
    currency: str = "USD"

    @property
    def due_c(self) -> int:
        if self.status not in {"AUTHORISED", "PAID"}:
            return 0
        return self.total_c - self.paid_c - self.credited_c


@dataclass(slots=True)
class PaymentRec:
    id: str
    seq: int
    invoice_id: str
    amount_c: int
    date: dt.date
    updated_ms: int
    reference: str = ""
    status: str = "AUTHORISED"
    reconciled: bool = True


@dataclass(slots=True)
class CreditRec:
    kind: str  # creditnote | overpayment | prepayment
    id: str
    seq: int
    contact_id: str
    date: dt.date
    total_c: int
    remaining_c: int
    status: str
    updated_ms: int
    number: str = ""
    reference: str = ""
    # (invoice id, amount cents, date)
    allocations: list[tuple[str, int, dt.date]] = field(default_factory=list)
    currency: str = "USD"


CREDIT_KINDS = {"creditnote", "overpayment", "prepayment"}


@dataclass
class RateState:
    minute: collections.deque[float] = field(default_factory=collections.deque)
    day_key: str = ""
    day_count: int = 0
    in_flight: int = 0


@dataclass
class Tenant:
    """A Xero organisation (= ADMIN_API "company")."""

    tenant_id: str
    name: str
    created: float
    contacts: dict[str, ContactRec] = field(default_factory=dict)
    invoices: dict[str, InvoiceRec] = field(default_factory=dict)
    invoice_numbers: dict[str, str] = field(default_factory=dict)
    payments: dict[str, PaymentRec] = field(default_factory=dict)
    credits: dict[str, CreditRec] = field(default_factory=dict)
    active_names: dict[str, str] = field(default_factory=dict)  # name_key -> contact id (ACTIVE only)
    inv_by_contact: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))
    credits_by_contact: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))
    idempotency: dict[str, tuple[float, int, bytes]] = field(default_factory=dict)
    rate: RateState = field(default_factory=RateState)
    version: int = 0
    seq: int = 0
    inv_counter: int = 0
    cn_counter: int = 0
    view_cache: collections.OrderedDict[tuple[Any, ...], tuple[int, list[Any]]] = field(
        default_factory=collections.OrderedDict
    )

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def touch(self) -> None:
        self.version += 1

    def cached_view(self, key: tuple[Any, ...], compute: Callable[[], list[Any]]) -> list[Any]:
        """Filtered/ordered id lists are cached per data version so paging a large org is O(page) per call."""
        hit = self.view_cache.get(key)
        if hit is not None and hit[0] == self.version:
            self.view_cache.move_to_end(key)
            return hit[1]
        items = compute()
        self.view_cache[key] = (self.version, items)
        while len(self.view_cache) > 64:
            self.view_cache.popitem(last=False)
        return items


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def redirect_ok(self, uri: str) -> bool:
        if self.redirect_uris:
            return uri in self.redirect_uris
        host = urlparse(uri).hostname or ""
        return host in {"127.0.0.1", "localhost"}


@dataclass
class Grant:
    """One consent (an authentication event): the tokens minted from it share tenants and scopes."""

    grant_id: str
    client_id: str
    user_id: str
    auth_event_id: str
    scopes: list[str]
    tenant_ids: list[str]
    revoked: bool = False


@dataclass
class AccessToken:
    grant_id: str
    expires_at: float


@dataclass
class RefreshToken:
    grant_id: str
    issued_at: float
    rotated_at: float | None = None
    successor: dict[str, Any] | None = None


@dataclass
class Connection:
    id: str
    client_id: str
    user_id: str
    tenant_id: str
    auth_event_id: str
    created: float
    updated: float


@dataclass
class FaultRule:
    method: str | None
    path: re.Pattern[str] | None
    action: str
    probability: float = 1.0
    times: int | None = None
    latency_ms: int = 0
    status: int = 503
    retry_after: str = "60"
    problem: str = "minute"
    rng: random.Random = field(default_factory=random.Random)
    applied: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.applied >= self.times:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path is not None and not self.path.search(path):
            return False
        return self.rng.random() < self.probability


FAULT_ACTIONS = {"latency", "status", "drop_after_commit", "drop_before_commit", "rate_limit", "revoke"}


# --------------------------------------------------------------------------------------------------------------
# state
# --------------------------------------------------------------------------------------------------------------
class XeroState:
    """All in-memory emulator state; one lock guards mutations (handlers are short)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.clock = Clock()
        self.jwt_secret = secrets.token_bytes(32)
        self.user_id = str(uuid.uuid4())
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tenants: dict[str, Tenant] = {}
            self.clients: dict[str, OAuthClient] = {}
            if self.config.default_client_id:
                self.clients[self.config.default_client_id] = OAuthClient(
                    self.config.default_client_id, self.config.default_client_secret, []
                )
            self.auth_codes: dict[str, tuple[str, str, float]] = {}  # code -> (grant id, redirect uri, exp)
            self.grants: dict[str, Grant] = {}
            self.access_tokens: dict[str, AccessToken] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.connections: dict[str, Connection] = {}
            self.faults: list[FaultRule] = []
            self.log_entries: list[dict[str, Any]] = []
            self.by_endpoint: collections.Counter[str] = collections.Counter()
            self.webhook_url: str | None = None
            self.webhook_key: str | None = None
            self.pending_events: list[dict[str, Any]] = []
            self.event_seq = 0
            self.app_minute: collections.deque[float] = collections.deque()
            self.limits = {
                "per_minute": self.config.per_minute,
                "per_day": self.config.per_day,
                "concurrent": self.config.concurrent,
                "app_per_minute": self.config.app_per_minute,
            }

    # ---- tenants --------------------------------------------------------------------------------------------
    def create_tenant(self, name: str, tenant_id: str | None = None) -> Tenant:
        with self.lock:
            tid = tenant_id or str(uuid.uuid4())
            if tid in self.tenants:
                raise ApiError(409, {"error": f"company {tid} exists"})
            tenant = Tenant(tenant_id=tid, name=name, created=self.clock.time())
            self.tenants[tid] = tenant
            return tenant

    def tenant(self, tenant_id: str) -> Tenant:
        t = self.tenants.get(tenant_id)
        if t is None:
            raise ApiError(404, {"error": f"unknown company {tenant_id}"})
        return t

    # ---- webhooks -------------------------------------------------------------------------------------------
    def emit(self, tenant: Tenant, category: str, resource: str, rid: str, event_type: str, **extra: Any) -> None:
        now = self.clock.now()
        event: dict[str, Any] = {
            "resourceUrl": f"{PUBLIC_API_BASE}/{resource}/{rid}",
            "resourceId": rid,
            "eventDateUtc": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}",
            "eventType": event_type,
            "eventCategory": category,
            "tenantId": tenant.tenant_id,
            "tenantType": "ORGANISATION",
        }
        event.update(extra)
        self.pending_events.append(event)

    # ---- tokens ---------------------------------------------------------------------------------------------
    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64url(json_bytes({"alg": "HS256", "kid": "emulator", "typ": "JWT"}))
        payload = _b64url(json_bytes(claims))
        sig = hmac.new(self.jwt_secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(sig)}"

    def issue_tokens(self, grant: Grant) -> dict[str, Any]:
        now = self.clock.time()
        exp = now + self.config.access_token_ttl
        base = {"nbf": int(now), "exp": int(exp), "iss": "https://identity.xero.com", "auth_time": int(now)}
        access = self._jwt(
            base
            | {
                "aud": "https://identity.xero.com/resources",
                "client_id": grant.client_id,
                "sub": grant.user_id,
                "xero_userid": grant.user_id,
                "global_session_id": grant.grant_id,
                "jti": secrets.token_hex(16),
                "authentication_event_id": grant.auth_event_id,
                "scope": grant.scopes,
            }
        )
        id_token = self._jwt(
            base
            | {
                "aud": grant.client_id,
                "sub": grant.user_id,
                "xero_userid": grant.user_id,
                "email": "emulator.user@example.com",
                "given_name": "Emulator",
                "family_name": "User",
                "global_session_id": grant.grant_id,
                "jti": secrets.token_hex(16),
            }
        )
        refresh = secrets.token_hex(32)
        self.access_tokens[access] = AccessToken(grant.grant_id, exp)
        self.refresh_tokens[refresh] = RefreshToken(grant.grant_id, now)
        return {
            "id_token": id_token,
            "access_token": access,
            "expires_in": self.config.access_token_ttl,
            "token_type": "Bearer",
            "refresh_token": refresh,
            "scope": " ".join(grant.scopes),
        }

    def new_grant(self, client_id: str, scopes: list[str], tenant_ids: list[str]) -> Grant:
        grant = Grant(str(uuid.uuid4()), client_id, self.user_id, str(uuid.uuid4()), scopes, tenant_ids)
        self.grants[grant.grant_id] = grant
        now = self.clock.time()
        for tid in tenant_ids:
            conn = self.find_connection(client_id, tid)
            if conn is None:
                conn = Connection(str(uuid.uuid4()), client_id, self.user_id, tid, grant.auth_event_id, now, now)
                self.connections[conn.id] = conn
            else:
                conn.auth_event_id = grant.auth_event_id
                conn.updated = now
        return grant

    def find_connection(self, client_id: str, tenant_id: str) -> Connection | None:
        for conn in self.connections.values():
            if conn.client_id == client_id and conn.tenant_id == tenant_id:
                return conn
        return None

    def revoke_grant(self, grant: Grant) -> None:
        grant.revoked = True

    def revoke_company(self, tenant_id: str) -> int:
        count = 0
        for grant in self.grants.values():
            if tenant_id in grant.tenant_ids and not grant.revoked:
                grant.revoked = True
                count += 1
        return count


# --------------------------------------------------------------------------------------------------------------
# wire serialisation
# --------------------------------------------------------------------------------------------------------------
def _normalise_addresses(addresses: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Xero always returns one POBOX and one STREET address (spec example), filled from what was sent."""
    by_type: dict[str, dict[str, Any]] = {"POBOX": {"AddressType": "POBOX"}, "STREET": {"AddressType": "STREET"}}
    for addr in addresses or []:
        if isinstance(addr, dict):
            kind = str(addr.get("AddressType") or "POBOX").upper()
            by_type.setdefault(kind, {"AddressType": kind}).update(
                {k: v for k, v in addr.items() if k not in {"ValidationErrors"}}
            )
    return list(by_type.values())


def _normalise_phones(phones: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    order = ["DEFAULT", "DDI", "FAX", "MOBILE"]
    by_type: dict[str, dict[str, Any]] = {k: {"PhoneType": k} for k in order}
    for phone in phones or []:
        if isinstance(phone, dict):
            kind = str(phone.get("PhoneType") or "DEFAULT").upper()
            by_type.setdefault(kind, {"PhoneType": kind}).update(
                {k: v for k, v in phone.items() if k not in {"ValidationErrors"}}
            )
    return list(by_type.values())


class Wire:
    """Turns internal records into Xero JSON."""

    def __init__(self, state: XeroState) -> None:
        self.state = state

    def today(self) -> dt.date:
        return self.state.clock.now().date()

    def balances(self, tenant: Tenant, contact_id: str) -> dict[str, Any]:
        today = self.today()
        outstanding = 0
        overdue = 0
        for iid in tenant.inv_by_contact.get(contact_id, ()):
            inv = tenant.invoices[iid]
            if inv.status == "AUTHORISED":
                outstanding += inv.due_c
                if inv.due < today:
                    overdue += inv.due_c
        for cid in tenant.credits_by_contact.get(contact_id, ()):
            cr = tenant.credits[cid]
            if cr.status == "AUTHORISED":
                outstanding -= cr.remaining_c
        return {
            "AccountsReceivable": {"Outstanding": money(outstanding), "Overdue": money(overdue)},
            "AccountsPayable": {"Outstanding": 0.0, "Overdue": 0.0},
        }

    def contact(self, tenant: Tenant, rec: ContactRec, *, balances: bool, summary: bool = False) -> dict[str, Any]:
        d = rec.data
        is_customer = bool(tenant.inv_by_contact.get(rec.id))
        if summary:
            keep = (
                "ContactNumber",
                "AccountNumber",
                "ContactStatus",
                "Name",
                "FirstName",
                "LastName",
                "EmailAddress",
                "CompanyNumber",
                "TaxNumber",
            )
            out: dict[str, Any] = {"ContactID": rec.id}
            out.update({k: d[k] for k in keep if k in d})
            out.update(
                {
                    "UpdatedDateUTC": ms_date(rec.updated_ms),
                    "IsSupplier": False,
                    "IsCustomer": is_customer,
                    "HasAttachments": False,
                    "HasValidationErrors": False,
                }
            )
            return out
        out = {"ContactID": rec.id}
        out.update(copy.deepcopy(d))
        out["UpdatedDateUTC"] = ms_date(rec.updated_ms)
        out.setdefault("ContactGroups", [])
        out["IsSupplier"] = False
        out["IsCustomer"] = is_customer
        out.setdefault("ContactPersons", [])
        out["HasAttachments"] = False
        out["HasValidationErrors"] = False
        if balances:
            out["Balances"] = self.balances(tenant, rec.id)
        return out

    def contact_ref(self, tenant: Tenant, contact_id: str) -> dict[str, Any]:
        rec = tenant.contacts.get(contact_id)
        ref: dict[str, Any] = {"ContactID": contact_id, "Name": rec.name if rec else ""}
        if rec and rec.data.get("ContactNumber"):
            ref["ContactNumber"] = rec.data["ContactNumber"]
        return ref

    @staticmethod
    def _lines(doc_id: str, number: str, total_c: int, account: str = "200") -> list[dict[str, Any]]:
        return [
            {
                "LineItemID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"line:{doc_id}")),
                "Description": f"Professional services {number}".strip(),
                "Quantity": 1.0,
                "UnitAmount": money(total_c),
                "TaxType": "NONE",
                "TaxAmount": 0.0,
                "LineAmount": money(total_c),
                "AccountCode": account,
                "Tracking": [],
            }
        ]

    def invoice(self, tenant: Tenant, inv: InvoiceRec, *, lines: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Type": "ACCREC",
            "InvoiceID": inv.id,
            "InvoiceNumber": inv.number,
            "Reference": inv.reference,
            "Contact": self.contact_ref(tenant, inv.contact_id),
            "Date": ms_date(date_ms(inv.date)),
            "DateString": date_string(inv.date),
            "DueDate": ms_date(date_ms(inv.due)),
            "DueDateString": date_string(inv.due),
            "Status": inv.status,
            "LineAmountTypes": "Exclusive",
            "SubTotal": money(inv.total_c),
            "TotalTax": 0.0,
            "Total": money(inv.total_c),
            "TotalDiscount": 0.0,
            "CurrencyCode": inv.currency,
            "CurrencyRate": 1.0,
            "AmountDue": money(inv.due_c),
            "AmountPaid": money(inv.paid_c),
            "AmountCredited": money(inv.credited_c),
            "IsDiscounted": False,
            "HasAttachments": False,
            "HasErrors": False,
            "SentToContact": True,
            "UpdatedDateUTC": ms_date(inv.updated_ms),
        }
        if inv.fully_paid_on is not None and inv.status == "PAID":
            out["FullyPaidOnDate"] = ms_date(date_ms(inv.fully_paid_on))
        out["Payments"] = [
            {
                "PaymentID": p.id,
                "Date": ms_date(date_ms(p.date)),
                "Amount": money(p.amount_c),
                "Reference": p.reference,
                "CurrencyRate": 1.0,
                "HasAccount": False,
                "HasValidationErrors": False,
            }
            for p in (tenant.payments[pid] for pid in inv.payment_ids)
            if p.status == "AUTHORISED"
        ]
        groups: dict[str, list[dict[str, Any]]] = {"creditnote": [], "overpayment": [], "prepayment": []}
        for kind, cid, amount_c, when in inv.credits:
            cr = tenant.credits.get(cid)
            item: dict[str, Any] = {
                "AppliedAmount": money(amount_c),
                "Date": ms_date(date_ms(when)),
                "Total": money(cr.total_c) if cr else money(amount_c),
            }
            if kind == "creditnote":
                item = {"CreditNoteID": cid, "CreditNoteNumber": cr.number if cr else "", **item}
            elif kind == "overpayment":
                item = {"OverpaymentID": cid, **item}
            else:
                item = {"PrepaymentID": cid, **item}
            groups[kind].append(item)
        out["CreditNotes"] = groups["creditnote"]
        out["Overpayments"] = groups["overpayment"]
        out["Prepayments"] = groups["prepayment"]
        if lines:
            out["LineItems"] = self._lines(inv.id, inv.number, inv.total_c)
        return out

    def payment(self, tenant: Tenant, p: PaymentRec) -> dict[str, Any]:
        inv = tenant.invoices.get(p.invoice_id)
        invoice_ref: dict[str, Any] = {"Type": "ACCREC", "InvoiceID": p.invoice_id}
        if inv is not None:
            invoice_ref.update(
                {
                    "InvoiceNumber": inv.number,
                    "Contact": self.contact_ref(tenant, inv.contact_id),
                    "CurrencyCode": inv.currency,
                }
            )
        return {
            "PaymentID": p.id,
            "Date": ms_date(date_ms(p.date)),
            "BankAmount": money(p.amount_c),
            "Amount": money(p.amount_c),
            "Reference": p.reference,
            "CurrencyRate": 1.0,
            "PaymentType": "ACCRECPAYMENT",
            "Status": p.status,
            "UpdatedDateUTC": ms_date(p.updated_ms),
            "HasAccount": True,
            "IsReconciled": p.reconciled,
            "Account": {"AccountID": str(uuid.uuid5(uuid.NAMESPACE_URL, "account:090")), "Code": "090"},
            "Invoice": invoice_ref,
            "HasValidationErrors": False,
        }

    def credit(self, tenant: Tenant, cr: CreditRec, *, lines: bool) -> dict[str, Any]:
        allocations = [
            {
                "Amount": money(amount_c),
                "Date": ms_date(date_ms(when)),
                "Invoice": {
                    "InvoiceID": iid,
                    "InvoiceNumber": tenant.invoices[iid].number if iid in tenant.invoices else "",
                },
            }
            for iid, amount_c, when in cr.allocations
        ]
        common: dict[str, Any] = {
            "Contact": self.contact_ref(tenant, cr.contact_id),
            "Date": ms_date(date_ms(cr.date)),
            "DateString": date_string(cr.date),
            "Status": cr.status,
            "LineAmountTypes": "NoTax" if cr.kind != "creditnote" else "Exclusive",
            "SubTotal": money(cr.total_c),
            "TotalTax": 0.0,
            "Total": money(cr.total_c),
            "UpdatedDateUTC": ms_date(cr.updated_ms),
            "CurrencyCode": cr.currency,
            "CurrencyRate": 1.0,
            "RemainingCredit": money(cr.remaining_c),
            "Allocations": allocations,
            "Payments": [],
            "HasAttachments": False,
        }
        if lines:
            common["LineItems"] = self._lines(cr.id, cr.number, cr.total_c, "200" if cr.kind == "creditnote" else "")
        if cr.kind == "creditnote":
            out = {"Type": "ACCRECCREDIT", "CreditNoteID": cr.id, "CreditNoteNumber": cr.number, **common}
            out["Reference"] = cr.reference
            out["SentToContact"] = False
            out["HasErrors"] = False
            if cr.status == "PAID" and cr.allocations:
                out["FullyPaidOnDate"] = ms_date(date_ms(max(a[2] for a in cr.allocations)))
            return out
        if cr.kind == "overpayment":
            return {"Type": "RECEIVE-OVERPAYMENT", "OverpaymentID": cr.id, **common}
        return {"Type": "RECEIVE-PREPAYMENT", "PrepaymentID": cr.id, "Reference": cr.reference, **common}


# --------------------------------------------------------------------------------------------------------------
# domain operations (shared by the API and the admin surface)
# --------------------------------------------------------------------------------------------------------------
class Ledger:
    """AR bookkeeping: inserting documents, applying payments/credits, keeping invoice totals consistent."""

    def __init__(self, state: XeroState) -> None:
        self.state = state

    def add_contact(
        self, tenant: Tenant, data: dict[str, Any], *, cid: str | None = None, updated_ms: int | None = None
    ) -> ContactRec:
        rec = ContactRec(cid or str(uuid.uuid4()), tenant.next_seq(), updated_ms or self.state.clock.ms(), data)
        tenant.contacts[rec.id] = rec
        if rec.active and rec.name:
            tenant.active_names.setdefault(name_key(rec.name), rec.id)
        tenant.touch()
        return rec

    def reindex_contact(self, tenant: Tenant, rec: ContactRec, old_name: str, old_active: bool) -> None:
        if old_active and old_name:
            key = name_key(old_name)
            if tenant.active_names.get(key) == rec.id:
                del tenant.active_names[key]
        if rec.active and rec.name:
            tenant.active_names.setdefault(name_key(rec.name), rec.id)
        tenant.touch()

    def add_invoice(
        self,
        tenant: Tenant,
        contact_id: str,
        date: dt.date,
        due: dt.date,
        total_c: int,
        *,
        iid: str | None = None,
        number: str | None = None,
        status: str = "AUTHORISED",
        reference: str = "",
        updated_ms: int | None = None,
    ) -> InvoiceRec:
        if number is None:
            tenant.inv_counter += 1
            number = f"INV-{tenant.inv_counter:05d}"
        inv = InvoiceRec(
            id=iid or str(uuid.uuid4()),
            seq=tenant.next_seq(),
            number=number,
            contact_id=contact_id,
            date=date,
            due=due,
            total_c=total_c,
            status=status,
            updated_ms=updated_ms or self.state.clock.ms(),
            reference=reference,
        )
        tenant.invoices[inv.id] = inv
        tenant.invoice_numbers[inv.number] = inv.id
        tenant.inv_by_contact[contact_id].append(inv.id)
        tenant.touch()
        return inv

    def _settle(self, inv: InvoiceRec, when: dt.date) -> None:
        if inv.status == "AUTHORISED" and inv.due_c <= 0:
            inv.status = "PAID"
            inv.fully_paid_on = when

    def pay(
        self,
        tenant: Tenant,
        inv: InvoiceRec,
        amount_c: int,
        when: dt.date,
        *,
        pid: str | None = None,
        reference: str = "",
        updated_ms: int | None = None,
    ) -> tuple[PaymentRec, CreditRec | None]:
        """Pay an invoice; any excess becomes an overpayment with RemainingCredit (as Xero's UI does)."""
        applied = min(amount_c, inv.due_c)
        excess = amount_c - applied
        stamp = updated_ms or self.state.clock.ms()
        p = PaymentRec(pid or str(uuid.uuid4()), tenant.next_seq(), inv.id, applied, when, stamp, reference)
        tenant.payments[p.id] = p
        inv.paid_c += applied
        inv.payment_ids.append(p.id)
        inv.updated_ms = max(inv.updated_ms, stamp)
        self._settle(inv, when)
        over = None
        if excess > 0:
            over = self.add_credit(tenant, "overpayment", inv.contact_id, when, excess, updated_ms=stamp)
        tenant.touch()
        return p, over

    def add_credit(
        self,
        tenant: Tenant,
        kind: str,
        contact_id: str,
        when: dt.date,
        total_c: int,
        *,
        crid: str | None = None,
        reference: str = "",
        updated_ms: int | None = None,
    ) -> CreditRec:
        number = ""
        if kind == "creditnote":
            tenant.cn_counter += 1
            number = f"CN-{tenant.cn_counter:05d}"
        cr = CreditRec(
            kind=kind,
            id=crid or str(uuid.uuid4()),
            seq=tenant.next_seq(),
            contact_id=contact_id,
            date=when,
            total_c=total_c,
            remaining_c=total_c,
            status="AUTHORISED",
            updated_ms=updated_ms or self.state.clock.ms(),
            number=number,
            reference=reference,
        )
        tenant.credits[cr.id] = cr
        tenant.credits_by_contact[contact_id].append(cr.id)
        tenant.touch()
        return cr

    def allocate(
        self,
        tenant: Tenant,
        cr: CreditRec,
        inv: InvoiceRec,
        amount_c: int,
        when: dt.date,
        *,
        updated_ms: int | None = None,
    ) -> None:
        if cr.status != "AUTHORISED" or amount_c <= 0 or amount_c > cr.remaining_c:
            raise ApiError(400, {"error": "amount exceeds the remaining credit"})
        if inv.status != "AUTHORISED" or amount_c > inv.due_c:
            raise ApiError(400, {"error": "amount exceeds the invoice's amount due"})
        if cr.contact_id != inv.contact_id:
            raise ApiError(400, {"error": "credit and invoice belong to different contacts"})
        stamp = updated_ms or self.state.clock.ms()
        cr.remaining_c -= amount_c
        cr.allocations.append((inv.id, amount_c, when))
        if cr.remaining_c == 0:
            cr.status = "PAID"
        cr.updated_ms = max(cr.updated_ms, stamp)
        inv.credited_c += amount_c
        inv.credits.append((cr.kind, cr.id, amount_c, when))
        inv.updated_ms = max(inv.updated_ms, stamp)
        self._settle(inv, when)
        tenant.touch()


# --------------------------------------------------------------------------------------------------------------
# deterministic seeding
# --------------------------------------------------------------------------------------------------------------
_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Emily",
    "Paul",
    "Kimberly",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Ronald",
    "Rebecca",
    "Jason",
    "Sharon",
    "Edward",
    "Laura",
    "Jeffrey",
    "Cynthia",
    "Ryan",
    "Amy",
    "Jacob",
    "Kathleen",
    "Gary",
    "Angela",
    "Nicholas",
    "Shirley",
    "Eric",
    "Brenda",
    "Jonathan",
    "Emma",
    "Stephen",
    "Anna",
    "Larry",
    "Pamela",
    "Justin",
    "Nicole",
    "Scott",
    "Samantha",
    "Brandon",
    "Katherine",
    "Benjamin",
    "Christine",
    "Samuel",
    "Helen",
    "Gregory",
    "Debra",
    "Alexander",
    "Rachel",
    "Patrick",
    "Carolyn",
    "Frank",
    "Janet",
    "Raymond",
    "Maria",
    "Jack",
    "Olivia",
    "Dennis",
    "Heather",
    "Jerry",
    "Diane",
    "Tyler",
    "Julie",
    "Aaron",
    "Joyce",
    "Jose",
    "Victoria",
    "Adam",
    "Ruth",
    "Nathan",
    "Virginia",
    "Henry",
    "Lauren",
    "Zachary",
    "Kelly",
    "Douglas",
    "Christina",
    "Peter",
    "Joan",
    "Kyle",
    "Evelyn",
    "Noah",
    "Judith",
    "Ethan",
    "Andrea",
    "Jeremy",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Bell",
    "Coleman",
    "Butler",
    "Henderson",
    "Barnes",
    "Gonzales",
    "Fisher",
    "Vasquez",
    "Simmons",
    "Romero",
    "Jordan",
    "Patterson",
    "Alexander",
    "Hamilton",
    "Graham",
    "Reynolds",
    "Griffin",
    "Wallace",
    "Moreno",
    "West",
    "Cole",
    "Hayes",
    "Bryant",
    "Herrera",
    "Gibson",
    "Ellis",
    "Tran",
    "Medina",
    "Aguilar",
    "Stevens",
    "Murray",
    "Ford",
    "Castro",
    "Marshall",
    "Owens",
    "Harrison",
    "Fernandez",
    "McDonald",
    "Woods",
    "Washington",
    "Kennedy",
    "Wells",
    "Vargas",
    "Henry",
    "Chen",
    "Freeman",
]
_TRADE = [
    "Plumbing",
    "Electrical",
    "Landscaping",
    "Bakery",
    "Consulting",
    "Logistics",
    "Dental",
    "Veterinary",
    "Architecture",
    "Printing",
    "Roofing",
    "Catering",
    "Engineering",
    "Imports",
    "Motors",
    "Hardware",
    "Flooring",
    "Joinery",
    "Optometry",
    "Pharmacy",
    "Fitness",
    "Design",
    "Media",
    "Analytics",
    "Marine",
    "Farms",
    "Vineyards",
    "Brewing",
    "Textiles",
    "Packaging",
    "Coffee",
    "Florists",
    "Cleaning",
    "Security",
    "Transport",
    "Interiors",
    "Glass",
    "Metals",
    "Timber",
    "Solar",
    "Robotics",
    "Software",
    "Studios",
    "Pediatrics",
    "Physio",
    "Legal",
    "Accounting",
    "Realty",
]
_SUFFIX = ("Ltd", "LLC", "Inc", "& Co", "Group", "Partners", "Holdings", "Services", "Co", "Associates", "Corp", "Pty")
_STREETS = [
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "View",
    "Sunset",
    "Ridge",
    "Church",
    "Mill",
    "River",
    "Spring",
    "Forest",
    "Highland",
    "Meadow",
    "Union",
    "Market",
    "Bridge",
    "Harbor",
    "Valley",
    "Franklin",
    "Lincoln",
    "Jefferson",
    "Madison",
    "Jackson",
    "Chestnut",
    "Walnut",
]
_STREET_TYPES = ("St", "Ave", "Rd", "Blvd", "Lane", "Drive", "Court", "Way", "Place", "Terrace")
_CITIES = (
    ("San Francisco", "CA", "941"),
    ("Oakland", "CA", "946"),
    ("Los Angeles", "CA", "900"),
    ("Seattle", "WA", "981"),
    ("Portland", "OR", "972"),
    ("Denver", "CO", "802"),
    ("Austin", "TX", "787"),
    ("Dallas", "TX", "752"),
    ("Chicago", "IL", "606"),
    ("Boston", "MA", "021"),
    ("New York", "NY", "100"),
    ("Brooklyn", "NY", "112"),
    ("Atlanta", "GA", "303"),
    ("Miami", "FL", "331"),
    ("Phoenix", "AZ", "850"),
    ("Minneapolis", "MN", "554"),
    ("Nashville", "TN", "372"),
    ("Philadelphia", "PA", "191"),
    ("Salt Lake City", "UT", "841"),
    ("Raleigh", "NC", "276"),
)


class Seeder:
    """Deterministic, realistic AR data (``random.Random(seed)``): contacts, invoices, payments and credits."""

    def __init__(self, state: XeroState, ledger: Ledger) -> None:
        self.state = state
        self.ledger = ledger

    def _company_name(self, rng: random.Random, used: set[str]) -> tuple[str, str, str]:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        roll = rng.random()
        if roll < 0.25:
            name = f"{first} {last}"
        elif roll < 0.6:
            name = f"{last} {rng.choice(_TRADE)} {rng.choice(_SUFFIX)}"
        elif roll < 0.85:
            name = f"{rng.choice(_LAST)} & {last} {rng.choice(_SUFFIX)}"
        else:
            name = f"{rng.choice(_STREETS)} {rng.choice(_TRADE)} {rng.choice(_SUFFIX)}"
        base, n = name, 2
        while name_key(name) in used:
            name = f"{base} ({n})"
            n += 1
        used.add(name_key(name))
        return name, first, last

    def _contact_data(self, rng: random.Random, name: str, first: str, last: str, number: int) -> dict[str, Any]:
        city, region, zip3 = rng.choice(_CITIES)
        slug = re.sub(r"[^a-z0-9]+", "", name.lower())[:24] or "contact"
        street = {
            "AddressType": "STREET",
            "AddressLine1": f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_STREET_TYPES)}",
            "City": city,
            "Region": region,
            "PostalCode": f"{zip3}{rng.randint(0, 99):02d}",
            "Country": "United States",
        }
        pobox = dict(street, AddressType="POBOX", AttentionTo=f"{first} {last}")
        if rng.random() < 0.3:
            pobox["AddressLine2"] = f"Suite {rng.randint(100, 999)}"
        area = f"{rng.randint(201, 989)}"
        return {
            "ContactNumber": f"CUST-{number:06d}",
            "AccountNumber": f"AR{number:06d}",
            "ContactStatus": "ACTIVE",
            "Name": name,
            "FirstName": first,
            "LastName": last,
            "EmailAddress": f"{first.lower()}.{last.lower()}@{slug}.example.com",
            "BankAccountDetails": "",
            "Addresses": [pobox, street],
            "Phones": [
                {
                    "PhoneType": "DEFAULT",
                    "PhoneNumber": f"{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                    "PhoneAreaCode": area,
                    "PhoneCountryCode": "1",
                },
                {"PhoneType": "DDI"},
                {"PhoneType": "FAX"},
                {"PhoneType": "MOBILE"},
            ],
            "ContactGroups": [],
            "ContactPersons": [],
            "PaymentTerms": {"Sales": {"Day": 30, "Type": "DAYSAFTERBILLDATE"}},
        }

    def seed(self, tenant: Tenant, spec: dict[str, Any]) -> dict[str, Any]:
        rng = random.Random(spec.get("seed", 7))
        customers = int(spec.get("customers", 200))
        inactive = int(spec.get("inactive", round(customers * 0.1)))
        years = float(spec.get("years", 2))
        lo, hi = spec.get("invoices_per_customer", [3, 12])
        unapplied_share = float(spec.get("unapplied_share", 0.1))
        clash_name = spec.get("clash_name", "Acme Supplies")
        now = self.state.clock.now()
        today = now.date()
        now_ms = int(now.timestamp() * 1000)
        span_days = max(1, int(years * 365))
        used: set[str] = set(tenant.active_names)
        ledger = self.ledger
        counts = collections.Counter[str]()
        start_number = len(tenant.contacts)
        archived_slots = set(rng.sample(range(customers), min(inactive, customers))) if customers else set()
        clash_slot = min(archived_slots) if (clash_name and archived_slots) else None
        unapplied_target = set(rng.sample(range(customers), min(customers, round(customers * unapplied_share))))

        def stamp(day: dt.date) -> int:
            ms = date_ms(day) + rng.randint(8 * 3600, 18 * 3600) * 1000
            return min(ms, now_ms)

        for i in range(customers):
            if i == clash_slot:
                name, first, last = str(clash_name), rng.choice(_FIRST), rng.choice(_LAST)
            else:
                name, first, last = self._company_name(rng, used)
            data = self._contact_data(rng, name, first, last, start_number + i + 1)
            archived = i in archived_slots
            if archived:
                data["ContactStatus"] = "ARCHIVED"
            created = today - dt.timedelta(days=span_days + rng.randint(1, 90))
            contact = ledger.add_contact(tenant, data, cid=det_uuid(rng), updated_ms=stamp(created))
            if i != clash_slot and archived:
                # archived names stay out of the active index; keep them unique anyway for realism
                pass
            counts["contacts_archived" if archived else "contacts_active"] += 1
            n_inv = rng.randint(int(lo), int(hi))
            last_activity = created
            open_invoices: list[InvoiceRec] = []
            for _ in range(n_inv):
                issued = today - dt.timedelta(days=rng.randint(0, span_days))
                if archived:
                    issued = min(issued, today - dt.timedelta(days=120))
                due = issued + dt.timedelta(days=30)
                total_c = rng.choice(
                    (rng.randint(50_00, 900_00), rng.randint(900_00, 6_000_00), rng.randint(6_000_00, 25_000_00))
                )
                inv = ledger.add_invoice(
                    tenant, contact.id, issued, due, total_c, iid=det_uuid(rng), updated_ms=stamp(issued)
                )
                counts["invoices"] += 1
                last_activity = max(last_activity, issued)
                roll = rng.random()
                lateness = rng.choices((rng.randint(-10, 0), rng.randint(1, 30), rng.randint(31, 90)), (0.6, 0.3, 0.1))[
                    0
                ]
                pay_day = due + dt.timedelta(days=lateness)
                if archived or (roll < 0.78 and pay_day <= today):
                    pay_day = min(pay_day, today)
                    amount = inv.total_c
                    if rng.random() < 0.04 and not archived:
                        amount += rng.randint(10_00, 250_00)  # overpaid: leaves an overpayment
                    _, over = ledger.pay(
                        tenant,
                        inv,
                        amount,
                        pay_day,
                        pid=det_uuid(rng),
                        reference=f"Payment {inv.number}",
                        updated_ms=stamp(pay_day),
                    )
                    counts["payments"] += 1
                    if over is not None:
                        counts["overpayments"] += 1
                    last_activity = max(last_activity, pay_day)
                elif roll < 0.88 and issued < today:
                    part_day = min(today, issued + dt.timedelta(days=rng.randint(5, 40)))
                    ledger.pay(
                        tenant,
                        inv,
                        inv.total_c // rng.choice((2, 3, 4)),
                        part_day,
                        pid=det_uuid(rng),
                        reference=f"Part payment {inv.number}",
                        updated_ms=stamp(part_day),
                    )
                    counts["payments"] += 1
                    open_invoices.append(inv)
                else:
                    open_invoices.append(inv)
                # some invoices are settled by a credit note (fully applied)
                if inv.status == "AUTHORISED" and rng.random() < 0.05:
                    cn = ledger.add_credit(
                        tenant,
                        "creditnote",
                        contact.id,
                        issued + dt.timedelta(days=3),
                        inv.due_c,
                        crid=det_uuid(rng),
                        reference=f"Credit for {inv.number}",
                        updated_ms=stamp(issued),
                    )
                    ledger.allocate(tenant, cn, inv, cn.total_c, cn.date, updated_ms=cn.updated_ms)
                    counts["credit_notes"] += 1
                    if inv in open_invoices:
                        open_invoices.remove(inv)
            if i in unapplied_target and not archived:
                kind = rng.choice(("creditnote", "creditnote", "overpayment", "prepayment"))
                when = today - dt.timedelta(days=rng.randint(1, 120))
                amount = rng.randint(25_00, 1_500_00)
                cr = ledger.add_credit(
                    tenant,
                    kind,
                    contact.id,
                    when,
                    amount,
                    crid=det_uuid(rng),
                    reference="Unapplied credit",
                    updated_ms=stamp(when),
                )
                counts[
                    {"creditnote": "credit_notes", "overpayment": "overpayments", "prepayment": "prepayments"}[kind]
                ] += 1
                counts["contacts_with_unapplied_credit"] += 1
                if open_invoices and rng.random() < 0.4:
                    target = open_invoices[0]
                    part = min(cr.remaining_c // 2, target.due_c)
                    if part > 0:
                        ledger.allocate(
                            tenant, cr, target, part, max(when, target.date), updated_ms=stamp(max(when, target.date))
                        )
            if rng.random() < 0.5:
                # a later profile edit moves the contact's UpdatedDateUTC
                contact.updated_ms = stamp(min(today, last_activity + dt.timedelta(days=rng.randint(0, 30))))
        tenant.touch()
        return {"company_id": tenant.tenant_id, "counts": dict(counts), "clash_name": clash_name}


# --------------------------------------------------------------------------------------------------------------
# request pipeline
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Ctx:
    template: str
    tenant: Tenant | None = None
    grant: Grant | None = None
    fault: str | None = None


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json_bytes(body), status=status, content_type=JSON_CT)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _error_response(err: ApiError) -> Response:
    if err.text is not None:
        resp = Response(err.text, status=err.status, content_type="text/plain; charset=utf-8")
    elif err.body is None:
        resp = Response(b"", status=err.status)
    else:
        resp = _json_response(err.status, err.body)
    for k, v in err.headers.items():
        resp.headers[k] = v
    return resp


_REDACT = {"code", "refresh_token", "access_token", "client_secret", "token", "id_token"}


def _safe_query() -> str:
    pairs = [(k, "***" if k.lower() in _REDACT else v) for k, v in request.args.items(multi=True)]
    return urlencode(pairs)


class XeroEmulator:
    """Flask wiring: the request pipeline (auth → tenant → rate limits → faults → handler) and all routes."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.state = XeroState(config)
        self.wire = Wire(self.state)
        self.ledger = Ledger(self.state)
        self.seeder = Seeder(self.state, self.ledger)

    # ---- logging --------------------------------------------------------------------------------------------
    def _log(self, ctx: Ctx, status: int) -> None:
        st = self.state
        with st.lock:
            key = f"{request.method} {ctx.template}"
            st.by_endpoint[key] += 1
            st.log_entries.append(
                {
                    "ts": st.clock.now().isoformat().replace("+00:00", "Z"),
                    "method": request.method,
                    "path": request.path,
                    "query": _safe_query(),
                    "status": status,
                    "idempotency_key": request.headers.get("Idempotency-Key"),
                    "company_id": ctx.tenant.tenant_id if ctx.tenant else request.headers.get("xero-tenant-id"),
                    "fault": ctx.fault,
                }
            )
            if len(st.log_entries) > 200_000:
                del st.log_entries[:50_000]

    # ---- faults ---------------------------------------------------------------------------------------------
    def _matching_faults(self) -> list[FaultRule]:
        st = self.state
        hits: list[FaultRule] = []
        with st.lock:
            for rule in st.faults:
                if rule.matches(request.method, request.path):
                    rule.applied += 1
                    hits.append(rule)
        return hits

    @staticmethod
    def _drop_connection() -> None:
        """Close the TCP connection without writing a response (the ambiguous-outcome case)."""
        sock = request.environ.get("werkzeug.socket")
        if sock is None:
            raise RuntimeError("drop faults need the werkzeug development server (environ['werkzeug.socket'])")
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def _dropped(self, ctx: Ctx, action: str) -> Response:
        ctx.fault = action
        self._drop_connection()
        self._log(ctx, 0)
        # werkzeug's write then fails with a ConnectionError, which it treats as a dropped client
        return Response(b"", status=500)

    def _apply_pre_faults(self, ctx: Ctx, faults: list[FaultRule]) -> Response | None:
        for rule in faults:
            if rule.action == "latency" and rule.latency_ms > 0:
                time.sleep(rule.latency_ms / 1000)
        for rule in faults:
            if rule.action == "status":
                ctx.fault = "status"
                body = problem(rule.status, "Injected fault", f"Emulator fault rule returned {rule.status}")
                return _json_response(rule.status, body)
            if rule.action == "rate_limit":
                ctx.fault = "rate_limit"
                resp = Response(b"", status=429)
                resp.headers["Retry-After"] = str(rule.retry_after)
                resp.headers["X-Rate-Limit-Problem"] = rule.problem
                return resp
            if rule.action == "revoke":
                ctx.fault = "revoke"
                with self.state.lock:
                    if ctx.tenant is not None:
                        self.state.revoke_company(ctx.tenant.tenant_id)
                    elif ctx.grant is not None:
                        ctx.grant.revoked = True
                return _json_response(401, problem(401, "Unauthorized", "AuthenticationUnsuccessful"))
            if rule.action == "drop_before_commit":
                return self._dropped(ctx, "drop_before_commit")
        return None

    # ---- auth & rate limits ---------------------------------------------------------------------------------
    def _bearer_grant(self) -> Grant:
        st = self.state
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        at = st.access_tokens.get(token) if token else None
        grant = st.grants.get(at.grant_id) if at else None
        if at is None or grant is None or grant.revoked:
            raise ApiError(401, problem(401, "Unauthorized", "AuthenticationUnsuccessful"))
        if st.clock.time() >= at.expires_at:
            stamp = dt.datetime.fromtimestamp(at.expires_at, tz=dt.UTC).strftime("%m/%d/%Y %H:%M:%S")
            raise ApiError(401, problem(401, "Unauthorized", f"TokenExpired: token expired at {stamp}"))
        return grant

    def _resolve_tenant(self, grant: Grant) -> Tenant:
        st = self.state
        tid = (request.headers.get("xero-tenant-id") or "").strip()
        tenant = st.tenants.get(tid) if tid else None
        conn = st.find_connection(grant.client_id, tid) if tenant else None
        if tenant is None or conn is None or tid not in grant.tenant_ids:
            # UNCONFIRMED body; this is the shape observed for tenant mismatches (xero-node#432)
            raise ApiError(403, problem(403, "Forbidden", "AuthenticationUnsuccessful"))
        return tenant

    def _rate_headers(self, tenant: Tenant | None) -> dict[str, str]:
        st = self.state
        now = st.clock.time()
        limits = st.limits
        with st.lock:
            while st.app_minute and st.app_minute[0] <= now - 60:
                st.app_minute.popleft()
            app_left = max(0, limits["app_per_minute"] - len(st.app_minute))
            if tenant is None:
                return {
                    "X-DayLimit-Remaining": str(limits["per_day"]),
                    "X-MinLimit-Remaining": str(limits["per_minute"]),
                    "X-AppMinLimit-Remaining": str(app_left),
                }
            rate = tenant.rate
            while rate.minute and rate.minute[0] <= now - 60:
                rate.minute.popleft()
            day_key = dt.datetime.fromtimestamp(now, tz=dt.UTC).date().isoformat()
            day_used = rate.day_count if rate.day_key == day_key else 0
            return {
                "X-DayLimit-Remaining": str(max(0, limits["per_day"] - day_used)),
                "X-MinLimit-Remaining": str(max(0, limits["per_minute"] - len(rate.minute))),
                "X-AppMinLimit-Remaining": str(app_left),
            }

    def _acquire(self, tenant: Tenant) -> None:
        """Count the call against the tenant's limits or raise a 429 (rejected calls are not counted)."""
        st = self.state
        now = st.clock.time()
        limits = st.limits
        with st.lock:
            rate = tenant.rate
            now_dt = dt.datetime.fromtimestamp(now, tz=dt.UTC)
            day_key = now_dt.date().isoformat()
            if rate.day_key != day_key:
                rate.day_key, rate.day_count = day_key, 0
            while rate.minute and rate.minute[0] <= now - 60:
                rate.minute.popleft()
            while st.app_minute and st.app_minute[0] <= now - 60:
                st.app_minute.popleft()
            problem_kind: str | None = None
            retry_after = 1
            if rate.day_count >= limits["per_day"]:
                problem_kind = "day"
                midnight = dt.datetime.combine(now_dt.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
                retry_after = max(1, math.ceil(midnight.timestamp() - now))
            elif len(rate.minute) >= limits["per_minute"]:
                problem_kind = "minute"
                retry_after = max(1, math.ceil(rate.minute[0] + 60 - now))
            elif len(st.app_minute) >= limits["app_per_minute"]:
                problem_kind = "appminute"  # UNCONFIRMED value
                retry_after = max(1, math.ceil(st.app_minute[0] + 60 - now))
            elif rate.in_flight >= limits["concurrent"]:
                problem_kind = "concurrent"  # UNCONFIRMED value
                retry_after = 1
            if problem_kind is not None:
                raise ApiError(
                    429, None, headers={"Retry-After": str(retry_after), "X-Rate-Limit-Problem": problem_kind}
                )
            rate.day_count += 1
            rate.minute.append(now)
            st.app_minute.append(now)
            rate.in_flight += 1

    def _release(self, tenant: Tenant) -> None:
        with self.state.lock:
            tenant.rate.in_flight = max(0, tenant.rate.in_flight - 1)

    # ---- the API pipeline -----------------------------------------------------------------------------------
    def run_api(self, template: str, scopes: tuple[str, ...], handler: Callable[[Ctx], Response]) -> Response:
        ctx = Ctx(template=template)
        acquired = False
        resp: Response
        try:
            try:
                with self.state.lock:
                    ctx.grant = self._bearer_grant()
                    ctx.tenant = self._resolve_tenant(ctx.grant)
                    if scopes and not set(scopes) & set(ctx.grant.scopes):
                        raise ApiError(401, problem(401, "Unauthorized", "AuthorizationUnsuccessful"))
                self._acquire(ctx.tenant)
                acquired = True
                faults = self._matching_faults()
                early = self._apply_pre_faults(ctx, faults)
                if early is not None:
                    if ctx.fault in {"drop_before_commit"}:
                        return early
                    resp = early
                else:
                    if self.config.require_json_accept and "application/json" not in request.headers.get("Accept", ""):
                        raise ApiError(
                            406,
                            None,
                            text="The emulator only serves JSON; send 'Accept: application/json' "
                            "(real Xero answers XML without it).",
                        )
                    resp = self._idempotent(ctx, handler)
                    if any(r.action == "drop_after_commit" for r in faults):
                        return self._dropped(ctx, "drop_after_commit")
            except ApiError as err:
                resp = _error_response(err)
            for k, v in self._rate_headers(ctx.tenant).items():
                resp.headers[k] = v
            resp.headers["Xero-Correlation-Id"] = str(uuid.uuid4())
            self._log(ctx, resp.status_code)
            return resp
        finally:
            if acquired and ctx.tenant is not None:
                self._release(ctx.tenant)

    def _idempotent(self, ctx: Ctx, handler: Callable[[Ctx], Response]) -> Response:
        key = request.headers.get("Idempotency-Key")
        if request.method not in {"PUT", "POST"} or not key:
            with self.state.lock:
                return handler(ctx)
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise ApiError(
                400,
                {
                    "ErrorNumber": 10,
                    "Type": "ValidationException",
                    "Message": f"Idempotency-Key must be {IDEMPOTENCY_KEY_MAX} characters or fewer",
                    "Elements": [],
                },
            )
        assert ctx.tenant is not None
        tenant = ctx.tenant
        with self.state.lock:
            now = self.state.clock.time()
            stored = tenant.idempotency.get(key)
            if stored is not None and now - stored[0] <= self.config.idempotency_ttl:
                ctx.fault = "idempotent_replay"
                return Response(stored[2], status=stored[1], content_type=JSON_CT)
            resp = handler(ctx)
            if resp.status_code in {200, 400}:
                tenant.idempotency[key] = (now, resp.status_code, resp.get_data())
            return resp

    def run_identity(self, template: str, handler: Callable[[Ctx], Response]) -> Response:
        """Identity endpoints: faults and logging, no tenant or rate limits."""
        ctx = Ctx(template=template)
        try:
            faults = self._matching_faults()
            early = self._apply_pre_faults(ctx, faults)
            if early is not None:
                if ctx.fault == "drop_before_commit":
                    return early
                resp = early
            else:
                with self.state.lock:
                    resp = handler(ctx)
                if any(r.action == "drop_after_commit" for r in faults):
                    return self._dropped(ctx, "drop_after_commit")
        except ApiError as err:
            resp = _error_response(err)
        self._log(ctx, resp.status_code)
        return resp

    # ---- envelope -------------------------------------------------------------------------------------------
    def envelope(
        self, key: str, items: list[dict[str, Any]], pagination: dict[str, int] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": self.config.provider_name,
            "DateTimeUTC": f"/Date({self.state.clock.ms()})/",
        }
        if pagination is not None:
            body["pagination"] = pagination
        body[key] = items
        return body

    # ---- list machinery -------------------------------------------------------------------------------------
    def _page_args(self) -> tuple[bool, int, int]:
        page = parse_int(request.args.get("page"))
        size = parse_int(request.args.get("pageSize"))
        paged = page is not None or size is not None
        page = max(1, page or 1)
        size = 100 if size is None or size <= 0 else min(size, 1000)
        return paged, page, size

    def _ims_ms(self) -> int | None:
        when = parse_instant(request.headers.get("If-Modified-Since"))
        return None if when is None else int(when.timestamp()) * 1000

    def _where(self) -> Callable[[Callable[[str], Any]], bool] | None:
        text = request.args.get("where")
        if not text:
            return None
        try:
            return compile_where(text)
        except WhereSyntaxError as exc:
            raise ApiError(400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}) from exc

    @staticmethod
    def _order(
        default_key: Callable[[Any], Any], fields: dict[str, Callable[[Any], Any]]
    ) -> tuple[Callable[[Any], Any], bool]:
        text = (request.args.get("order") or "").strip()
        if not text:
            return default_key, False
        parts = text.split()
        keyf = fields.get(parts[0].lower())
        if keyf is None:
            raise ApiError(
                400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": f"cannot order by {parts[0]}"}
            )
        desc = len(parts) > 1 and parts[1].upper() == "DESC"
        return keyf, desc

    def _listing(
        self,
        tenant: Tenant,
        kind: str,
        source: Callable[[], Iterable[Any]],
        filters: list[Callable[[Any], bool]],
        resolver: Callable[[Any], Callable[[str], Any]],
        order_fields: dict[str, Callable[[Any], Any]],
        extra_key: tuple[Any, ...],
    ) -> tuple[list[Any], bool, dict[str, int] | None]:
        paged, page, size = self._page_args()
        ims = self._ims_ms()
        where = self._where()
        keyf, desc = self._order(lambda r: r.seq, order_fields)
        cache_key = (kind, ims, request.args.get("where"), request.args.get("order"), *extra_key)

        def compute() -> list[Any]:
            out = []
            for rec in source():
                if ims is not None and rec.updated_ms // 1000 * 1000 < ims:
                    continue
                if not all(f(rec) for f in filters):
                    continue
                if where is not None and not where(resolver(rec)):
                    continue
                out.append(rec)
            if request.args.get("order"):
                out.sort(key=lambda r: (keyf(r) is None, keyf(r) or ""), reverse=desc)
            return out

        items = tenant.cached_view(cache_key, compute)
        if not paged:
            return items, False, None
        total = len(items)
        start = (page - 1) * size
        pagination = {
            "page": page,
            "pageSize": size,
            "pageCount": math.ceil(total / size) if total else 0,
            "itemCount": total,
        }
        return items[start : start + size], True, pagination

    # ---- resolvers for where ---------------------------------------------------------------------------------
    def _contact_resolver(self, tenant: Tenant) -> Callable[[ContactRec], Callable[[str], Any]]:
        def make(rec: ContactRec) -> Callable[[str], Any]:
            def resolve(path: str) -> Any:
                if path == "ContactID":
                    return rec.id
                if path == "UpdatedDateUTC":
                    return dt.datetime.fromtimestamp(rec.updated_ms / 1000, tz=dt.UTC)
                if path == "IsCustomer":
                    return bool(tenant.inv_by_contact.get(rec.id))
                if path == "IsSupplier":
                    return False
                value: Any = rec.data
                for part in path.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                return value

            return resolve

        return make

    def _doc_resolver(
        self, tenant: Tenant, serialise: Callable[[Any], dict[str, Any]]
    ) -> Callable[[Any], Callable[[str], Any]]:
        def make(rec: Any) -> Callable[[str], Any]:
            cache: dict[str, Any] = {}

            def resolve(path: str) -> Any:
                if "wire" not in cache:
                    cache["wire"] = serialise(rec)
                value: Any = cache["wire"]
                for part in path.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if isinstance(value, str):
                    m = _MS_DATE_RE.fullmatch(value)
                    if m:
                        return dt.datetime.fromtimestamp(int(m.group(1)) / 1000, tz=dt.UTC)
                return value

            return resolve

        return make

    # ---- Contacts -------------------------------------------------------------------------------------------
    def get_contacts(self, ctx: Ctx) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        include_archived = parse_bool(request.args.get("includeArchived"))
        summary = parse_bool(request.args.get("summaryOnly"))
        search = (request.args.get("searchTerm") or "").strip().lower()
        ids = {s.strip().lower() for s in (request.args.get("IDs") or "").split(",") if s.strip()}
        filters: list[Callable[[ContactRec], bool]] = []
        if not include_archived:
            filters.append(lambda r: r.active)
        if ids:
            filters.append(lambda r: r.id in ids)
        if search:

            def match(r: ContactRec) -> bool:
                d = r.data
                return any(
                    search in str(d.get(k) or "").lower()
                    for k in ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
                )

            filters.append(match)
        order_fields = {
            "name": lambda r: r.name.lower(),
            "updateddateutc": lambda r: r.updated_ms,
            "contactnumber": lambda r: r.data.get("ContactNumber") or "",
            "emailaddress": lambda r: (r.data.get("EmailAddress") or "").lower(),
        }
        items, paged, pagination = self._listing(
            tenant,
            "Contact",
            lambda: tenant.contacts.values(),
            filters,
            self._contact_resolver(tenant),
            order_fields,
            (include_archived, search, tuple(sorted(ids))),
        )
        body = [self.wire.contact(tenant, r, balances=paged and not summary, summary=summary) for r in items]
        return _json_response(200, self.envelope("Contacts", body, pagination))

    def get_contact(self, ctx: Ctx, contact_id: str) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        rec = tenant.contacts.get(contact_id.lower())
        if rec is None:
            rec = next((c for c in tenant.contacts.values() if c.data.get("ContactNumber") == contact_id), None)
        if rec is None:
            raise ApiError(404, text=NOT_FOUND_TEXT)
        return _json_response(200, self.envelope("Contacts", [self.wire.contact(tenant, rec, balances=True)]))

    def _request_json(self) -> Any:
        raw = request.get_data(cache=True)
        try:
            return json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(
                400,
                {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": f"Invalid JSON data: {exc}"},
            ) from exc

    def _elements(self, key: str, id_field: str) -> list[dict[str, Any]]:
        body = self._request_json()
        if isinstance(body, dict) and isinstance(body.get(key), list):
            elements = body[key]
        elif isinstance(body, dict) and body and key not in body:
            elements = [body]
        else:
            raise ApiError(
                400,
                {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": f'Expected {{"{key}": [...]}}'},
            )
        if not all(isinstance(e, dict) for e in elements):
            raise ApiError(
                400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": f"{key} items must be objects"}
            )
        return elements

    def _length_errors(self, elem: dict[str, Any]) -> list[str]:
        if not self.config.enforce_max_lengths:
            return []
        errors: list[str] = []
        for fname, limit in CONTACT_LIMITS.items():
            value = elem.get(fname)
            if isinstance(value, str) and len(value) > limit:
                errors.append(TOO_LONG_MSG.format(field=fname, max=limit))
        for addr in elem.get("Addresses") or []:
            if isinstance(addr, dict):
                for fname, limit in ADDRESS_LIMITS.items():
                    value = addr.get(fname)
                    if isinstance(value, str) and len(value) > limit:
                        errors.append(TOO_LONG_MSG.format(field=fname, max=limit))
        for phone in elem.get("Phones") or []:
            if isinstance(phone, dict):
                for fname, limit in PHONE_LIMITS.items():
                    value = phone.get(fname)
                    if isinstance(value, str) and len(value) > limit:
                        errors.append(TOO_LONG_MSG.format(field=fname, max=limit))
        return errors

    def _validate_contact(
        self,
        tenant: Tenant,
        elem: dict[str, Any],
        target: ContactRec | None,
        staged: dict[str, str],
        marker: str = "",
    ) -> tuple[list[str], str | None]:
        """Return (messages, uniqueness key to stage). Order of checks: name presence, characters, lengths, unique."""
        errors: list[str] = []
        raw_name = elem.get("Name")
        name = raw_name if isinstance(raw_name, str) else None
        if (target is None and (name is None or not name.strip())) or (
            "Name" in elem and (name is None or not name.strip())
        ):
            errors.append(EMPTY_NAME_MSG)
        if name and ("<" in name or ">" in name):
            errors.append(INVALID_CHARS_MSG)
        errors.extend(self._length_errors(elem))
        status = elem.get("ContactStatus")
        if status is not None and status not in {"ACTIVE", "ARCHIVED", "GDPRREQUEST"}:
            errors.append(f"ContactStatus '{status}' is not valid.")
        effective_name = name.strip() if name and name.strip() else (target.name if target else "")
        effective_status = status or (target.data.get("ContactStatus", "ACTIVE") if target else "ACTIVE")
        stage_key: str | None = None
        if effective_name and effective_status == "ACTIVE":
            key = name_key(effective_name)
            owner = tenant.active_names.get(key)
            staged_owner = staged.get(key)
            self_id = target.id if target else None
            if (owner is not None and owner != self_id) or (staged_owner is not None and staged_owner != marker):
                errors.append(DUPLICATE_NAME_MSG.format(name=name if name else effective_name))
            else:
                stage_key = key
        return errors, stage_key

    @staticmethod
    def _echo(elem: dict[str, Any], target: ContactRec | None, errors: list[str]) -> dict[str, Any]:
        """The submitted element with ValidationErrors attached, in the shape of the spec's 400 example."""
        out: dict[str, Any] = {"ContactID": target.id if target else ZERO_GUID}
        for k, v in elem.items():
            if k in {"ContactID", "ValidationErrors", "HasValidationErrors"}:
                continue
            value = copy.deepcopy(v)
            if k in {"Addresses", "Phones"} and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        item.setdefault("ValidationErrors", [])
            if k == "PaymentTerms" and isinstance(value, dict):
                for term in value.values():
                    if isinstance(term, dict):
                        term.setdefault("ValidationErrors", [])
            out[k] = value
        out.setdefault("ContactGroups", [])
        out.setdefault("ContactPersons", [])
        out["HasValidationErrors"] = True
        out["ValidationErrors"] = [{"Message": m} for m in errors]
        return out

    def _apply_contact(self, tenant: Tenant, elem: dict[str, Any], target: ContactRec | None) -> ContactRec:
        fields = {k: copy.deepcopy(v) for k, v in elem.items() if k not in CONTACT_READ_ONLY}
        if isinstance(fields.get("Name"), str):
            fields["Name"] = fields["Name"].strip()
        now_ms = self.state.clock.ms()
        if target is None:
            data: dict[str, Any] = {"ContactStatus": "ACTIVE"}
            data.update(fields)
            data["Addresses"] = _normalise_addresses(fields.get("Addresses"))
            data["Phones"] = _normalise_phones(fields.get("Phones"))
            data.setdefault("BankAccountDetails", "")
            rec = self.ledger.add_contact(tenant, data, updated_ms=now_ms)
            self.state.emit(tenant, "CONTACT", "Contacts", rec.id, "CREATE")
            return rec
        old_name, old_active = target.name, target.active
        for k, v in fields.items():
            if k == "Addresses":
                target.data["Addresses"] = _normalise_addresses([*target.data.get("Addresses", []), *(v or [])])
            elif k == "Phones":
                target.data["Phones"] = _normalise_phones([*target.data.get("Phones", []), *(v or [])])
            else:
                target.data[k] = v
        target.updated_ms = max(now_ms, target.updated_ms + 1)
        self.ledger.reindex_contact(tenant, target, old_name, old_active)
        self.state.emit(tenant, "CONTACT", "Contacts", target.id, "UPDATE")
        return target

    def write_contacts(self, ctx: Ctx, contact_id: str | None = None) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        if contact_id is not None and contact_id.lower() not in tenant.contacts:
            raise ApiError(404, text=NOT_FOUND_TEXT)
        elements = self._elements("Contacts", "ContactID")
        summarize = parse_bool(request.args.get("summarizeErrors"), default=True)
        staged: dict[str, str] = {}
        plan: list[tuple[dict[str, Any], ContactRec | None, list[str]]] = []
        for index, elem in enumerate(elements):
            cid = contact_id or elem.get("ContactID")
            target = tenant.contacts.get(str(cid).lower()) if cid else None
            if cid and target is None:
                plan.append((elem, None, [f"Contact with ContactID {cid} could not be found."]))
                continue
            marker = target.id if target else f"new:{index}"
            errors, key = self._validate_contact(tenant, elem, target, staged, marker)
            if not errors and key is not None:
                staged[key] = marker
            plan.append((elem, target, errors))
        if summarize and any(errors for _, _, errors in plan):
            elements_out = [self._echo(e, t, errs) for e, t, errs in plan if errs]
            return _json_response(
                400,
                {
                    "ErrorNumber": 10,
                    "Type": "ValidationException",
                    "Message": "A validation exception occurred",
                    "Elements": elements_out,
                },
            )
        out: list[dict[str, Any]] = []
        for elem, target, errors in plan:
            if errors:
                out.append(self._echo(elem, target, errors))
                continue
            # re-check uniqueness against what earlier elements of this batch committed
            errors, _ = self._validate_contact(tenant, elem, target, {})
            if errors:
                out.append(self._echo(elem, target, errors))
                continue
            rec = self._apply_contact(tenant, elem, target)
            out.append(self.wire.contact(tenant, rec, balances=False))
        return _json_response(200, self.envelope("Contacts", out))

    # ---- AR documents ---------------------------------------------------------------------------------------
    def _csv_set(self, name: str, lower: bool = True) -> set[str]:
        raw = request.args.get(name) or ""
        return {(s.strip().lower() if lower else s.strip()) for s in raw.split(",") if s.strip()}

    def get_invoices(self, ctx: Ctx) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        statuses = {s.upper() for s in self._csv_set("Statuses", lower=False)}
        ids = self._csv_set("IDs")
        contact_ids = self._csv_set("ContactIDs")
        numbers = self._csv_set("InvoiceNumbers", lower=False)
        search = (request.args.get("searchTerm") or "").strip().lower()
        filters: list[Callable[[InvoiceRec], bool]] = []
        if statuses:
            filters.append(lambda r: r.status in statuses)
        if ids:
            filters.append(lambda r: r.id in ids)
        if contact_ids:
            filters.append(lambda r: r.contact_id in contact_ids)
        if numbers:
            filters.append(lambda r: r.number in numbers)
        if search:
            filters.append(lambda r: search in r.number.lower() or search in r.reference.lower())
        order_fields = {
            "date": lambda r: r.date,
            "duedate": lambda r: r.due,
            "invoicenumber": lambda r: r.number,
            "updateddateutc": lambda r: r.updated_ms,
            "total": lambda r: r.total_c,
        }
        summary = parse_bool(request.args.get("summaryOnly"))
        items, paged, pagination = self._listing(
            tenant,
            "Invoice",
            lambda: tenant.invoices.values(),
            filters,
            self._doc_resolver(tenant, lambda r: self.wire.invoice(tenant, r, lines=False)),
            order_fields,
            (tuple(sorted(statuses)), tuple(sorted(ids)), tuple(sorted(contact_ids)), tuple(sorted(numbers)), search),
        )
        body = [self.wire.invoice(tenant, r, lines=paged and not summary) for r in items]
        return _json_response(200, self.envelope("Invoices", body, pagination))

    def get_invoice(self, ctx: Ctx, invoice_id: str) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        inv = tenant.invoices.get(invoice_id.lower())
        if inv is None and invoice_id in tenant.invoice_numbers:
            inv = tenant.invoices[tenant.invoice_numbers[invoice_id]]
        if inv is None:
            raise ApiError(404, text=NOT_FOUND_TEXT)
        return _json_response(200, self.envelope("Invoices", [self.wire.invoice(tenant, inv, lines=True)]))

    def get_payments(self, ctx: Ctx) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        items, _, pagination = self._listing(
            tenant,
            "Payment",
            lambda: tenant.payments.values(),
            [],
            self._doc_resolver(tenant, lambda r: self.wire.payment(tenant, r)),
            {"date": lambda r: r.date, "updateddateutc": lambda r: r.updated_ms, "amount": lambda r: r.amount_c},
            (),
        )
        return _json_response(200, self.envelope("Payments", [self.wire.payment(tenant, r) for r in items], pagination))

    def get_payment(self, ctx: Ctx, payment_id: str) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        p = tenant.payments.get(payment_id.lower())
        if p is None:
            raise ApiError(404, text=NOT_FOUND_TEXT)
        return _json_response(200, self.envelope("Payments", [self.wire.payment(tenant, p)]))

    def get_credits(self, ctx: Ctx, kind: str, key: str) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        items, paged, pagination = self._listing(
            tenant,
            key,
            lambda: (c for c in tenant.credits.values() if c.kind == kind),
            [],
            self._doc_resolver(tenant, lambda r: self.wire.credit(tenant, r, lines=False)),
            {"date": lambda r: r.date, "updateddateutc": lambda r: r.updated_ms, "total": lambda r: r.total_c},
            (),
        )
        body = [self.wire.credit(tenant, r, lines=paged) for r in items]
        return _json_response(200, self.envelope(key, body, pagination))

    def get_credit(self, ctx: Ctx, kind: str, key: str, credit_id: str) -> Response:
        tenant = ctx.tenant
        assert tenant is not None
        cr = tenant.credits.get(credit_id.lower())
        if cr is None or cr.kind != kind:
            raise ApiError(404, text=NOT_FOUND_TEXT)
        return _json_response(200, self.envelope(key, [self.wire.credit(tenant, cr, lines=True)]))

    # ---- identity -------------------------------------------------------------------------------------------
    def authorize(self, ctx: Ctx) -> Response:
        st = self.state
        args = request.args
        client = st.clients.get(args.get("client_id", ""))
        redirect_uri = args.get("redirect_uri", "")
        if client is None:
            raise ApiError(400, text="Invalid client_id")  # Xero shows an error page, never redirects
        if not redirect_uri or not client.redirect_ok(redirect_uri):
            raise ApiError(400, text="Invalid redirect_uri")
        state_param = args.get("state")

        def back(params: dict[str, str]) -> Response:
            if state_param is not None:
                params["state"] = state_param
            sep = "&" if urlparse(redirect_uri).query else "?"
            resp = Response(b"", status=302)
            resp.headers["Location"] = f"{redirect_uri}{sep}{urlencode(params)}"
            return resp

        if args.get("response_type") != "code":
            return back({"error": "unsupported_response_type"})
        scopes = (args.get("scope") or "").split()
        if not scopes:
            return back({"error": "invalid_scope"})
        wanted = [c.strip() for c in (args.get("company") or "").split(",") if c.strip()]
        tenant_ids: list[str] = []
        for w in wanted:
            if w in st.tenants:
                tenant_ids.append(w)
            else:
                match = next((t for t in st.tenants.values() if t.name == w), None)
                if match is None:
                    return back({"error": "access_denied", "error_description": f"unknown company {w}"})
                tenant_ids.append(match.tenant_id)
        if not tenant_ids:
            if not st.tenants:
                st.create_tenant("Demo Company (US)")
            tenant_ids = [min(st.tenants.values(), key=lambda t: t.created).tenant_id]
        grant = st.new_grant(client.client_id, scopes, tenant_ids)
        code = secrets.token_urlsafe(32)
        st.auth_codes[code] = (grant.grant_id, redirect_uri, st.clock.time() + self.config.auth_code_ttl)
        return back({"code": code, "scope": " ".join(scopes)})

    def _client_auth(self) -> OAuthClient:
        st = self.state
        cid = secret = None
        if request.authorization is not None and request.authorization.type == "basic":
            cid, secret = request.authorization.username, request.authorization.password
        if not cid:
            cid, secret = request.form.get("client_id"), request.form.get("client_secret")
        client = st.clients.get(cid or "")
        if client is None or not hmac.compare_digest(client.client_secret, secret or ""):
            raise ApiError(400, {"error": "invalid_client"})
        return client

    def token(self, ctx: Ctx) -> Response:
        st = self.state
        client = self._client_auth()
        grant_type = request.form.get("grant_type")
        now = st.clock.time()
        invalid = ApiError(400, {"error": "invalid_grant"})
        if grant_type == "authorization_code":
            entry = st.auth_codes.pop(request.form.get("code", ""), None)
            if entry is None or entry[2] < now or entry[1] != request.form.get("redirect_uri"):
                raise invalid
            grant = st.grants[entry[0]]
            if grant.client_id != client.client_id or grant.revoked:
                raise invalid
            return self._token_response(st.issue_tokens(grant))
        if grant_type == "refresh_token":
            rt = st.refresh_tokens.get(request.form.get("refresh_token", ""))
            owner = st.grants.get(rt.grant_id) if rt else None
            if rt is None or owner is None or owner.revoked or owner.client_id != client.client_id:
                raise invalid
            if rt.rotated_at is None:
                if now - rt.issued_at > self.config.refresh_token_idle_ttl:
                    raise invalid
                tokens = st.issue_tokens(owner)
                rt.rotated_at, rt.successor = now, tokens
                return self._token_response(tokens)
            if now - rt.rotated_at <= self.config.refresh_grace_seconds and rt.successor is not None:
                return self._token_response(rt.successor)  # lost-response retry: the same new token set
            raise invalid
        raise ApiError(400, {"error": "unsupported_grant_type"})

    @staticmethod
    def _token_response(tokens: dict[str, Any]) -> Response:
        return _json_response(200, tokens, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def revocation(self, ctx: Ctx) -> Response:
        st = self.state
        client = self._client_auth()
        token = request.form.get("token", "")
        rt = st.refresh_tokens.get(token)
        grant = st.grants.get(rt.grant_id) if rt else None
        if grant is not None and grant.client_id == client.client_id:
            grant.revoked = True
            for conn in list(st.connections.values()):
                if conn.auth_event_id == grant.auth_event_id and conn.client_id == client.client_id:
                    del st.connections[conn.id]
        return Response(b"", status=200)

    def _conn_wire(self, conn: Connection) -> dict[str, Any]:
        tenant = self.state.tenants.get(conn.tenant_id)

        def iso(ts: float) -> str:
            return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-1]

        return {
            "id": conn.id,
            "authEventId": conn.auth_event_id,
            "tenantId": conn.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": tenant.name if tenant else None,
            "createdDateUtc": iso(conn.created),
            "updatedDateUtc": iso(conn.updated),
        }

    def connections(self, ctx: Ctx) -> Response:
        grant = self._bearer_grant()
        ctx.grant = grant
        event = request.args.get("authEventId")
        conns = [
            self._conn_wire(c)
            for c in self.state.connections.values()
            if c.client_id == grant.client_id and c.user_id == grant.user_id and (not event or c.auth_event_id == event)
        ]
        return _json_response(200, conns)

    def delete_connection(self, ctx: Ctx, connection_id: str) -> Response:
        grant = self._bearer_grant()
        conn = self.state.connections.get(connection_id)
        if conn is None or conn.client_id != grant.client_id:
            raise ApiError(404, text=NOT_FOUND_TEXT)
        del self.state.connections[connection_id]
        return Response(b"", status=204)


# --------------------------------------------------------------------------------------------------------------
# app factory, admin surface
# --------------------------------------------------------------------------------------------------------------
def _admin_json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _register_api(app: Flask, emu: XeroEmulator) -> None:
    def api_route(
        rule: str,
        template: str,
        methods: list[str],
        scopes: tuple[str, ...],
        write_scopes: tuple[str, ...] | None = None,
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        def deco(fn: Callable[..., Response]) -> Callable[..., Response]:
            @functools.wraps(fn)
            def view(**kwargs: Any) -> Response:
                needed = write_scopes if (write_scopes and request.method != "GET") else scopes
                return emu.run_api(template, needed, lambda ctx: fn(ctx, **kwargs))

            app.add_url_rule(rule, endpoint=f"api_{fn.__name__}", view_func=view, methods=methods)
            return fn

        return deco

    @api_route(f"{API}/Contacts", f"{API}/Contacts", ["GET", "PUT", "POST"], SCOPES_CONTACTS, SCOPES_CONTACTS_WRITE)
    def contacts(ctx: Ctx) -> Response:
        if request.method == "GET":
            return emu.get_contacts(ctx)
        return emu.write_contacts(ctx)

    @api_route(
        f"{API}/Contacts/<contact_id>",
        f"{API}/Contacts/{{ContactID}}",
        ["GET", "POST"],
        SCOPES_CONTACTS,
        SCOPES_CONTACTS_WRITE,
    )
    def contact(ctx: Ctx, contact_id: str) -> Response:
        if request.method == "GET":
            return emu.get_contact(ctx, contact_id)
        return emu.write_contacts(ctx, contact_id)

    @api_route(f"{API}/Invoices", f"{API}/Invoices", ["GET"], SCOPES_TX)
    def invoices(ctx: Ctx) -> Response:
        return emu.get_invoices(ctx)

    @api_route(f"{API}/Invoices/<invoice_id>", f"{API}/Invoices/{{InvoiceID}}", ["GET"], SCOPES_TX)
    def invoice(ctx: Ctx, invoice_id: str) -> Response:
        return emu.get_invoice(ctx, invoice_id)

    @api_route(f"{API}/Payments", f"{API}/Payments", ["GET"], SCOPES_TX)
    def payments(ctx: Ctx) -> Response:
        return emu.get_payments(ctx)

    @api_route(f"{API}/Payments/<payment_id>", f"{API}/Payments/{{PaymentID}}", ["GET"], SCOPES_TX)
    def payment(ctx: Ctx, payment_id: str) -> Response:
        return emu.get_payment(ctx, payment_id)

    for kind, key, id_name in (
        ("creditnote", "CreditNotes", "CreditNoteID"),
        ("overpayment", "Overpayments", "OverpaymentID"),
        ("prepayment", "Prepayments", "PrepaymentID"),
    ):

        def make(kind: str = kind, key: str = key, id_name: str = id_name) -> None:
            def listing(ctx: Ctx) -> Response:
                return emu.get_credits(ctx, kind, key)

            def single(ctx: Ctx, credit_id: str) -> Response:
                return emu.get_credit(ctx, kind, key, credit_id)

            listing.__name__ = f"list_{kind}"
            single.__name__ = f"get_{kind}"
            api_route(f"{API}/{key}", f"{API}/{key}", ["GET"], SCOPES_TX)(listing)
            api_route(f"{API}/{key}/<credit_id>", f"{API}/{key}/{{{id_name}}}", ["GET"], SCOPES_TX)(single)

        make()

    @app.get("/identity/connect/authorize")
    def authorize() -> Response:
        return emu.run_identity("/identity/connect/authorize", emu.authorize)

    @app.post("/connect/token")
    def token() -> Response:
        return emu.run_identity("/connect/token", emu.token)

    @app.post("/connect/revocation")
    def revocation() -> Response:
        return emu.run_identity("/connect/revocation", emu.revocation)

    @app.get("/connections")
    def connections() -> Response:
        return emu.run_identity("/connections", emu.connections)

    @app.delete("/connections/<connection_id>")
    def delete_connection(connection_id: str) -> Response:
        return emu.run_identity("/connections/{id}", lambda ctx: emu.delete_connection(ctx, connection_id))


def _register_admin(app: Flask, emu: XeroEmulator) -> None:
    """ADMIN_API.md endpoints plus Xero extras: ``GET /_admin/companies``, ``POST /_admin/tokens/issue``,
    ``GET /_admin/clock`` (+ ``"freeze"`` on POST), ``GET /_admin/limits``, ``GET /_admin/faults``,
    ``GET /_admin/webhooks/pending``, ``POST /_admin/webhooks/intent`` (intent-to-receive check)."""
    st = emu.state
    ledger = emu.ledger

    def ok(body: Any, status: int = 200) -> Response:
        return _json_response(status, body)

    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> Response:
        return _error_response(err)

    @app.post("/_admin/reset")
    def reset() -> Response:
        st.reset()
        return ok({"ok": True})

    @app.post("/_admin/companies")
    def create_company() -> Response:
        body = _admin_json()
        tenant = st.create_tenant(str(body.get("name") or "Demo Company (US)"), body.get("company_id"))
        return ok({"company_id": tenant.tenant_id, "name": tenant.name}, 201)

    @app.get("/_admin/companies")
    def list_companies() -> Response:
        with st.lock:
            return ok([{"company_id": t.tenant_id, "name": t.name} for t in st.tenants.values()])

    @app.post("/_admin/companies/<cid>/seed")
    def seed(cid: str) -> Response:
        with st.lock:
            started = time.perf_counter()
            result = emu.seeder.seed(st.tenant(cid), _admin_json())
            result["seconds"] = round(time.perf_counter() - started, 3)
            return ok(result)

    @app.post("/_admin/companies/<cid>/customers")
    def insert_customer(cid: str) -> Response:
        with st.lock:
            tenant = st.tenant(cid)
            body = _admin_json()
            data = {k: v for k, v in body.items() if k not in CONTACT_READ_ONLY}
            data.setdefault("ContactStatus", "ACTIVE")
            data["Addresses"] = _normalise_addresses(data.get("Addresses"))
            data["Phones"] = _normalise_phones(data.get("Phones"))
            cid_new = str(body["ContactID"]).lower() if body.get("ContactID") else None
            rec = ledger.add_contact(tenant, data, cid=cid_new)
            st.emit(tenant, "CONTACT", "Contacts", rec.id, "CREATE")
            return ok(emu.wire.contact(tenant, rec, balances=True), 201)

    def _contact_of(tenant: Tenant, body: dict[str, Any]) -> str:
        contact = body.get("Contact") or {}
        cid = str(contact.get("ContactID") or body.get("contact_id") or "").lower()
        if cid not in tenant.contacts:
            raise ApiError(400, {"error": f"unknown contact {cid}"})
        return cid

    @app.post("/_admin/companies/<cid>/invoices")
    def insert_invoice(cid: str) -> Response:
        with st.lock:
            tenant = st.tenant(cid)
            body = _admin_json()
            contact_id = _contact_of(tenant, body)
            date = parse_any_date(body.get("Date")) or st.clock.now().date()
            due = parse_any_date(body.get("DueDate")) or date + dt.timedelta(days=30)
            if "Total" in body:
                total_c = to_cents(body["Total"])
            else:
                total_c = sum(
                    to_cents(li.get("LineAmount", float(li.get("Quantity", 1)) * float(li.get("UnitAmount", 0))))
                    for li in body.get("LineItems") or []
                )
            inv = ledger.add_invoice(
                tenant,
                contact_id,
                date,
                due,
                total_c,
                iid=str(body["InvoiceID"]).lower() if body.get("InvoiceID") else None,
                number=body.get("InvoiceNumber"),
                status=str(body.get("Status") or "AUTHORISED"),
                reference=str(body.get("Reference") or ""),
            )
            if body.get("AmountPaid"):
                ledger.pay(tenant, inv, to_cents(body["AmountPaid"]), date)
            st.emit(tenant, "INVOICE", "Invoices", inv.id, "CREATE")
            return ok(emu.wire.invoice(tenant, inv, lines=True), 201)

    @app.post("/_admin/companies/<cid>/payments")
    def insert_payment(cid: str) -> Response:
        with st.lock:
            tenant = st.tenant(cid)
            body = _admin_json()
            iid = str((body.get("Invoice") or {}).get("InvoiceID") or body.get("invoice_id") or "").lower()
            inv = tenant.invoices.get(iid)
            if inv is None:
                raise ApiError(400, {"error": f"unknown invoice {iid}"})
            when = parse_any_date(body.get("Date")) or st.clock.now().date()
            p, over = ledger.pay(
                tenant, inv, to_cents(body.get("Amount")), when, reference=str(body.get("Reference") or "")
            )
            st.emit(tenant, "INVOICE", "Invoices", inv.id, "UPDATE")
            result = {"Payment": emu.wire.payment(tenant, p)}
            if over is not None:
                result["Overpayment"] = emu.wire.credit(tenant, over, lines=True)
            return ok(result, 201)

    @app.post("/_admin/companies/<cid>/credits")
    def insert_credit(cid: str) -> Response:
        with st.lock:
            tenant = st.tenant(cid)
            body = _admin_json()
            kind = str(body.get("kind") or "creditnote").lower()
            if kind not in CREDIT_KINDS:
                raise ApiError(400, {"error": f"kind must be one of {sorted(CREDIT_KINDS)}"})
            contact_id = _contact_of(tenant, body)
            when = parse_any_date(body.get("Date")) or st.clock.now().date()
            cr = ledger.add_credit(
                tenant,
                kind,
                contact_id,
                when,
                to_cents(body.get("Total", body.get("Amount"))),
                crid=str(body["id"]).lower() if body.get("id") else None,
                reference=str(body.get("Reference") or ""),
            )
            if kind == "creditnote":
                st.emit(
                    tenant,
                    "CREDITNOTE",
                    "CreditNotes",
                    cr.id,
                    "CREATE",
                    data={"Type": "ACCRECCREDIT", "Status": cr.status},
                )
            return ok(emu.wire.credit(tenant, cr, lines=True), 201)

    @app.post("/_admin/companies/<cid>/apply")
    def apply_credit(cid: str) -> Response:
        with st.lock:
            tenant = st.tenant(cid)
            body = _admin_json()
            cr = tenant.credits.get(str(body.get("credit_id", "")).lower())
            inv = tenant.invoices.get(str(body.get("invoice_id", "")).lower())
            if cr is None or inv is None:
                raise ApiError(400, {"error": "unknown credit_id or invoice_id"})
            ledger.allocate(tenant, cr, inv, to_cents(body.get("amount")), st.clock.now().date())
            st.emit(tenant, "INVOICE", "Invoices", inv.id, "UPDATE")
            if cr.kind == "creditnote":
                st.emit(
                    tenant,
                    "CREDITNOTE",
                    "CreditNotes",
                    cr.id,
                    "UPDATE",
                    data={"Type": "ACCRECCREDIT", "Status": cr.status},
                )
            return ok(
                {
                    "invoice": emu.wire.invoice(tenant, inv, lines=False),
                    "credit": emu.wire.credit(tenant, cr, lines=False),
                }
            )

    @app.post("/_admin/companies/<cid>/touch")
    def touch(cid: str) -> Response:
        with st.lock:
            tenant = st.tenant(cid)
            body = _admin_json()
            entity = str(body.get("entity") or "Contact").lower()
            rid = str(body.get("id") or "").lower()
            changes = body.get("changes") or {}
            if entity in {"customer", "contact"}:
                rec = tenant.contacts.get(rid)
                if rec is None:
                    raise ApiError(404, {"error": f"unknown contact {rid}"})
                old_name, old_active = rec.name, rec.active
                for k, v in changes.items():
                    if k not in CONTACT_READ_ONLY:
                        rec.data[k] = v
                rec.updated_ms = max(st.clock.ms(), rec.updated_ms + 1)
                ledger.reindex_contact(tenant, rec, old_name, old_active)
                st.emit(tenant, "CONTACT", "Contacts", rec.id, "UPDATE")
                return ok(emu.wire.contact(tenant, rec, balances=True))
            if entity == "invoice":
                inv = tenant.invoices.get(rid)
                if inv is None:
                    raise ApiError(404, {"error": f"unknown invoice {rid}"})
                if "Reference" in changes:
                    inv.reference = str(changes["Reference"])
                if "DueDate" in changes:
                    inv.due = parse_any_date(changes["DueDate"]) or inv.due
                if "Status" in changes:
                    inv.status = str(changes["Status"])
                inv.updated_ms = max(st.clock.ms(), inv.updated_ms + 1)
                tenant.touch()
                st.emit(tenant, "INVOICE", "Invoices", inv.id, "UPDATE")
                return ok(emu.wire.invoice(tenant, inv, lines=True))
            raise ApiError(400, {"error": f"unsupported entity {entity}"})

    @app.get("/_admin/companies/<cid>/state")
    def company_state(cid: str) -> Response:
        with st.lock:
            tenant = st.tenant(cid)
            kinds = collections.Counter(c.kind for c in tenant.credits.values())
            return ok(
                {
                    "company_id": tenant.tenant_id,
                    "name": tenant.name,
                    "contacts": len(tenant.contacts),
                    "contacts_active": sum(1 for c in tenant.contacts.values() if c.active),
                    "contacts_archived": sum(1 for c in tenant.contacts.values() if not c.active),
                    "invoices": len(tenant.invoices),
                    "invoices_open": sum(1 for i in tenant.invoices.values() if i.status == "AUTHORISED"),
                    "payments": len(tenant.payments),
                    "credit_notes": kinds["creditnote"],
                    "overpayments": kinds["overpayment"],
                    "prepayments": kinds["prepayment"],
                    "rate": {
                        "day_used": tenant.rate.day_count,
                        "minute_window": len(tenant.rate.minute),
                        "in_flight": tenant.rate.in_flight,
                    },
                }
            )

    @app.route("/_admin/clock", methods=["GET", "POST"])
    def clock() -> Response:
        if request.method == "POST":
            body = _admin_json()
            if "set" in body:
                when = parse_instant(str(body["set"]))
                if when is None:
                    raise ApiError(400, {"error": "set must be ISO 8601"})
                st.clock.set(when)
            if "advance_seconds" in body:
                st.clock.advance(float(body["advance_seconds"]))
            if "freeze" in body:
                st.clock.freeze(bool(body["freeze"]))
            if body.get("reset"):
                st.clock = Clock()
        return ok({"now": st.clock.now().isoformat().replace("+00:00", "Z"), "frozen": st.clock.frozen})

    @app.route("/_admin/faults", methods=["GET", "POST", "DELETE"])
    def faults() -> Response:
        with st.lock:
            if request.method == "DELETE":
                st.faults = []
                return ok({"rules": 0})
            if request.method == "POST":
                rules = _admin_json().get("rules") or []
                for raw in rules:
                    action = raw.get("action")
                    if action not in FAULT_ACTIONS:
                        raise ApiError(400, {"error": f"unknown action {action}"})
                    match = raw.get("match") or {}
                    st.faults.append(
                        FaultRule(
                            method=match.get("method"),
                            path=re.compile(match["path"]) if match.get("path") else None,
                            action=action,
                            probability=float(raw.get("probability", 1.0)),
                            times=raw.get("times"),
                            latency_ms=int(raw.get("latency_ms", 0)),
                            status=int(raw.get("status", 503)),
                            retry_after=str(raw.get("retry_after", "60")),
                            problem=str(raw.get("problem", "minute")),
                            rng=random.Random(raw.get("seed", 1)),
                        )
                    )
            return ok(
                {
                    "rules": [
                        {
                            "action": r.action,
                            "method": r.method,
                            "path": r.path.pattern if r.path else None,
                            "times": r.times,
                            "applied": r.applied,
                        }
                        for r in st.faults
                    ]
                }
            )

    @app.post("/_admin/tokens/revoke")
    def revoke_tokens() -> Response:
        with st.lock:
            cid = str(_admin_json().get("company_id") or "")
            st.tenant(cid)
            return ok({"revoked_grants": st.revoke_company(cid)})

    @app.post("/_admin/tokens/issue")
    def issue_tokens() -> Response:
        """Mint a token set for a company without the browser redirect (tests, benchmarks)."""
        with st.lock:
            body = _admin_json()
            tenant = st.tenant(str(body.get("company_id") or ""))
            client_id = str(body.get("client_id") or st.config.default_client_id or "")
            if client_id not in st.clients:
                raise ApiError(400, {"error": f"unknown client {client_id}"})
            scope = str(
                body.get("scope")
                or "openid profile email offline_access accounting.contacts accounting.transactions accounting.settings"
            )
            grant = st.new_grant(client_id, scope.split(), [tenant.tenant_id])
            return ok(st.issue_tokens(grant))

    @app.route("/_admin/limits", methods=["GET", "POST"])
    def limits() -> Response:
        with st.lock:
            if request.method == "POST":
                for k, v in _admin_json().items():
                    if k in st.limits:
                        st.limits[k] = int(v)
            return ok(dict(st.limits))

    @app.route("/_admin/requests", methods=["GET", "DELETE"])
    def requests_log() -> Response:
        with st.lock:
            if request.method == "DELETE":
                st.log_entries.clear()
                st.by_endpoint.clear()
                return ok({"total": 0})
            return ok(
                {"total": len(st.log_entries), "by_endpoint": dict(st.by_endpoint), "entries": list(st.log_entries)}
            )

    @app.post("/_admin/webhooks")
    def webhook_config() -> Response:
        body = _admin_json()
        with st.lock:
            st.webhook_url = body.get("url")
            st.webhook_key = body.get("key")
        return ok({"url": st.webhook_url})

    @app.get("/_admin/webhooks/pending")
    def webhook_pending() -> Response:
        with st.lock:
            return ok({"events": list(st.pending_events)})

    def _post_signed(payload: dict[str, Any], *, corrupt: bool = False) -> tuple[int | None, str]:
        if not st.webhook_url or not st.webhook_key:
            raise ApiError(400, {"error": "configure POST /_admin/webhooks first"})
        raw = json_bytes(payload)
        sig = base64.b64encode(hmac.new(st.webhook_key.encode(), raw, hashlib.sha256).digest()).decode()
        if corrupt:
            sig = base64.b64encode(hmac.new(b"wrong-key", raw, hashlib.sha256).digest()).decode()
        try:
            resp = requests.post(
                st.webhook_url,
                data=raw,
                headers={"Content-Type": "application/json", "x-xero-signature": sig},
                timeout=st.config.webhook_timeout,
            )
        except requests.RequestException as exc:
            return None, str(exc)
        return resp.status_code, sig

    @app.post("/_admin/webhooks/deliver")
    def webhook_deliver() -> Response:
        with st.lock:
            events = list(st.pending_events)
            if not events:
                return ok({"sent": 0, "status": None, "payload": None})
            first = st.event_seq + 1
            st.event_seq += len(events)
            payload = {
                "events": events,
                "firstEventSequence": first,
                "lastEventSequence": st.event_seq,
                "entropy": "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(20)),
            }
        status, detail = _post_signed(payload)
        delivered = status is not None and 200 <= status < 300
        if delivered:
            with st.lock:
                del st.pending_events[: len(events)]
        return ok(
            {
                "sent": len(events) if delivered else 0,
                "status": status,
                "detail": None if delivered else detail,
                "payload": payload,
            }
        )

    @app.post("/_admin/webhooks/intent")
    def webhook_intent() -> Response:
        """Xero's intent-to-receive check: a correctly signed empty batch must get 200, a wrongly signed 401."""
        payload = {"events": [], "lastEventSequence": 0, "firstEventSequence": 0, "entropy": "S0m3r4Nd0mt3xt"}
        good, _ = _post_signed(payload)
        bad, _ = _post_signed(payload, corrupt=True)
        return ok(
            {"valid_signature_status": good, "invalid_signature_status": bad, "passed": good == 200 and bad == 401}
        )

    @app.post("/_admin/oauth/clients")
    def register_client() -> Response:
        body = _admin_json()
        client_id = str(body.get("client_id") or secrets.token_hex(16).upper())
        client = OAuthClient(
            client_id,
            str(body.get("client_secret") or secrets.token_urlsafe(24)),
            list(body.get("redirect_uris") or []),
        )
        with st.lock:
            st.clients[client_id] = client
        return ok(
            {
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uris": client.redirect_uris,
            },
            201,
        )


def create_app(config: EmulatorConfig | None = None) -> Flask:
    """Build the Flask app; the emulator object is reachable as ``app.extensions["xero_emulator"]``."""
    emu = XeroEmulator(config or EmulatorConfig())
    app = Flask("xero_emulator")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["xero_emulator"] = emu
    _register_api(app, emu)
    _register_admin(app, emu)
    return app


class _QuietHandler(WSGIRequestHandler):
    """Send werkzeug's per-request access lines to DEBUG (the admin request log is the record)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s", self.requestline, code)


@dataclass
class RunningEmulator:
    base_url: str
    state: XeroState
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def emulator(self) -> XeroEmulator:
        emu: XeroEmulator = self.app.extensions["xero_emulator"]
        return emu

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None) -> RunningEmulator:
    """Serve on loopback in a daemon thread (threaded server so concurrency limits can be exercised)."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the emulator only binds to loopback")
    app = create_app(config)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="xero-emulator", daemon=True)
    thread.start()
    emu: XeroEmulator = app.extensions["xero_emulator"]
    return RunningEmulator(f"http://{host}:{server.server_port}", emu.state, app, server, thread)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Xero Accounting API emulator (loopback only)")
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost"])
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app()
    log.info("Xero emulator on http://%s:%d (admin under /_admin/)", args.host, args.port)
    server = make_server(args.host, args.port, app, threaded=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
