"""Local QuickBooks Online (Accounting API v3) emulator.

Speaks the real wire formats closely enough that a connector passing against it works against Intuit:
OAuth 2.0 (authorize, token with HTTP Basic client auth, revoke, rotating refresh tokens), the
``/v3/company/{realmId}/...`` data API (Customer create/read/sparse+full update, Invoice/Payment/CreditMemo
reads and deletes, the query language, CDC), the exact fault bodies (6240, 2050, 5010, 2020, 610, the
lower-case 401/403/429 ``fault`` envelope), ``requestid`` replay, per-realm rate limits and signed webhooks.
The admin surface under ``/_admin`` follows ``ADMIN_API.md``.

Start it: ``python -m local.emulators.quickbooks --port 8101 [--seed-company]`` (foreground, 127.0.0.1 only), or
``serve_in_thread(port=0)`` from tests. One host serves everything: authorize ``GET /connect/oauth2``, token
``POST /oauth2/v1/tokens/bearer``, revoke ``POST /v2/oauth2/tokens/revoke``, data ``/v3/company/{realmId}/...``.
Default OAuth client: ``qbo-emulator-client`` / ``qbo-emulator-secret`` (any redirect_uri).

QBO-specific admin extensions (beyond ``ADMIN_API.md``):

* ``GET /_admin/companies`` lists companies.
* ``POST /_admin/companies/{id}/tokens`` ``{"client_id"?}`` mints a token pair without the redirect dance.
* ``POST /_admin/companies/{id}/customers`` also accepts ``{"customers": [...]}`` (bulk) and honours
  ``MetaData.CreateTime``/``LastUpdatedTime`` in admin inserts.
* ``POST /_admin/companies/{id}/vendors`` and ``/employees`` insert name-list rows (for cross-list clashes).
* ``POST /_admin/companies/{id}/touch`` also takes ``"delete": true`` (transaction delete, or a customer
  merged away), which leaves a CDC ``status: Deleted`` stub.
* ``GET /_admin/webhooks/pending`` shows undelivered change events; ``GET /_admin/clock``, ``GET /_admin/faults``,
  ``GET /_admin/limits`` read back settings; ``POST /_admin/clock`` also takes ``"freeze": bool``;
  ``POST /_admin/limits`` takes an optional ``company_id`` for a per-company override.
* Fault rules may also carry ``"body"`` (custom JSON body), ``"headers"`` and ``match.company_id``.
* ``POST /_admin/reset`` also resets the clock to real time and the limits to the defaults; registered OAuth
  clients survive a reset.
* The seed body also accepts ``credit_share``, ``vendors`` and ``employees``; ``inactive`` is a count (default
  10% of ``customers``).
* Data API extra: ``POST /v3/company/{id}/{invoice|payment|creditmemo}?operation=delete`` and
  ``GET /v3/company/{id}/companyinfo/{id}``.

Sources for every behaviour are in ``../shared/reference/accounting-apis.md`` §1. Choices where the vendor's
behaviour is not documented are marked **UNCONFIRMED** next to the code that makes them; the module-level
list is:

* 401 ``WWW-Authenticate: Bearer realm="Intuit", error="invalid_token"`` header (community recordings).
* 401 detail: ``Token expired: <grant id>`` when expired, ``Malformed bearer token: too short or too long``
  for a token of implausible length, ``null`` otherwise (missing, unknown, revoked).
* 429 body: the lower-case ``fault`` envelope of the 401, message
  ``message=ThrottleExceeded; errorCode=003001; statusCode=429``, code ``3001``, type ``SERVICE``; no
  ``Retry-After`` unless a fault rule injects one (Intuit documents "wait 60 seconds").
* Rate limits count admitted requests only; the 10-concurrent limit is enforced as in-flight requests.
* Empty query result is ``{"QueryResponse":{}}``; ``MAXRESULTS`` above 1000 is capped to 1000 (not an error);
  ``STARTPOSITION`` below 1 is treated as 1; default order is ``Id`` ascending; string comparisons in
  ``WHERE`` are case-insensitive.
* Inactive name-list rows render ``DisplayName``/``FullyQualifiedName`` with a `` (deleted)`` suffix (as in
  quickbooks-ruby's ``deleted_customer.xml``); the *original* name stays reserved for uniqueness (6240), and
  ``WHERE DisplayName = ...`` matches both the original and the suffixed form. Echoing the suffixed name back
  in an update of the same row is treated as "unchanged". Reactivation drops the suffix.
* ``:``, tab or newline in DisplayName or a name part → 400 ValidationFault code ``6000`` (the generic
  business-validation code; the real code is unknown), ``element`` = the field.
* Missing DisplayName and every name part → 400 code ``2020`` ``Required parameter DisplayName is missing in
  the request`` (2020 wording pattern from python-quickbooks PR #257).
* 2050 ``element`` is the dotted path for nested fields (``BillAddr.Line1``, ``PrimaryEmailAddr.Address``);
  numbers ≥ 1000 in the Detail are comma-grouped (``Max:2,000``) as in quickbooks-ruby PR #436, with no
  space after ``Supplied length:`` as in consolibyte/quickbooks-php#79.
* Length limits follow the api-evangelist transcription: CompanyName 500 (a 2015 error said 50), Notes 2000
  (Invoiced truncates to 4000), phone 30 (Invoiced truncates to 21).
* Deactivating a customer with a non-zero Balance → 400 ``Delete List Has Balance Error`` (message and detail
  from ruckus/quickbooks-ruby#390) with code ``6000`` (real code unknown).
* 5010 HTTP status 400 and the Detail with ``API API`` as the other user (routablehq/python-quickbooks#127).
* ``requestid``: remembered for the life of the company (no expiry), per company; the same id replays the
  stored status and body byte-for-byte even if the new request's body differs. Only responses produced by the
  operation itself are stored (not 401/403/429 or injected faults). Length is not enforced.
* CDC: ``changedSince`` older than 30 days → 400 ValidationFault code ``6000`` whose Detail is the observed
  sentence ``Operation cdc with changedSince date <date> which is older than fixed days is not supported.``
  (Wish-Org/QuickBooksSharp#19); the 1,000-object cap keeps the oldest changes; every requested entity gets
  one ``QueryResponse`` entry, ``{}`` when it has no changes.
* Customer ``Balance`` = open invoice balances − unapplied payments − remaining credit; balance changes caused
  by transactions do not bump the customer's SyncToken or LastUpdatedTime.
* Webhooks use the legacy ``eventNotifications`` payload; deactivating a customer is reported as operation
  ``Delete`` (the reference's recommendation; the real operation list for Customer is unknown).
* ``POST /batch``: ``{"BatchItemRequest":[{"bId":"1","Query":"SELECT ..."}]}`` →
  ``{"BatchItemResponse":[{"bId":"1","QueryResponse":{...}}],"time":...}``, items in request order, a failing
  item answered by its own ``{"bId":..,"Fault":{"Error":[..],"type":"ValidationFault"}}`` in a 200 (shape from
  python-quickbooks ``tests/unit/test_batch.py``). Only ``Query`` items are implemented; create/update/delete
  items get a per-item ``Unsupported Operation`` fault. More than 30 items (the limits page's recommended
  maximum) → 400 ValidationFault code ``6000`` (real code and wording unknown). Batch requests also count
  against their own 40-a-minute limit per realm (429 like any throttle); ``POST /_admin/limits/batch``
  ``{"per_minute": N}`` changes it.
* Authorization codes live 300 s; token-endpoint errors are ``{"error": ...}`` JSON (``invalid_client`` 401,
  ``invalid_grant`` 400, ``unsupported_grant_type`` 400).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import logging
import random
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from flask import Flask, Response, g, jsonify, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from local.emulators import seed_data
from local.emulators.common import (
    AdminError,
    EmulatorRuntime,
    FaultRule,
    Limits,
    RateLimiter,
    RunningEmulator,
    json_object_body,
    make_common_admin_blueprint,
    parse_iso_datetime,
    request_connection_drop,
    rule_to_template,
    scrub_query,
    serve_app_in_thread,
    serve_forever,
)
from local.emulators.quickbooks_query import Condition, Query, QueryError, like_to_regex, parse_query, validation_error

logger = logging.getLogger(__name__)

DAY = 86_400.0

NAME_ENTITIES = ("Customer", "Vendor", "Employee")
TXN_ENTITIES = ("Invoice", "Payment", "CreditMemo")
ALL_ENTITIES = NAME_ENTITIES + TXN_ENTITIES
ENTITY_BY_LOWER = {e.lower(): e for e in ALL_ENTITIES}
CDC_ENTITIES = ALL_ENTITIES

DELETED_SUFFIX = " (deleted)"


@dataclass
class EmulatorConfig:
    """Tunables; defaults are Intuit's documented values."""

    per_minute: int | None = 500
    concurrent: int | None = 10
    per_day: int | None = None
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 8_726_400
    refresh_grace: int = 86_400
    auth_code_ttl: int = 300
    query_default_results: int = 100
    query_max_results: int = 1000
    cdc_max_objects: int = 1000
    cdc_window_days: int = 30
    timezone: str = "America/Los_Angeles"
    client_id: str = "qbo-emulator-client"
    client_secret: str = "qbo-emulator-secret"
    redirect_uris: tuple[str, ...] = ()  # empty: any redirect_uri is accepted for the default client
    max_log_entries: int = 50_000
    batch_max_items: int = 30  # "Recommended maximum number of payloads in a single batch request is 30"
    batch_per_minute: int | None = 40  # "Throttled at 40 Batch requests per minute, per realm ID and app"
    webhook_timeout: float = 5.0


# ============================================================================================ wire helpers


def money(value: Any) -> float:
    """Round to cents the way QBO renders amounts (JSON numbers)."""
    return round(float(value) + 0.0, 2)


def cents(value: Any) -> int:
    """Amount → integer cents (for exact arithmetic)."""
    return round(float(value) * 100)


def fault_body(errors: list[dict[str, Any]], fault_type: str, time_text: str) -> dict[str, Any]:
    """The upper-case ``Fault`` envelope (validation/system faults). Usable with any HTTP status, incl. 200."""
    return {"Fault": {"Error": errors, "type": fault_type}, "time": time_text}


def fault_error(message: str, detail: str, code: str, element: str | None = "") -> dict[str, Any]:
    """One ``Error`` item; ``code`` is always a string, ``element`` omitted when None."""
    item: dict[str, Any] = {"Message": message, "Detail": detail, "code": code}
    if element is not None:
        item["element"] = element
    return item


def lower_fault_body(message: str, detail: str | None, code: str, fault_type: str, time_ms: int) -> dict[str, Any]:
    """The lower-case ``fault`` envelope Intuit's gateway returns for 401/403 (and, we assume, 429)."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {"error": [{"message": message, "detail": detail, "code": code, "element": None}], "type": fault_type},
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": time_ms,
        "status": None,
        "cdcresponse": [],
    }


class QboFault(Exception):
    """Raised inside handlers; rendered as a ``Fault`` response."""

    def __init__(
        self,
        message: str,
        detail: str,
        code: str,
        element: str | None = "",
        status: int = 400,
        fault_type: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.message = message
        self.detail = detail
        self.code = code
        self.element = element
        self.status = status
        self.fault_type = fault_type


def duplicate_name_fault() -> QboFault:
    """6240, exactly as Intuit returns it today."""
    return QboFault("Duplicate Name Exists Error", "The name supplied already exists. : null", "6240")


def length_fault(element: str, max_len: int, supplied: int) -> QboFault:
    """2050 with the field in ``element``."""
    return QboFault(
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{max_len:,} supported. "
        f"Supplied length:{supplied:,}",
        "2050",
        element,
    )


def stale_fault() -> QboFault:
    """5010 Stale Object Error (routablehq/python-quickbooks#127 wording)."""
    return QboFault(
        "Stale Object Error",
        "Stale Object Error : You and API API were working on this at the same time. API API finished before "
        "you did, so your work was not saved.",
        "5010",
    )


def not_found_fault() -> QboFault:
    """610 Object Not Found (also used by Intuit for an unknown Id)."""
    return QboFault(
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, "
        "customers, items, vendors or employees.",
        "610",
    )


def required_fault(param: str) -> QboFault:
    """2020 required parameter missing."""
    return QboFault(
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {param} is missing in the request",
        "2020",
    )


def unsupported_property_fault(detail: str) -> QboFault:
    """2010 invalid or unsupported property."""
    return QboFault("Request has invalid or unsupported property", f"Property Name:{detail}", "2010")


def business_fault(detail: str, element: str = "") -> QboFault:
    """6000, the generic business-validation error (used where the real code is unknown)."""
    return QboFault(
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        "6000",
        element,
    )


# ============================================================================================ model


class Record:
    """One stored entity. ``data`` is the wire body minus Id/SyncToken/MetaData; times are epoch seconds."""

    __slots__ = ("created", "data", "entity", "id", "sync", "updated")

    def __init__(self, entity: str, rid: str, data: dict[str, Any], created: float, updated: float, sync: int = 0):
        self.entity = entity
        self.id = rid
        self.data = data
        self.created = created
        self.updated = updated
        self.sync = sync


@dataclass
class Company:
    """One QBO realm with its data, name index, replay store and pending webhook events."""

    realm_id: str
    name: str
    created: float
    lock: threading.RLock = field(default_factory=threading.RLock)
    tables: dict[str, dict[str, Record]] = field(default_factory=lambda: {e: {} for e in ALL_ENTITIES})
    deleted: dict[str, dict[str, Record]] = field(default_factory=lambda: {e: {} for e in ALL_ENTITIES})
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    by_customer: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALL_ENTITIES, 0))
    query_cache: OrderedDict[tuple[Any, ...], tuple[int, list[Record]]] = field(default_factory=OrderedDict)
    requestids: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    pending_events: list[dict[str, Any]] = field(default_factory=list)
    next_name_id: int = 1
    next_txn_id: int = 1
    next_doc_number: int = 1001

    def new_name_id(self) -> str:
        rid = str(self.next_name_id)
        self.next_name_id += 1
        return rid

    def new_txn_id(self) -> str:
        rid = str(self.next_txn_id)
        self.next_txn_id += 1
        return rid

    def new_doc_number(self) -> str:
        doc = str(self.next_doc_number)
        self.next_doc_number += 1
        return doc

    def bump(self, entity: str) -> None:
        """Invalidate cached query results of one entity type."""
        self.versions[entity] += 1

    def link(self, customer_id: str, entity: str, rid: str) -> None:
        self.by_customer.setdefault(customer_id, set()).add((entity, rid))


def name_key(name: str) -> str:
    """Uniqueness key: case-insensitive, ignoring surrounding whitespace."""
    return name.strip().casefold()


@dataclass
class Grant:
    """One authorization (a connection): its tokens are revoked together."""

    grant_id: str
    realm_id: str
    client_id: str
    revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class RefreshToken:
    grant: Grant
    expires_at: float
    superseded_at: float | None = None


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    realm_id: str
    expires_at: float
    used: bool = False


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


class QboState:
    """All emulator state: companies, OAuth artefacts, webhook settings, plus the shared runtime."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.runtime = EmulatorRuntime.create(
            Limits(config.per_minute, config.concurrent, config.per_day), config.max_log_entries
        )
        self.batch_limiter = RateLimiter(self.runtime.clock, Limits(per_minute=config.batch_per_minute))
        self.lock = threading.RLock()
        try:
            self.tz: tzinfo = ZoneInfo(config.timezone)
        except ZoneInfoNotFoundError:
            self.tz = UTC
        self.clients: dict[str, OAuthClient] = {
            config.client_id: OAuthClient(config.client_id, config.client_secret, tuple(config.redirect_uris))
        }
        self.companies: dict[str, Company] = {}
        self.company_counter = 0
        self.codes: dict[str, AuthCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.grants: list[Grant] = []
        self.webhook_url: str | None = None
        self.webhook_key: str | None = None
        self._date_cache: dict[int, str] = {}

    # -- clock -----------------------------------------------------------------------------------------

    @property
    def clock(self) -> Any:
        return self.runtime.clock

    def now(self) -> float:
        return float(self.runtime.clock.time())

    def fmt_ts(self, ts: float) -> str:
        """Company-local ISO timestamp like Intuit's MetaData (``2015-07-24T10:33:39-07:00``)."""
        return datetime.fromtimestamp(ts, self.tz).isoformat(timespec="seconds")

    def fmt_date(self, ts: float) -> str:
        """Company-local ``YYYY-MM-DD``; cached per hour (zone offsets are whole hours) to keep seeding fast."""
        bucket = int(ts // 3600)
        cached = self._date_cache.get(bucket)
        if cached is None:
            cached = datetime.fromtimestamp(bucket * 3600, self.tz).date().isoformat()
            if len(self._date_cache) > 200_000:
                self._date_cache.clear()
            self._date_cache[bucket] = cached
        return cached

    def time_text(self) -> str:
        """Response ``time`` field (milliseconds, company offset)."""
        return datetime.fromtimestamp(self.now(), self.tz).isoformat(timespec="milliseconds")

    # -- companies ----------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Drop companies, tokens, faults, logs, webhooks and the clock offset; keep registered OAuth clients."""
        with self.lock:
            self.companies = {}
            self.company_counter = 0
            self.codes = {}
            self.access = {}
            self.refresh = {}
            self.grants = []
            self.webhook_url = None
            self.webhook_key = None
        self.runtime.reset()
        self.batch_limiter.reset()

    def create_company(self, name: str, company_id: str | None = None) -> Company:
        with self.lock:
            self.company_counter += 1
            realm = company_id or str(9_130_350_000_000_000 + self.company_counter)
            if realm in self.companies:
                raise AdminError(f"company {realm} already exists", 409)
            company = Company(realm_id=realm, name=name, created=self.now())
            self.companies[realm] = company
            return company

    def company(self, realm: str) -> Company:
        company = self.companies.get(realm)
        if company is None:
            raise AdminError(f"unknown company {realm}", 404)
        return company

    # -- tokens -------------------------------------------------------------------------------------------

    def issue_tokens(self, grant: Grant) -> dict[str, Any]:
        now = self.now()
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(48)
        refresh = f"AB11{int(now) + self.config.refresh_token_ttl}{secrets.token_urlsafe(27)}"
        with self.lock:
            self.access[access] = AccessToken(grant, now + self.config.access_token_ttl)
            self.refresh[refresh] = RefreshToken(grant, now + self.config.refresh_token_ttl)
        return {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": self.config.access_token_ttl,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": self.config.refresh_token_ttl,
        }

    def new_grant(self, realm: str, client_id: str) -> Grant:
        grant = Grant(
            f"AB01{int(self.now())}{secrets.token_urlsafe(24).replace('-', 'x').replace('_', 'y')}", realm, client_id
        )
        with self.lock:
            self.grants.append(grant)
        return grant

    def revoke_company(self, realm: str) -> int:
        count = 0
        with self.lock:
            for grant in self.grants:
                if grant.realm_id == realm and not grant.revoked:
                    grant.revoked = True
                    count += 1
        return count

    # -- webhooks -----------------------------------------------------------------------------------------

    def record_event(self, company: Company, entity: str, rid: str, operation: str, ts: float) -> None:
        company.pending_events.append({"name": entity, "id": rid, "operation": operation, "lastUpdated": ts})


# ============================================================================================ rendering


def render(state: QboState, rec: Record) -> dict[str, Any]:
    """Wire JSON of a stored record."""
    out = dict(rec.data)
    if rec.entity in ("Invoice", "CreditMemo") and "Line" not in out:
        out["Line"] = _default_lines(out)
    if rec.entity in NAME_ENTITIES:
        display = out.get("DisplayName", "")
        if not out.get("Active", True):
            display = f"{display}{DELETED_SUFFIX}"
            out["DisplayName"] = display
        out["FullyQualifiedName"] = display
    out["domain"] = "QBO"
    out["sparse"] = False
    out["Id"] = rec.id
    out["SyncToken"] = str(rec.sync)
    out["MetaData"] = {"CreateTime": state.fmt_ts(rec.created), "LastUpdatedTime": state.fmt_ts(rec.updated)}
    return out


def _default_lines(data: dict[str, Any]) -> list[dict[str, Any]]:
    amount = data.get("TotalAmt", 0.0)
    return [
        {
            "Id": "1",
            "LineNum": 1,
            "Description": "Professional services",
            "Amount": amount,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}, "Qty": 1, "UnitPrice": amount},
        },
        {"Amount": amount, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
    ]


def deleted_stub(state: QboState, rec: Record) -> dict[str, Any]:
    """CDC stub for a deleted entity (quickbooks-ruby ``customer_changes.xml`` shape, in JSON)."""
    return {
        "domain": "QBO",
        "status": "Deleted",
        "Id": rec.id,
        "MetaData": {"LastUpdatedTime": state.fmt_ts(rec.updated)},
    }


# ============================================================================================ customers

CUSTOMER_FIELDS = frozenset(
    {
        "Id", "SyncToken", "MetaData", "sparse", "domain", "status", "Title", "GivenName", "MiddleName", "FamilyName",
        "Suffix", "FullyQualifiedName", "CompanyName", "DisplayName", "PrintOnCheckName", "Notes", "Active",
        "IsProject", "Job", "BillWithParent", "Taxable", "Balance", "BalanceWithJobs", "PreferredDeliveryMethod",
        "ResaleNum", "Level", "OpenBalanceDate", "PrimaryTaxIdentifier", "BillAddr", "ShipAddr", "PrimaryPhone",
        "AlternatePhone", "Mobile", "Fax", "PrimaryEmailAddr", "WebAddr", "DefaultTaxCodeRef", "SalesTermRef",
        "PaymentMethodRef", "ParentRef", "ARAccountRef", "CurrencyRef", "TaxExemptionReasonId", "GSTIN",
        "BusinessNumber", "GSTRegistrationType", "SecondaryTaxIdentifier", "CustomerTypeRef", "Source",
        "ClientEntityId", "TaxRegime", "V4IDPseudonym",
    }
)  # fmt: skip
READ_ONLY_FIELDS = ("Id", "SyncToken", "MetaData", "sparse", "domain", "status", "Balance", "BalanceWithJobs",
                    "FullyQualifiedName", "V4IDPseudonym")  # fmt: skip
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
NESTED_OBJECTS = frozenset(
    {"BillAddr", "ShipAddr", "PrimaryPhone", "AlternatePhone", "Mobile", "Fax", "PrimaryEmailAddr", "WebAddr",
     "DefaultTaxCodeRef", "SalesTermRef", "PaymentMethodRef", "ParentRef", "ARAccountRef", "CurrencyRef",
     "CustomerTypeRef"}
)  # fmt: skip

_ADDR_LIMITS = [(f"Line{i}", 500) for i in range(1, 6)] + [
    ("City", 255),
    ("Country", 255),
    ("CountrySubDivisionCode", 255),
    ("PostalCode", 30),
]
#: (dotted path, max length); see the module docstring for the conflicting sources.
LENGTH_LIMITS: list[tuple[str, int]] = [
    ("DisplayName", 500),
    ("Title", 16),
    ("GivenName", 100),
    ("MiddleName", 100),
    ("FamilyName", 100),
    ("Suffix", 16),
    ("CompanyName", 500),
    ("PrintOnCheckName", 110),
    ("Notes", 2000),
    ("PrimaryEmailAddr.Address", 100),
    ("PrimaryPhone.FreeFormNumber", 30),
    ("AlternatePhone.FreeFormNumber", 30),
    ("Mobile.FreeFormNumber", 30),
    ("Fax.FreeFormNumber", 30),
    *[(f"BillAddr.{k}", n) for k, n in _ADDR_LIMITS],
    *[(f"ShipAddr.{k}", n) for k, n in _ADDR_LIMITS],
]
FORBIDDEN_NAME_CHARS = (":", "\t", "\n", "\r")


def get_path(data: dict[str, Any], path: str) -> Any:
    """Dotted lookup; None when any step is missing."""
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def generated_display_name(data: dict[str, Any]) -> str:
    """What QBO generates when DisplayName is omitted: the name parts joined by spaces."""
    parts = [str(data[p]).strip() for p in NAME_PARTS if data.get(p)]
    joined = " ".join(p for p in parts if p)
    return joined or str(data.get("FullyQualifiedName") or "").strip()


def validate_payload_shape(payload: dict[str, Any]) -> None:
    """2010 for unknown properties or wrongly typed nested objects (Jackson-style detail)."""
    for key, value in payload.items():
        if key not in CUSTOMER_FIELDS:
            raise unsupported_property_fault(
                f'Unrecognized field "{key}" (class com.intuit.schema.finance.v3.Customer), not marked as ignorable '
                "specified is unsupported or invalid"
            )
        if key in NESTED_OBJECTS and value is not None and not isinstance(value, dict):
            raise unsupported_property_fault(f"{key} specified is unsupported or invalid")


def validate_customer_rules(data: dict[str, Any]) -> None:
    """Required name, forbidden characters and lengths, in that order (before uniqueness)."""
    if not str(data.get("DisplayName") or "").strip():
        raise required_fault("DisplayName")
    for fname in ("DisplayName", *NAME_PARTS):
        value = data.get(fname)
        if isinstance(value, str) and any(ch in value for ch in FORBIDDEN_NAME_CHARS):
            raise business_fault(f"{fname} cannot contain a colon (:), tab or newline.", fname)
    for path, max_len in LENGTH_LIMITS:
        value = get_path(data, path)
        if isinstance(value, str) and len(value) > max_len:
            raise length_fault(path, max_len, len(value))


class QboService:
    """Business logic of the data API, independent of Flask (used by views and admin endpoints)."""

    def __init__(self, state: QboState) -> None:
        self.state = state

    # -- names --------------------------------------------------------------------------------------------

    def reserve_name(self, company: Company, name: str, entity: str, rid: str, *, check: bool = True) -> None:
        key = name_key(name)
        owner = company.names.get(key)
        if owner is not None and owner != (entity, rid):
            if check:
                raise duplicate_name_fault()
            return
        company.names[key] = (entity, rid)

    def release_name(self, company: Company, name: str, entity: str, rid: str) -> None:
        key = name_key(name)
        if company.names.get(key) == (entity, rid):
            del company.names[key]

    # -- customers ----------------------------------------------------------------------------------------

    def customer_defaults(self, data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Active": True,
            "Job": False,
            "BillWithParent": False,
            "Taxable": False,
            "IsProject": False,
            "PreferredDeliveryMethod": "Print",
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        }
        out.update(data)
        if not out.get("PrintOnCheckName"):
            out["PrintOnCheckName"] = out.get("DisplayName", "")
        out["Balance"] = 0.0
        out["BalanceWithJobs"] = 0.0
        return out

    def create_customer(self, company: Company, payload: dict[str, Any], *, validate: bool = True) -> Record:
        if validate:
            validate_payload_shape(payload)
        data = {k: v for k, v in payload.items() if k not in READ_ONLY_FIELDS}
        if not str(data.get("DisplayName") or "").strip():
            generated = generated_display_name({**data, "FullyQualifiedName": payload.get("FullyQualifiedName")})
            if generated:
                data["DisplayName"] = generated
        if validate:
            validate_customer_rules(data)
        data = self.customer_defaults(data)
        now = self.state.now()
        created = updated = now
        if not validate:  # admin inserts may carry their own MetaData times (wire shape)
            raw_meta = payload.get("MetaData")
            meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
            try:
                if meta.get("CreateTime"):
                    created = updated = parse_iso_datetime(str(meta["CreateTime"])).timestamp()
                if meta.get("LastUpdatedTime"):
                    updated = parse_iso_datetime(str(meta["LastUpdatedTime"])).timestamp()
            except ValueError as exc:
                raise AdminError(f"invalid MetaData time: {exc}") from exc
        with company.lock:
            rid = str(payload["Id"]) if (not validate and payload.get("Id")) else company.new_name_id()
            if not validate and payload.get("Id"):
                company.next_name_id = max(company.next_name_id, int(rid) + 1 if rid.isdigit() else 0)
            self.reserve_name(company, data["DisplayName"], "Customer", rid, check=validate)
            rec = Record("Customer", rid, data, created, updated, 0)
            company.tables["Customer"][rid] = rec
            company.bump("Customer")
            self.state.record_event(company, "Customer", rid, "Create", updated)
        return rec

    def update_customer(self, company: Company, payload: dict[str, Any]) -> Record:
        validate_payload_shape(payload)
        rid = str(payload.get("Id"))
        with company.lock:
            rec = company.tables["Customer"].get(rid)
            if rec is None:
                raise not_found_fault()
            token = payload.get("SyncToken")
            if token is None or str(token) == "":
                raise required_fault("SyncToken")
            if str(token) != str(rec.sync):
                raise stale_fault()
            incoming = {k: v for k, v in payload.items() if k not in READ_ONLY_FIELDS}
            original_name = rec.data.get("DisplayName", "")
            if incoming.get("DisplayName") == f"{original_name}{DELETED_SUFFIX}":
                incoming["DisplayName"] = original_name  # the rendered inactive name echoed back
            if payload.get("sparse") is True or str(payload.get("sparse")).lower() == "true":
                data = {**rec.data, **incoming}
                if "DisplayName" in incoming and not str(incoming.get("DisplayName") or "").strip():
                    raise required_fault("DisplayName")  # "Cannot be removed with sparse update"
            else:
                data = self.customer_defaults(dict(incoming))
                if not str(data.get("DisplayName") or "").strip():
                    generated = generated_display_name(data)
                    if generated:
                        data["DisplayName"] = generated
                if not incoming.get("PrintOnCheckName"):
                    data["PrintOnCheckName"] = data.get("DisplayName", "")
            validate_customer_rules(data)
            new_name = data["DisplayName"]
            if name_key(new_name) != name_key(original_name):
                self.reserve_name(company, new_name, "Customer", rid)
                self.release_name(company, original_name, "Customer", rid)
            was_active = rec.data.get("Active", True)
            now_active = data.get("Active", True)
            data["Balance"] = rec.data.get("Balance", 0.0)
            data["BalanceWithJobs"] = rec.data.get("BalanceWithJobs", 0.0)
            if was_active and not now_active and cents(data["Balance"]) != 0:
                # ruckus/quickbooks-ruby#390 wording; code UNCONFIRMED.
                raise QboFault(
                    "Delete List Has Balance Error",
                    "The entity you are trying to delete has an open balance. : This customer cannot be deleted "
                    "because it has a non-zero balance",
                    "6000",
                )
            now = self.state.now()
            rec.data = data
            rec.sync += 1
            rec.updated = max(now, rec.updated)
            company.bump("Customer")
            operation = "Delete" if (was_active and not now_active) else "Update"
            self.state.record_event(company, "Customer", rid, operation, rec.updated)
            return rec

    def recalc_customer(self, company: Company, customer_id: str) -> None:
        """Balance = open invoice balances − unapplied payments − remaining credits."""
        rec = company.tables["Customer"].get(customer_id)
        if rec is None:
            return
        total = 0
        for entity, tid in company.by_customer.get(customer_id, ()):
            txn = company.tables[entity].get(tid)
            if txn is None:
                continue
            if entity == "Invoice":
                total += cents(txn.data.get("Balance", 0))
            elif entity == "Payment":
                total -= cents(txn.data.get("UnappliedAmt", 0))
            elif entity == "CreditMemo":
                total -= cents(txn.data.get("RemainingCredit", 0))
        balance = money(total / 100)
        if rec.data.get("Balance") != balance:
            rec.data["Balance"] = balance
            rec.data["BalanceWithJobs"] = balance
            company.bump("Customer")

    # -- transactions -------------------------------------------------------------------------------------

    def _customer_ref(self, company: Company, raw: Any) -> dict[str, str]:
        if not isinstance(raw, dict) or not raw.get("value"):
            raise AdminError("CustomerRef.value is required")
        cid = str(raw["value"])
        cust = company.tables["Customer"].get(cid)
        if cust is None:
            raise AdminError(f"unknown customer {cid}")
        return {"value": cid, "name": str(cust.data.get("DisplayName", ""))}

    def insert_invoice(self, company: Company, payload: dict[str, Any], event: bool = True) -> Record:
        now = self.state.now()
        with company.lock:
            ref = self._customer_ref(company, payload.get("CustomerRef"))
            total = money(payload.get("TotalAmt", 0))
            txn_date = str(payload.get("TxnDate") or self.state.fmt_date(now))
            due = payload.get("DueDate") or (datetime.fromisoformat(txn_date) + timedelta(days=30)).strftime("%Y-%m-%d")
            data = {k: v for k, v in payload.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse")}
            data.update(
                {
                    "CustomerRef": ref,
                    "TxnDate": txn_date,
                    "DueDate": due,
                    "TotalAmt": total,
                    "Balance": money(payload.get("Balance", total)),
                    "DocNumber": str(payload.get("DocNumber") or company.new_doc_number()),
                    "LinkedTxn": list(payload.get("LinkedTxn") or []),
                    "SalesTermRef": payload.get("SalesTermRef") or {"value": "3", "name": "Net 30"},
                    "CurrencyRef": payload.get("CurrencyRef") or {"value": "USD", "name": "United States Dollar"},
                }
            )
            rid = company.new_txn_id()
            rec = Record("Invoice", rid, data, now, now)
            company.tables["Invoice"][rid] = rec
            company.link(ref["value"], "Invoice", rid)
            company.bump("Invoice")
            self.recalc_customer(company, ref["value"])
            if event:
                self.state.record_event(company, "Invoice", rid, "Create", now)
            return rec

    def insert_payment(self, company: Company, payload: dict[str, Any], event: bool = True) -> Record:
        now = self.state.now()
        with company.lock:
            ref = self._customer_ref(company, payload.get("CustomerRef"))
            total = money(payload.get("TotalAmt", 0))
            lines = list(payload.get("Line") or [])
            applied = 0
            touched: list[Record] = []
            for line in lines:
                amount = cents(line.get("Amount", 0))
                for linked in line.get("LinkedTxn") or []:
                    if linked.get("TxnType") == "Invoice":
                        inv = company.tables["Invoice"].get(str(linked.get("TxnId")))
                        if inv is None:
                            raise AdminError(f"unknown invoice {linked.get('TxnId')}")
                        inv.data["Balance"] = money(max(0, cents(inv.data["Balance"]) - amount) / 100)
                        touched.append(inv)
                        applied += amount
            data = {k: v for k, v in payload.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse")}
            data.update(
                {
                    "CustomerRef": ref,
                    "TxnDate": str(payload.get("TxnDate") or self.state.fmt_date(now)),
                    "TotalAmt": total,
                    "UnappliedAmt": money(payload.get("UnappliedAmt", max(0, cents(total) - applied) / 100)),
                    "Line": lines,
                    "CurrencyRef": payload.get("CurrencyRef") or {"value": "USD", "name": "United States Dollar"},
                    "ProcessPayment": False,
                }
            )
            rid = company.new_txn_id()
            rec = Record("Payment", rid, data, now, now)
            company.tables["Payment"][rid] = rec
            for inv in touched:
                inv.data.setdefault("LinkedTxn", []).append({"TxnId": rid, "TxnType": "Payment"})
                inv.sync += 1
                inv.updated = now
                if event:
                    self.state.record_event(company, "Invoice", inv.id, "Update", now)
            company.link(ref["value"], "Payment", rid)
            company.bump("Payment")
            company.bump("Invoice")
            self.recalc_customer(company, ref["value"])
            if event:
                self.state.record_event(company, "Payment", rid, "Create", now)
            return rec

    def insert_credit(self, company: Company, payload: dict[str, Any], event: bool = True) -> Record:
        now = self.state.now()
        with company.lock:
            ref = self._customer_ref(company, payload.get("CustomerRef"))
            total = money(payload.get("TotalAmt", 0))
            remaining = money(payload.get("RemainingCredit", total))
            data = {
                k: v for k, v in payload.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse", "kind")
            }
            data.update(
                {
                    "CustomerRef": ref,
                    "TxnDate": str(payload.get("TxnDate") or self.state.fmt_date(now)),
                    "TotalAmt": total,
                    "RemainingCredit": remaining,
                    "Balance": remaining,
                    "DocNumber": str(payload.get("DocNumber") or company.new_doc_number()),
                    "CurrencyRef": payload.get("CurrencyRef") or {"value": "USD", "name": "United States Dollar"},
                }
            )
            rid = company.new_txn_id()
            rec = Record("CreditMemo", rid, data, now, now)
            company.tables["CreditMemo"][rid] = rec
            company.link(ref["value"], "CreditMemo", rid)
            company.bump("CreditMemo")
            self.recalc_customer(company, ref["value"])
            if event:
                self.state.record_event(company, "CreditMemo", rid, "Create", now)
            return rec

    def apply_credit(self, company: Company, credit_id: str, invoice_id: str, amount: float) -> dict[str, Any]:
        """Apply an unapplied payment or a credit memo's remaining credit to an invoice."""
        now = self.state.now()
        amt = cents(amount)
        if amt <= 0:
            raise AdminError("amount must be positive")
        with company.lock:
            inv = company.tables["Invoice"].get(invoice_id)
            if inv is None:
                raise AdminError(f"unknown invoice {invoice_id}", 404)
            if amt > cents(inv.data["Balance"]):
                raise AdminError("amount exceeds the invoice balance")
            pay = company.tables["Payment"].get(credit_id)
            memo = company.tables["CreditMemo"].get(credit_id)
            customer_id = inv.data["CustomerRef"]["value"]
            if pay is not None:
                if amt > cents(pay.data.get("UnappliedAmt", 0)):
                    raise AdminError("amount exceeds the payment's UnappliedAmt")
                pay.data["UnappliedAmt"] = money((cents(pay.data["UnappliedAmt"]) - amt) / 100)
                pay.data.setdefault("Line", []).append(
                    {"Amount": money(amt / 100), "LinkedTxn": [{"TxnId": inv.id, "TxnType": "Invoice"}]}
                )
                pay.sync += 1
                pay.updated = now
                link_id, link_type = pay.id, "Payment"
                self.state.record_event(company, "Payment", pay.id, "Update", now)
            elif memo is not None:
                if amt > cents(memo.data.get("RemainingCredit", 0)):
                    raise AdminError("amount exceeds the credit memo's RemainingCredit")
                remaining = money((cents(memo.data["RemainingCredit"]) - amt) / 100)
                memo.data["RemainingCredit"] = remaining
                memo.data["Balance"] = remaining
                memo.sync += 1
                memo.updated = now
                self.state.record_event(company, "CreditMemo", memo.id, "Update", now)
                # QBO records a credit application as a zero-total Payment linking both documents.
                pay = self.insert_payment(
                    company,
                    {
                        "CustomerRef": {"value": customer_id},
                        "TotalAmt": 0,
                        "UnappliedAmt": 0,
                        "Line": [
                            {"Amount": money(amt / 100), "LinkedTxn": [{"TxnId": inv.id, "TxnType": "Invoice"}]},
                            {"Amount": money(amt / 100), "LinkedTxn": [{"TxnId": memo.id, "TxnType": "CreditMemo"}]},
                        ],
                    },
                )
                company.bump("CreditMemo")
                self.recalc_customer(company, customer_id)
                return {"payment": render(self.state, pay), "invoice": render(self.state, inv)}
            else:
                raise AdminError(f"unknown payment or credit memo {credit_id}", 404)
            inv.data["Balance"] = money((cents(inv.data["Balance"]) - amt) / 100)
            inv.data.setdefault("LinkedTxn", []).append({"TxnId": link_id, "TxnType": link_type})
            inv.sync += 1
            inv.updated = now
            self.state.record_event(company, "Invoice", inv.id, "Update", now)
            company.bump("Invoice")
            company.bump("Payment")
            self.recalc_customer(company, customer_id)
            return {"payment": render(self.state, pay), "invoice": render(self.state, inv)}

    def delete_txn(self, company: Company, entity: str, payload: dict[str, Any], *, check_token: bool = True) -> Record:
        """``POST /{entity}?operation=delete``: remove and keep a CDC stub; unlink payments/invoices."""
        rid = str(payload.get("Id"))
        now = self.state.now()
        with company.lock:
            rec = company.tables[entity].get(rid)
            if rec is None:
                raise not_found_fault()
            if check_token:
                token = payload.get("SyncToken")
                if token is None:
                    raise required_fault("SyncToken")
                if str(token) != str(rec.sync):
                    raise stale_fault()
            customer_id = rec.data.get("CustomerRef", {}).get("value", "")
            if entity == "Invoice":
                for pay in company.tables["Payment"].values():
                    lines = pay.data.get("Line") or []
                    kept = [ln for ln in lines if not _links(ln, rid, "Invoice")]
                    if len(kept) != len(lines):
                        freed = sum(cents(ln.get("Amount", 0)) for ln in lines if _links(ln, rid, "Invoice"))
                        pay.data["Line"] = kept
                        pay.data["UnappliedAmt"] = money((cents(pay.data.get("UnappliedAmt", 0)) + freed) / 100)
                        pay.sync += 1
                        pay.updated = now
                        company.bump("Payment")
            elif entity == "Payment":
                for line in rec.data.get("Line") or []:
                    for linked in line.get("LinkedTxn") or []:
                        if linked.get("TxnType") == "Invoice" and (
                            inv := company.tables["Invoice"].get(linked["TxnId"])
                        ):
                            inv.data["Balance"] = money(
                                (cents(inv.data["Balance"]) + cents(line.get("Amount", 0))) / 100
                            )
                            inv.data["LinkedTxn"] = [
                                lt for lt in inv.data.get("LinkedTxn", []) if lt.get("TxnId") != rid
                            ]
                            inv.sync += 1
                            inv.updated = now
                            company.bump("Invoice")
            del company.tables[entity][rid]
            rec.updated = now
            company.deleted[entity][rid] = rec
            company.by_customer.get(customer_id, set()).discard((entity, rid))
            company.bump(entity)
            self.recalc_customer(company, customer_id)
            self.state.record_event(company, entity, rid, "Delete", now)
            return rec

    # -- query --------------------------------------------------------------------------------------------

    def run_query(self, company: Company, text: str) -> dict[str, Any]:
        query = parse_query(text)
        entity = ENTITY_BY_LOWER.get(query.entity.lower())
        if entity is None:
            raise validation_error(f"Invalid context declaration : {query.entity}")
        query.entity = entity
        getters = [(c, _getter(entity, c.field)) for c in query.conditions]
        order = [(_getter(entity, name), desc) for name, desc in query.order]
        for name, _desc in query.order:
            _getter(entity, name)
        if query.max_results is not None and query.max_results < 1:
            raise validation_error(f"value {query.max_results} for MAXRESULTS is not valid")
        with company.lock:
            matches = self._matches(company, query, getters, order)
            if query.count:
                return {"QueryResponse": {"totalCount": len(matches)}}
            start = max(1, query.start)
            limit = min(
                query.max_results or self.state.config.query_default_results, self.state.config.query_max_results
            )
            page = matches[start - 1 : start - 1 + limit]
            if not page:
                return {"QueryResponse": {}}
            if query.fields:
                objs = [_project(render(self.state, r), query.fields) for r in page]
            else:
                objs = [render(self.state, r) for r in page]
        return {"QueryResponse": {entity: objs, "startPosition": start, "maxResults": len(objs)}}

    def _matches(
        self,
        company: Company,
        query: Query,
        getters: list[tuple[Condition, Callable[[Record], Any]]],
        order: list[tuple[Callable[[Record], Any], bool]],
    ) -> list[Record]:
        """All matching records in result order, cached per (query, entity version) so paging is O(page)."""
        entity = query.entity
        key = query.cache_key()
        version = company.versions[entity]
        cached = company.query_cache.get(key)
        if cached is not None and cached[0] == version:
            company.query_cache.move_to_end(key)
            return cached[1]
        predicates = [_predicate(entity, cond, getter) for cond, getter in getters]
        if entity in NAME_ENTITIES and not any(c.field.lower() == "active" for c in query.conditions):
            predicates.append(lambda r: bool(r.data.get("Active", True)))  # inactive rows only when asked for
        rows = [r for r in company.tables[entity].values() if all(p(r) for p in predicates)]
        rows.sort(key=lambda r: int(r.id) if r.id.isdigit() else 0)
        for getter, desc in reversed(order):
            rows.sort(key=lambda r, gt=getter: _sort_key(gt(r)), reverse=desc)  # type: ignore[misc]
        company.query_cache[key] = (version, rows)
        while len(company.query_cache) > 32:
            company.query_cache.popitem(last=False)
        return rows

    # -- CDC ----------------------------------------------------------------------------------------------

    def cdc(self, company: Company, entities_param: str, changed_since: str) -> dict[str, Any]:
        if not entities_param.strip():
            raise required_fault("entities")
        if not changed_since.strip():
            raise required_fault("changedSince")
        wanted: list[str] = []
        for raw in entities_param.split(","):
            name = raw.strip()
            if not name:
                continue
            entity = ENTITY_BY_LOWER.get(name.lower())
            if entity is None:
                raise QboFault("Invalid Request", f"Entity {name} is not supported for CDC operation.", "2010")
            if entity not in wanted:
                wanted.append(entity)
        try:
            since = parse_iso_datetime(changed_since).timestamp()
        except ValueError as exc:
            raise unsupported_property_fault("changedSince specified is unsupported or invalid") from exc
        now = self.state.now()
        if since < now - self.state.config.cdc_window_days * DAY:
            raise business_fault(
                f"Operation cdc with changedSince date {changed_since} which is older than fixed days is not supported."
            )
        changes: list[tuple[float, int, str, Record, bool]] = []
        with company.lock:
            for idx, entity in enumerate(wanted):
                for rec in company.tables[entity].values():
                    if rec.updated >= since:
                        changes.append((rec.updated, idx, entity, rec, False))
                for rec in company.deleted[entity].values():
                    if rec.updated >= since:
                        changes.append((rec.updated, idx, entity, rec, True))
            changes.sort(key=lambda c: (c[0], c[1], int(c[3].id) if c[3].id.isdigit() else 0))
            changes = changes[: self.state.config.cdc_max_objects]
            grouped: dict[str, list[dict[str, Any]]] = {e: [] for e in wanted}
            for _ts, _idx, entity, rec, is_deleted in changes:
                grouped[entity].append(deleted_stub(self.state, rec) if is_deleted else render(self.state, rec))
        responses: list[dict[str, Any]] = []
        for entity in wanted:
            items = grouped[entity]
            if items:
                responses.append(
                    {entity: items, "startPosition": 1, "maxResults": len(items), "totalCount": len(items)}
                )
            else:
                responses.append({})
        return {"CDCResponse": [{"QueryResponse": responses}]}


def _links(line: dict[str, Any], rid: str, txn_type: str) -> bool:
    return any(lt.get("TxnId") == rid and lt.get("TxnType") == txn_type for lt in line.get("LinkedTxn") or [])


def _project(obj: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"domain": "QBO", "sparse": True, "Id": obj["Id"]}
    for name in fields:
        top = name.split(".")[0]
        for key in obj:
            if key.lower() == top.lower():
                out[key] = obj[key]
    return out


# Queryable properties per entity (lower-case name → kind). Kinds drive literal coercion.
_COMMON_FIELDS = {"id": "id", "metadata.createtime": "ts", "metadata.lastupdatedtime": "ts", "synctoken": "sync"}
QUERYABLE: dict[str, dict[str, str]] = {
    "Customer": {
        **_COMMON_FIELDS,
        **dict.fromkeys(
            [
                "displayname",
                "givenname",
                "middlename",
                "familyname",
                "title",
                "suffix",
                "companyname",
                "fullyqualifiedname",
                "printoncheckname",
            ],
            "str",
        ),
        "primaryemailaddr": "email",
        "active": "bool",
        "job": "bool",
        "balance": "num",
        "balancewithjobs": "num",
        "parentref": "ref",
    },
    "Vendor": {
        **_COMMON_FIELDS,
        **dict.fromkeys(["displayname", "givenname", "familyname", "companyname", "printoncheckname"], "str"),
        "active": "bool",
        "balance": "num",
    },
    "Employee": {
        **_COMMON_FIELDS,
        **dict.fromkeys(["displayname", "givenname", "familyname", "printoncheckname"], "str"),
        "active": "bool",
    },
    "Invoice": {
        **_COMMON_FIELDS,
        "docnumber": "str",
        "txndate": "date",
        "duedate": "date",
        "customerref": "ref",
        "totalamt": "num",
        "balance": "num",
    },
    "Payment": {**_COMMON_FIELDS, "txndate": "date", "customerref": "ref", "totalamt": "num"},
    "CreditMemo": {
        **_COMMON_FIELDS,
        "docnumber": "str",
        "txndate": "date",
        "customerref": "ref",
        "totalamt": "num",
        "balance": "num",
    },
}
_CANONICAL = {
    "displayname": "DisplayName", "givenname": "GivenName", "middlename": "MiddleName", "familyname": "FamilyName",
    "title": "Title", "suffix": "Suffix", "companyname": "CompanyName", "fullyqualifiedname": "FullyQualifiedName",
    "printoncheckname": "PrintOnCheckName", "active": "Active", "job": "Job", "balance": "Balance",
    "balancewithjobs": "BalanceWithJobs", "docnumber": "DocNumber", "txndate": "TxnDate", "duedate": "DueDate",
    "totalamt": "TotalAmt", "customerref": "CustomerRef", "parentref": "ParentRef",
}  # fmt: skip


def _field_kind(entity: str, name: str) -> tuple[str, str]:
    lower = name.lower()
    if lower.endswith(".value") and lower[:-6] in ("customerref", "parentref"):
        lower = lower[:-6]
    if lower == "primaryemailaddr.address":
        lower = "primaryemailaddr"
    kind = QUERYABLE[entity].get(lower)
    if kind is None:
        raise validation_error(f"property '{name}' is not queryable")
    return lower, kind


def _getter(entity: str, name: str) -> Callable[[Record], Any]:
    """Value extractor used for both WHERE and ORDERBY."""
    lower, kind = _field_kind(entity, name)
    if kind == "id":
        return lambda r: int(r.id) if r.id.isdigit() else r.id
    if kind == "sync":
        return lambda r: r.sync
    if kind == "ts":
        return (lambda r: r.created) if lower == "metadata.createtime" else (lambda r: r.updated)
    if kind == "email":
        return lambda r: (r.data.get("PrimaryEmailAddr") or {}).get("Address")
    canonical = _CANONICAL[lower]
    if kind == "ref":
        return lambda r: (r.data.get(canonical) or {}).get("value")
    if kind == "bool":
        default = canonical == "Active"
        return lambda r: bool(r.data.get(canonical, default))
    return lambda r: r.data.get(canonical)


def _coerce(kind: str, lower: str, value: Any) -> Any:
    if kind == "id" or kind == "sync":
        text = str(value)
        return int(text) if text.isdigit() else text
    if kind == "ts":
        try:
            return parse_iso_datetime(str(value)).timestamp()
        except ValueError as exc:
            raise validation_error(f"invalid date/time value {value!r} for {lower}") from exc
    if kind == "bool":
        if isinstance(value, bool):
            return value
        return str(value).lower() == "true"
    if kind == "num":
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise validation_error(f"invalid numeric value {value!r}") from exc
    return str(value).casefold() if value is not None else None


def _predicate(entity: str, cond: Condition, getter: Callable[[Record], Any]) -> Callable[[Record], bool]:
    """Compile one WHERE condition; inactive name-list rows also match their `` (deleted)`` display name."""
    lower, kind = _field_kind(entity, cond.field)
    is_str = kind in ("str", "ref", "email", "date")
    is_display = lower == "displayname"

    def norm(v: Any) -> Any:
        if v is None:
            return None
        return str(v).casefold() if is_str else v

    def candidates(r: Record) -> list[Any]:
        base = norm(getter(r))
        if is_display and not r.data.get("Active", True) and base is not None:
            return [base, f"{base}{DELETED_SUFFIX}"]
        return [base]

    op = cond.op
    if op == "IN":
        allowed = {_coerce(kind, lower, v) for v in cond.value}
        return lambda r: any(c in allowed for c in candidates(r))
    if op == "LIKE":
        rx = like_to_regex(str(cond.value))
        return lambda r: any(c is not None and rx.match(str(c)) is not None for c in candidates(r))
    target = _coerce(kind, lower, cond.value)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
    }
    fn = compare[op]

    def check(r: Record) -> bool:
        for c in candidates(r):
            if c is None:
                continue
            try:
                if fn(c, target):
                    return True
            except TypeError:
                continue
        return False

    return check


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    return (1, value)


# ============================================================================================ seeding


@dataclass
class SeedParams:
    customers: int = 200
    inactive: int | None = None
    years: float = 2.0
    seed: int = 7
    invoices_per_customer: tuple[int, int] = (3, 12)
    unapplied_share: float = 0.1
    credit_share: float = 0.08
    clash_name: str = "Acme Supplies"
    vendors: int = 10
    employees: int = 5

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SeedParams:
        ipc = raw.get("invoices_per_customer", [3, 12])
        if isinstance(ipc, int):
            ipc = [ipc, ipc]
        return cls(
            customers=int(raw.get("customers", 200)),
            inactive=int(raw["inactive"]) if raw.get("inactive") is not None else None,
            years=float(raw.get("years", 2)),
            seed=int(raw.get("seed", 7)),
            invoices_per_customer=(int(ipc[0]), int(ipc[1])),
            unapplied_share=float(raw.get("unapplied_share", 0.1)),
            credit_share=float(raw.get("credit_share", 0.08)),
            clash_name=str(raw.get("clash_name") or "Acme Supplies"),
            vendors=int(raw.get("vendors", 10)),
            employees=int(raw.get("employees", 5)),
        )


def seed_company(state: QboState, company: Company, params: SeedParams) -> dict[str, Any]:
    """Deterministic realistic AR data (``random.Random(seed)``); timestamps relative to the emulator clock.

    ``inactive`` is a count of inactive customers (default 10% of ``customers``), one of which is named
    ``clash_name``. Inactive customers have every invoice paid and nothing unapplied (QBO refuses to deactivate
    a customer with a balance). Customer payment behaviour comes from three profiles (prompt, sometimes late,
    chronically late with some never-paid invoices) so payment history and days-late are meaningful.
    """
    rng = random.Random(params.seed)
    now = state.now()
    start = now - params.years * 365 * DAY
    fmt_date = state.fmt_date
    counts: dict[str, Any] = {
        "customers": 0,
        "inactive": 0,
        "vendors": 0,
        "employees": 0,
        "invoices": 0,
        "payments": 0,
        "unapplied_payments": 0,
        "credit_memos": 0,
        "open_invoices": 0,
        "overdue_invoices": 0,
    }
    usd = {"value": "USD", "name": "United States Dollar"}
    net30 = {"value": "3", "name": "Net 30"}

    def unique(name: str, alt: str) -> str:
        candidate = name
        tries = 0
        while name_key(candidate) in company.names:
            tries += 1
            candidate = f"{name} ({alt})" if tries == 1 else f"{name} {tries}"
        return candidate

    with company.lock:
        for i in range(params.vendors):
            base = seed_data.VENDOR_NAMES[i] if i < len(seed_data.VENDOR_NAMES) else seed_data.company_name(rng)
            vname = unique(base, "Supplier")
            rid = company.new_name_id()
            ts = start - rng.uniform(30, 400) * DAY
            company.tables["Vendor"][rid] = Record(
                "Vendor",
                rid,
                {
                    "DisplayName": vname,
                    "CompanyName": vname,
                    "PrintOnCheckName": vname,
                    "Active": True,
                    "Balance": 0.0,
                    "CurrencyRef": usd,
                },
                ts,
                ts,
            )
            company.names[name_key(vname)] = ("Vendor", rid)
            counts["vendors"] += 1
        for _ in range(params.employees):
            p = seed_data.person(rng)
            ename = unique(f"{p.given} {p.family}", "Staff")
            rid = company.new_name_id()
            ts = start - rng.uniform(30, 400) * DAY
            company.tables["Employee"][rid] = Record(
                "Employee",
                rid,
                {
                    "DisplayName": ename,
                    "GivenName": p.given,
                    "FamilyName": p.family,
                    "PrintOnCheckName": ename,
                    "Active": True,
                },
                ts,
                ts,
            )
            company.names[name_key(ename)] = ("Employee", rid)
            counts["employees"] += 1

        n = params.customers
        n_inactive = params.inactive if params.inactive is not None else round(n * 0.1)
        n_inactive = max(0, min(n, n_inactive))
        inactive_idx = set(rng.sample(range(n), n_inactive)) if n_inactive else set()
        if not inactive_idx and n > 0:
            inactive_idx = {n - 1}
        clash_idx = min(inactive_idx) if inactive_idx else -1
        lo, hi = params.invoices_per_customer
        customer_tables = company.tables["Customer"]
        invoices = company.tables["Invoice"]
        payments = company.tables["Payment"]
        memos = company.tables["CreditMemo"]

        for i in range(n):
            inactive = i in inactive_idx
            p = seed_data.person(rng)
            is_company = rng.random() < 0.7
            city_addr = seed_data.address(rng)
            if i == clash_idx and name_key(params.clash_name) not in company.names:
                display = params.clash_name
                is_company = True
            elif is_company:
                display = unique(seed_data.company_name(rng), city_addr["City"])
            else:
                display = unique(f"{p.given} {p.family}", city_addr["City"])
            cid = company.new_name_id()
            created = start - rng.uniform(1, 120) * DAY
            data: dict[str, Any] = {
                "GivenName": p.given,
                "FamilyName": p.family,
                "DisplayName": display,
                "PrintOnCheckName": display,
                "Active": not inactive,
                "Job": False,
                "BillWithParent": False,
                "Taxable": False,
                "IsProject": False,
                "PreferredDeliveryMethod": "Email",
                "Balance": 0.0,
                "BalanceWithJobs": 0.0,
                "CurrencyRef": usd,
                "BillAddr": city_addr,
                "PrimaryEmailAddr": {
                    "Address": seed_data.email_for(rng, p.given, p.family, display if is_company else None)
                },
                "PrimaryPhone": {"FreeFormNumber": seed_data.phone(rng)},
                "SalesTermRef": net30,
            }
            if is_company:
                data["CompanyName"] = display
            if rng.random() < 0.3:
                data["ShipAddr"] = dict(city_addr)
            customer = Record("Customer", cid, data, created, created)
            customer_tables[cid] = customer
            company.names[name_key(display)] = ("Customer", cid)
            counts["customers"] += 1
            links: set[tuple[str, str]] = set()
            company.by_customer[cid] = links

            roll = rng.random()
            if roll < 0.6:
                late_p, late_mean, never_p = 0.08, 4.0, 0.0
            elif roll < 0.85:
                late_p, late_mean, never_p = 0.45, 18.0, 0.02
            else:
                late_p, late_mean, never_p = 0.85, 45.0, 0.2
            end = now - (rng.uniform(30, 200) * DAY if inactive else DAY)
            last_touch = created
            balance = 0
            for _ in range(rng.randint(lo, hi) if hi >= lo else lo):
                txn_ts = rng.uniform(max(start, created), end)
                due_ts = txn_ts + 30 * DAY
                total = max(50_00, min(50_000_00, int(rng.lognormvariate(7.0, 0.9) * 100)))
                if rng.random() < late_p:
                    pay_ts = due_ts + max(1.0, rng.expovariate(1.0 / late_mean)) * DAY
                else:
                    pay_ts = txn_ts + rng.uniform(0, 30) * DAY
                never = (not inactive) and rng.random() < never_p
                partial = (not inactive) and not never and rng.random() < 0.05
                paid_ts = None if never or (pay_ts > now and not inactive) else min(pay_ts, now - 60)
                iid = company.new_txn_id()
                inv_data: dict[str, Any] = {
                    "DocNumber": company.new_doc_number(),
                    "TxnDate": fmt_date(txn_ts),
                    "DueDate": fmt_date(due_ts),
                    "CustomerRef": {"value": cid, "name": display},
                    "SalesTermRef": net30,
                    "TotalAmt": total / 100,
                    "Balance": total / 100,
                    "CurrencyRef": usd,
                    "LinkedTxn": [],
                    "EmailStatus": "EmailSent",
                }
                inv = Record("Invoice", iid, inv_data, txn_ts, txn_ts)
                invoices[iid] = inv
                links.add(("Invoice", iid))
                counts["invoices"] += 1
                last_touch = max(last_touch, txn_ts)
                if paid_ts is not None:
                    amount = total // 2 if partial else total
                    pid = company.new_txn_id()
                    payments[pid] = Record(
                        "Payment",
                        pid,
                        {
                            "TxnDate": fmt_date(paid_ts),
                            "CustomerRef": {"value": cid, "name": display},
                            "TotalAmt": amount / 100,
                            "UnappliedAmt": 0.0,
                            "CurrencyRef": usd,
                            "ProcessPayment": False,
                            "Line": [{"Amount": amount / 100, "LinkedTxn": [{"TxnId": iid, "TxnType": "Invoice"}]}],
                        },
                        paid_ts,
                        paid_ts,
                    )
                    links.add(("Payment", pid))
                    counts["payments"] += 1
                    inv_data["Balance"] = (total - amount) / 100
                    inv_data["LinkedTxn"].append({"TxnId": pid, "TxnType": "Payment"})
                    inv.sync = 1
                    inv.updated = paid_ts
                    last_touch = max(last_touch, paid_ts)
                if inv_data["Balance"] > 0:
                    balance += round(inv_data["Balance"] * 100)
                    counts["open_invoices"] += 1
                    if due_ts < now:
                        counts["overdue_invoices"] += 1
            if not inactive and rng.random() < params.unapplied_share:
                amount = rng.randint(25, 1500) * 100 + rng.choice((0, 50, 99))
                ts = now - rng.uniform(2, 90) * DAY
                pid = company.new_txn_id()
                payments[pid] = Record(
                    "Payment",
                    pid,
                    {
                        "TxnDate": fmt_date(ts),
                        "CustomerRef": {"value": cid, "name": display},
                        "TotalAmt": amount / 100,
                        "UnappliedAmt": amount / 100,
                        "CurrencyRef": usd,
                        "ProcessPayment": False,
                        "Line": [],
                    },
                    ts,
                    ts,
                )
                links.add(("Payment", pid))
                balance -= amount
                counts["payments"] += 1
                counts["unapplied_payments"] += 1
                last_touch = max(last_touch, ts)
            if not inactive and rng.random() < params.credit_share:
                total = rng.randint(20, 800) * 100
                remaining = total if rng.random() < 0.7 else total // 2
                ts = now - rng.uniform(2, 200) * DAY
                mid = company.new_txn_id()
                memos[mid] = Record(
                    "CreditMemo",
                    mid,
                    {
                        "DocNumber": company.new_doc_number(),
                        "TxnDate": fmt_date(ts),
                        "CustomerRef": {"value": cid, "name": display},
                        "TotalAmt": total / 100,
                        "RemainingCredit": remaining / 100,
                        "Balance": remaining / 100,
                        "CurrencyRef": usd,
                    },
                    ts,
                    ts,
                )
                links.add(("CreditMemo", mid))
                balance -= remaining
                counts["credit_memos"] += 1
                last_touch = max(last_touch, ts)
            data["Balance"] = data["BalanceWithJobs"] = balance / 100
            if inactive:
                customer.updated = min(now - DAY, last_touch + rng.uniform(1, 20) * DAY)
                customer.sync = 1
                counts["inactive"] += 1
            elif rng.random() < 0.15:
                customer.updated = now - rng.uniform(0.1, 25) * DAY
                customer.sync = rng.randint(1, 4)
        for entity in ALL_ENTITIES:
            company.bump(entity)
    counts["clash_name"] = params.clash_name if clash_idx >= 0 else None
    return counts


def company_state(company: Company, state: QboState) -> dict[str, Any]:
    """Counts for ``GET /_admin/companies/{id}/state``."""
    now_date = state.fmt_date(state.now())
    with company.lock:
        customers = company.tables["Customer"].values()
        active = sum(1 for c in customers if c.data.get("Active", True))
        invoices = company.tables["Invoice"].values()
        open_inv = [i for i in invoices if i.data.get("Balance", 0) > 0]
        overdue = sum(1 for i in open_inv if str(i.data.get("DueDate", "")) < now_date)
        payments = company.tables["Payment"].values()
        memos = company.tables["CreditMemo"].values()
        differs = 0
        for c in customers:
            total_due = sum(
                cents(company.tables["Invoice"][tid].data.get("Balance", 0))
                for ent, tid in company.by_customer.get(c.id, ())
                if ent == "Invoice" and tid in company.tables["Invoice"]
            )
            if total_due != cents(c.data.get("Balance", 0)):
                differs += 1
        return {
            "company_id": company.realm_id,
            "name": company.name,
            "customers": {
                "total": len(company.tables["Customer"]),
                "active": active,
                "inactive": len(company.tables["Customer"]) - active,
                "balance_differs_from_total_due": differs,
            },
            "vendors": len(company.tables["Vendor"]),
            "employees": len(company.tables["Employee"]),
            "invoices": {"total": len(company.tables["Invoice"]), "open": len(open_inv), "overdue": overdue},
            "payments": {
                "total": len(company.tables["Payment"]),
                "unapplied": sum(1 for p in payments if p.data.get("UnappliedAmt", 0) > 0),
            },
            "credit_memos": {
                "total": len(company.tables["CreditMemo"]),
                "with_remaining_credit": sum(1 for m in memos if m.data.get("RemainingCredit", 0) > 0),
            },
            "deleted": {e: len(d) for e, d in company.deleted.items() if d},
            "pending_webhook_events": len(company.pending_events),
            "requestids": len(company.requestids),
        }


# ============================================================================================ webhooks


def sign_webhook(key: str, body: bytes) -> str:
    """``intuit-signature``: base64(HMAC-SHA256(verifier token, raw body))."""
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def build_webhook_payload(state: QboState) -> tuple[dict[str, Any], int]:
    """Legacy ``eventNotifications`` payload from all pending events (drained); returns it and the event count."""
    notifications: list[dict[str, Any]] = []
    count = 0
    for company in list(state.companies.values()):
        with company.lock:
            events, company.pending_events = company.pending_events, []
        if not events:
            continue
        count += len(events)
        entities = [
            {
                "name": e["name"],
                "id": e["id"],
                "operation": e["operation"],
                "lastUpdated": _webhook_ts(e["lastUpdated"]),
            }
            for e in events
        ]
        notifications.append({"realmId": company.realm_id, "dataChangeEvent": {"entities": entities}})
    return {"eventNotifications": notifications}, count


def _webhook_ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ============================================================================================ Flask app


def _new_tid() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def create_app(config: EmulatorConfig | None = None) -> Flask:
    """Build the emulator WSGI app; ``app.config["QBO_STATE"]`` is the :class:`QboState`."""
    cfg = config or EmulatorConfig()
    state = QboState(cfg)
    service = QboService(state)
    runtime = state.runtime
    app = Flask(__name__)
    app.config["QBO_STATE"] = state
    app.json.sort_keys = False  # type: ignore[attr-defined]
    from local.emulators.common import DropConnectionMiddleware

    app.wsgi_app = DropConnectionMiddleware(app.wsgi_app)  # type: ignore[method-assign]

    def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        resp = Response(json.dumps(body, separators=(",", ":")), status=status, headers=headers)
        resp.headers["Content-Type"] = "application/json;charset=UTF-8"
        return resp

    def fault_response(exc: QboFault) -> Response:
        err = fault_error(exc.message, exc.detail, exc.code, exc.element)
        return json_response(fault_body([err], exc.fault_type, state.time_text()), exc.status)

    def lower_fault(message: str, detail: str | None, code: str, type_: str, status: int) -> Response:
        body = lower_fault_body(message, detail, code, type_, int(state.now() * 1000))
        return json_response(body, status)

    def auth_failed(detail: str | None) -> Response:
        resp = lower_fault(
            "message=AuthenticationFailed; errorCode=003200; statusCode=401", detail, "3200", "AUTHENTICATION", 401
        )
        resp.headers["WWW-Authenticate"] = 'Bearer realm="Intuit", error="invalid_token"'
        return resp

    def throttled(retry_after: str | None = None) -> Response:
        resp = lower_fault("message=ThrottleExceeded; errorCode=003001; statusCode=429", None, "3001", "SERVICE", 429)
        if retry_after is not None:
            resp.headers["Retry-After"] = retry_after
        return resp

    def oauth_error(error: str, status: int = 400, description: str | None = None) -> Response:
        body: dict[str, str] = {"error": error}
        if description:
            body["error_description"] = description
        return json_response(body, status)

    # -- request pipeline ---------------------------------------------------------------------------------

    @app.before_request
    def pipeline() -> Response | None:
        g.tid = _new_tid()
        if request.path.startswith("/_admin"):
            return None
        realm = (request.view_args or {}).get("realm")
        g.realm = realm
        g.requestid = request.args.get("requestid") if request.method == "POST" else None
        if realm is not None:
            problem = runtime.limiter.acquire(realm)
            if problem is not None:
                return throttled()
            g.acquired = realm
        rule = runtime.faults.pick(request.method, request.path, realm)
        if rule is not None:
            g.fault = rule.action
            response = apply_fault(rule, realm)
            if response is not None:
                return response
        if realm is None:
            return None
        auth = check_bearer(realm)
        if auth is not None:
            return auth
        company = state.companies.get(realm)
        if company is None:
            return lower_fault(
                "message=AuthorizationFailed; errorCode=003100; statusCode=403", None, "3100", "SERVICE", 403
            )
        if g.requestid:
            stored = company.requestids.get(g.requestid)
            if stored is not None:
                g.replayed = True
                resp = Response(stored[1], status=stored[0])
                resp.headers["Content-Type"] = "application/json;charset=UTF-8"
                return resp
            g.store_requestid = True
        return None

    def apply_fault(rule: FaultRule, realm: str | None) -> Response | None:
        action = rule.action
        if action == "latency":
            time.sleep(rule.latency_ms / 1000.0)
            return None
        if action == "revoke":
            if realm is not None:
                state.revoke_company(realm)
            return None
        if action == "drop_after_commit":
            request_connection_drop()
            return None
        if action == "drop_before_commit":
            request_connection_drop()
            return Response(b"", status=500)
        if action == "rate_limit":
            resp = throttled(rule.retry_after)
        elif rule.body is not None:
            resp = json_response(rule.body, rule.status)
        elif rule.status == 401:
            resp = auth_failed(None)
        elif rule.status == 429:
            resp = throttled(rule.retry_after)
        elif rule.status == 403:
            resp = lower_fault(
                "message=AuthorizationFailed; errorCode=003100; statusCode=403", None, "3100", "SERVICE", 403
            )
        elif rule.status >= 500:
            resp = fault_response(
                QboFault(
                    "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred while accessing or saving your data. "
                    "Please wait a few minutes and try again. If the problem persists, contact customer support.",
                    "10000",
                    None,
                    rule.status,
                    "SystemFault",
                )
            )
        else:
            resp = fault_response(QboFault("Injected fault", "Injected by the emulator", "6000", "", rule.status))
        if rule.retry_after is not None:
            resp.headers["Retry-After"] = rule.retry_after
        for key, value in rule.headers.items():
            resp.headers[key] = value
        return resp

    def check_bearer(realm: str) -> Response | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return auth_failed(None)
        token = header[7:].strip()
        info = state.access.get(token)
        if info is None:
            if len(token) < 20 or len(token) > 4096:
                return auth_failed("Malformed bearer token: too short or too long")
            return auth_failed(None)
        if info.grant.revoked:
            return auth_failed(None)
        if state.now() >= info.expires_at:
            return auth_failed(f"Token expired: {info.grant.grant_id}")
        if info.grant.realm_id != realm:
            return lower_fault(
                "message=AuthorizationFailed; errorCode=003100; statusCode=403", None, "3100", "SERVICE", 403
            )
        return None

    @app.after_request
    def finish(resp: Response) -> Response:
        resp.headers["intuit_tid"] = g.get("tid") or _new_tid()
        if request.path.startswith("/_admin"):
            return resp
        realm = g.get("realm")
        if g.get("store_requestid") and realm is not None and resp.status_code not in (401, 403, 429):
            company = state.companies.get(realm)
            if company is not None and g.requestid:
                with company.lock:
                    company.requestids.setdefault(g.requestid, (resp.status_code, resp.get_data()))
        template = rule_to_template(request.url_rule.rule) if request.url_rule is not None else request.path
        entry = {
            "ts": state.fmt_ts(state.now()),
            "method": request.method,
            "path": request.path,
            "query": scrub_query(request.query_string.decode("latin-1")),
            "status": resp.status_code,
            "idempotency_key": request.args.get("requestid"),
            "company_id": realm,
            "intuit_tid": resp.headers["intuit_tid"],
        }
        if g.get("fault"):
            entry["fault"] = g.fault
        if g.get("replayed"):
            entry["replayed"] = True
        runtime.log.record(entry, f"{request.method} {template}")
        return resp

    @app.teardown_request
    def release(_exc: BaseException | None) -> None:
        realm = g.get("acquired")
        if realm is not None:
            runtime.limiter.release(realm)

    @app.errorhandler(QboFault)
    def on_fault(exc: QboFault) -> Response:
        return fault_response(exc)

    @app.errorhandler(QueryError)
    def on_query_error(exc: QueryError) -> Response:
        return fault_response(QboFault(exc.message, exc.detail, exc.code, ""))

    @app.errorhandler(AdminError)
    def on_admin_error(exc: AdminError) -> tuple[Response, int]:
        return jsonify({"error": exc.message}), exc.status

    @app.errorhandler(404)
    def on_404(_exc: Exception) -> Response:
        if request.path.startswith("/v3/"):
            return fault_response(
                QboFault("Unsupported Operation", f"Operation {request.path} is not supported.", "500", "")
            )
        return json_response({"error": "not_found"}, 404)

    # -- OAuth --------------------------------------------------------------------------------------------

    @app.get("/.well-known/openid_configuration")
    def discovery() -> Response:
        base = request.host_url.rstrip("/")
        return json_response(
            {
                "issuer": "https://oauth.platform.intuit.com/op/v1",
                "authorization_endpoint": f"{base}/connect/oauth2",
                "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
            }
        )

    @app.get("/connect/oauth2")
    def authorize() -> BaseResponse:
        args = request.args
        client = state.clients.get(args.get("client_id", ""))
        redirect_uri = args.get("redirect_uri", "")
        if client is None:
            return oauth_error("invalid_client", 400, "Unknown client_id")
        if not redirect_uri or (client.redirect_uris and redirect_uri not in client.redirect_uris):
            return oauth_error("invalid_request", 400, "redirect_uri is not registered for this client")
        sep = "&" if "?" in redirect_uri else "?"
        state_param = args.get("state")
        if args.get("response_type") != "code":
            return redirect(
                f"{redirect_uri}{sep}{urlencode({'error': 'unsupported_response_type', 'state': state_param or ''})}"
            )
        if "com.intuit.quickbooks.accounting" not in args.get("scope", "").split():
            return redirect(f"{redirect_uri}{sep}{urlencode({'error': 'invalid_scope', 'state': state_param or ''})}")
        with state.lock:
            wanted = args.get("company")
            if wanted:
                company = state.companies.get(wanted)
                if company is None:
                    matches = [c for c in state.companies.values() if c.name == wanted]
                    company = matches[0] if matches else None
                if company is None:
                    return redirect(
                        f"{redirect_uri}{sep}{urlencode({'error': 'access_denied', 'state': state_param or ''})}"
                    )
            elif state.companies:
                company = next(iter(state.companies.values()))
            else:
                company = state.create_company("Sandbox Company_US_1")
            code = "AB1" + secrets.token_urlsafe(30)
            state.codes[code] = AuthCode(
                client.client_id, redirect_uri, company.realm_id, state.now() + cfg.auth_code_ttl
            )
        params = {"code": code, "state": state_param or "", "realmId": company.realm_id}
        return redirect(f"{redirect_uri}{sep}{urlencode(params)}")

    def client_from_basic() -> OAuthClient | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, _, secret = decoded.partition(":")
        client = state.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.client_secret, secret):
            return None
        return client

    @app.post("/oauth2/v1/tokens/bearer")
    def token() -> Response:
        client = client_from_basic()
        if client is None:
            return oauth_error("invalid_client", 401)
        form = request.form
        grant_type = form.get("grant_type", "")
        now = state.now()
        if grant_type == "authorization_code":
            code = form.get("code", "")
            with state.lock:
                info = state.codes.get(code)
                if info is None or info.used or info.expires_at <= now or info.client_id != client.client_id:
                    return oauth_error("invalid_grant")
                if form.get("redirect_uri", "") != info.redirect_uri:
                    return oauth_error("invalid_grant")
                info.used = True
            grant = state.new_grant(info.realm_id, client.client_id)
            return json_response(state.issue_tokens(grant))
        if grant_type == "refresh_token":
            presented = form.get("refresh_token", "")
            with state.lock:
                rt = state.refresh.get(presented)
                invalid = (
                    rt is None
                    or rt.grant.revoked
                    or rt.grant.client_id != client.client_id
                    or rt.expires_at <= now
                    or (rt.superseded_at is not None and now > rt.superseded_at + cfg.refresh_grace)
                )
                if invalid or rt is None:
                    return oauth_error("invalid_grant", 400, "Incorrect or invalid refresh token")
                if rt.superseded_at is None:
                    rt.superseded_at = now
                grant = rt.grant
            return json_response(state.issue_tokens(grant))
        return oauth_error("unsupported_grant_type")

    @app.post("/v2/oauth2/tokens/revoke")
    def revoke() -> Response:
        client = client_from_basic()
        if client is None:
            return oauth_error("invalid_client", 401)
        body = request.get_json(silent=True)
        presented = (body or {}).get("token") if isinstance(body, dict) else None
        presented = presented or request.form.get("token", "")
        if not presented:
            return oauth_error("invalid_request", 400, "token is required")
        with state.lock:
            grant: Grant | None = None
            if presented in state.refresh:
                grant = state.refresh[presented].grant
            elif presented in state.access:
                grant = state.access[presented].grant
            if grant is not None and grant.client_id == client.client_id:
                grant.revoked = True
        return Response(b"", status=200)

    # -- data API -----------------------------------------------------------------------------------------

    def company_or_403(realm: str) -> Company:
        return state.companies[realm]  # existence checked in the pipeline

    def read_json_body() -> dict[str, Any]:
        raw = request.get_data()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise QboFault("Unsupported Operation", "Invalid byte 1 of 1-byte UTF-8 sequence.", "500") from exc
        try:
            payload = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise unsupported_property_fault(
                f"Unexpected character ({exc.msg}) specified is unsupported or invalid"
            ) from exc
        if not isinstance(payload, dict):
            raise unsupported_property_fault("Request body specified is unsupported or invalid")
        return payload

    @app.get("/v3/company/<realm>/companyinfo/<cid>")
    def companyinfo(realm: str, cid: str) -> Response:
        company = company_or_403(realm)
        info = {
            "CompanyName": company.name,
            "LegalName": company.name,
            "Country": "US",
            "domain": "QBO",
            "sparse": False,
            "Id": "1",
            "SyncToken": "0",
            "MetaData": {"CreateTime": state.fmt_ts(company.created), "LastUpdatedTime": state.fmt_ts(company.created)},
        }
        return json_response({"CompanyInfo": info, "time": state.time_text()})

    @app.post("/v3/company/<realm>/customer")
    def write_customer(realm: str) -> Response:
        company = company_or_403(realm)
        payload = read_json_body()
        if request.args.get("operation", "").lower() == "delete":
            raise QboFault("Unsupported Operation", "Operation Delete is not supported.", "500")
        if payload.get("Id") not in (None, ""):
            rec = service.update_customer(company, payload)
        else:
            with company.lock:
                rec = service.create_customer(company, payload)
        return json_response({"Customer": render(state, rec), "time": state.time_text()})

    @app.post("/v3/company/<realm>/<entity_path>")
    def write_txn(realm: str, entity_path: str) -> Response:
        company = company_or_403(realm)
        entity = ENTITY_BY_LOWER.get(entity_path.lower())
        if entity is None or entity not in TXN_ENTITIES:
            raise QboFault("Unsupported Operation", f"Operation {entity_path} is not supported.", "500")
        payload = read_json_body()
        if request.args.get("operation", "").lower() != "delete":
            # Creating/updating transactions is done through the admin API in this emulator.
            raise QboFault(
                "Unsupported Operation", f"Operation create/update {entity} is not supported by the emulator.", "500"
            )
        rec = service.delete_txn(company, entity, payload)
        return json_response({entity: {"domain": "QBO", "status": "Deleted", "Id": rec.id}, "time": state.time_text()})

    @app.get("/v3/company/<realm>/<entity_path>/<rid>")
    def read_entity(realm: str, entity_path: str, rid: str) -> Response:
        company = company_or_403(realm)
        entity = ENTITY_BY_LOWER.get(entity_path.lower())
        if entity is None:
            raise QboFault("Unsupported Operation", f"Operation {entity_path} is not supported.", "500")
        with company.lock:
            rec = company.tables[entity].get(rid)
            if rec is None:
                raise not_found_fault()
            body = render(state, rec)
        return json_response({entity: body, "time": state.time_text()})

    @app.route("/v3/company/<realm>/query", methods=["GET", "POST"])
    def query(realm: str) -> Response:
        company = company_or_403(realm)
        if request.method == "GET":
            text = request.args.get("query", "")
        else:
            text = request.get_data(as_text=True) or request.args.get("query", "")
        if not text.strip():
            raise required_fault("query")
        result = service.run_query(company, text)
        result["time"] = state.time_text()
        return json_response(result)

    @app.post("/v3/company/<realm>/batch")
    def batch(realm: str) -> Response:
        company = company_or_403(realm)
        payload = read_json_body()
        items = payload.get("BatchItemRequest")
        if not isinstance(items, list) or not items:
            raise required_fault("BatchItemRequest")
        if len(items) > cfg.batch_max_items:
            raise business_fault(f"Batch size {len(items)} exceeds the maximum of {cfg.batch_max_items} items.")
        if state.batch_limiter.acquire(realm) is not None:
            return throttled()
        state.batch_limiter.release(realm)  # the window counts batches; concurrency is the realm limiter's
        responses = [batch_item(company, item) for item in items]
        return json_response({"BatchItemResponse": responses, "time": state.time_text()})

    def batch_item(company: Company, item: Any) -> dict[str, Any]:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        try:
            if not isinstance(item, dict) or not bid:
                raise required_fault("bId")
            if not isinstance(item.get("Query"), str):
                raise QboFault("Unsupported Operation", "Only Query batch items are supported by the emulator.", "500")
            result = service.run_query(company, item["Query"])
        except QueryError as exc:
            return {
                "bId": bid,
                "Fault": {"Error": [fault_error(exc.message, exc.detail, exc.code)], "type": "ValidationFault"},
            }
        except QboFault as exc:
            error = fault_error(exc.message, exc.detail, exc.code, exc.element)
            return {"bId": bid, "Fault": {"Error": [error], "type": exc.fault_type}}
        return {"bId": bid, **result}

    @app.get("/v3/company/<realm>/cdc")
    def cdc(realm: str) -> Response:
        company = company_or_403(realm)
        result = service.cdc(company, request.args.get("entities", ""), request.args.get("changedSince", ""))
        result["time"] = state.time_text()
        return json_response(result)

    # -- admin --------------------------------------------------------------------------------------------

    app.register_blueprint(make_common_admin_blueprint(runtime, state.revoke_company))
    register_admin(app, state, service)
    return app


def register_admin(app: Flask, state: QboState, service: QboService) -> None:
    """QBO-specific admin endpoints (companies, seeding, inserts, webhooks, OAuth clients)."""

    def ok(body: Any, status: int = 200) -> tuple[Response, int]:
        return jsonify(body), status

    @app.post("/_admin/reset")
    def admin_reset() -> tuple[Response, int]:
        state.reset()
        return ok({"reset": True})

    @app.get("/_admin/companies")
    def admin_list_companies() -> tuple[Response, int]:
        return ok({"companies": [{"company_id": c.realm_id, "name": c.name} for c in state.companies.values()]})

    @app.post("/_admin/companies")
    def admin_create_company() -> tuple[Response, int]:
        body = json_object_body()
        company = state.create_company(
            str(body.get("name") or "Sandbox Company_US_1"), str(body["company_id"]) if body.get("company_id") else None
        )
        return ok({"company_id": company.realm_id, "name": company.name}, 201)

    @app.post("/_admin/limits/batch")
    def admin_batch_limits() -> tuple[Response, int]:
        return ok(state.batch_limiter.configure(json_object_body()).to_json())

    @app.post("/_admin/companies/<cid>/seed")
    def admin_seed(cid: str) -> tuple[Response, int]:
        company = state.company(cid)
        try:
            params = SeedParams.from_json(json_object_body())
        except (TypeError, ValueError, IndexError) as exc:
            raise AdminError(f"invalid seed parameters: {exc}") from exc
        started = time.perf_counter()
        counts = seed_company(state, company, params)
        counts["seconds"] = round(time.perf_counter() - started, 3)
        return ok(counts)

    @app.post("/_admin/companies/<cid>/customers")
    def admin_insert_customer(cid: str) -> tuple[Response, int]:
        """One customer in wire shape, or ``{"customers": [...]}`` for a bulk insert (emulator extension)."""
        company = state.company(cid)
        body = json_object_body()
        if isinstance(body.get("customers"), list):
            rows = [service.create_customer(company, dict(row), validate=False) for row in body["customers"]]
            return ok({"inserted": len(rows), "ids": [r.id for r in rows]}, 201)
        rec = service.create_customer(company, body, validate=False)
        return ok({"Customer": render(state, rec)}, 201)

    def insert_name_row(cid: str, entity: str) -> tuple[Response, int]:
        company = state.company(cid)
        body = json_object_body()
        name = str(body.get("DisplayName") or "").strip()
        if not name:
            raise AdminError("DisplayName is required")
        now = state.now()
        with company.lock:
            rid = company.new_name_id()
            data = {k: v for k, v in body.items() if k not in READ_ONLY_FIELDS}
            data.setdefault("Active", True)
            company.names[name_key(name)] = (entity, rid)
            rec = Record(entity, rid, data, now, now)
            company.tables[entity][rid] = rec
            company.bump(entity)
        return ok({entity: render(state, rec)}, 201)

    @app.post("/_admin/companies/<cid>/vendors")
    def admin_insert_vendor(cid: str) -> tuple[Response, int]:
        return insert_name_row(cid, "Vendor")

    @app.post("/_admin/companies/<cid>/employees")
    def admin_insert_employee(cid: str) -> tuple[Response, int]:
        return insert_name_row(cid, "Employee")

    @app.post("/_admin/companies/<cid>/invoices")
    def admin_insert_invoice(cid: str) -> tuple[Response, int]:
        rec = service.insert_invoice(state.company(cid), json_object_body())
        return ok({"Invoice": render(state, rec)}, 201)

    @app.post("/_admin/companies/<cid>/payments")
    def admin_insert_payment(cid: str) -> tuple[Response, int]:
        rec = service.insert_payment(state.company(cid), json_object_body())
        return ok({"Payment": render(state, rec)}, 201)

    @app.post("/_admin/companies/<cid>/credits")
    def admin_insert_credit(cid: str) -> tuple[Response, int]:
        rec = service.insert_credit(state.company(cid), json_object_body())
        return ok({"CreditMemo": render(state, rec)}, 201)

    @app.post("/_admin/companies/<cid>/apply")
    def admin_apply(cid: str) -> tuple[Response, int]:
        body = json_object_body()
        try:
            amount = float(body["amount"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AdminError("amount is required") from exc
        result = service.apply_credit(
            state.company(cid), str(body.get("credit_id")), str(body.get("invoice_id")), amount
        )
        return ok(result)

    @app.post("/_admin/companies/<cid>/touch")
    def admin_touch(cid: str) -> tuple[Response, int]:
        company = state.company(cid)
        body = json_object_body()
        entity = ENTITY_BY_LOWER.get(str(body.get("entity", "")).lower())
        if entity is None:
            raise AdminError("entity must be one of " + ", ".join(ALL_ENTITIES))
        rid = str(body.get("id"))
        now = state.now()
        with company.lock:
            rec = company.tables[entity].get(rid)
            if rec is None:
                raise AdminError(f"unknown {entity} {rid}", 404)
            if body.get("delete"):
                if entity in NAME_ENTITIES:
                    self_name = str(rec.data.get("DisplayName", ""))
                    service.release_name(company, self_name, entity, rid)
                    del company.tables[entity][rid]
                    rec.updated = now
                    company.deleted[entity][rid] = rec
                    company.bump(entity)
                    state.record_event(company, entity, rid, "Delete", now)
                    return ok({"deleted": deleted_stub(state, rec)})
                stub = service.delete_txn(company, entity, {"Id": rid}, check_token=False)
                return ok({"deleted": deleted_stub(state, stub)})
            changes = body.get("changes") or {}
            if not isinstance(changes, dict):
                raise AdminError("changes must be an object")
            was_active = rec.data.get("Active", True)
            old_name = str(rec.data.get("DisplayName", ""))
            rec.data.update({k: v for k, v in changes.items() if k not in ("Id", "SyncToken", "MetaData")})
            if entity in NAME_ENTITIES and name_key(str(rec.data.get("DisplayName", ""))) != name_key(old_name):
                service.release_name(company, old_name, entity, rid)
                company.names[name_key(str(rec.data["DisplayName"]))] = (entity, rid)
            rec.sync += 1
            rec.updated = max(now, rec.updated)
            company.bump(entity)
            if entity == "Customer":
                service.recalc_customer(company, rid)
            elif "CustomerRef" in rec.data:
                service.recalc_customer(company, rec.data["CustomerRef"].get("value", ""))
            operation = (
                "Delete" if (entity in NAME_ENTITIES and was_active and not rec.data.get("Active", True)) else "Update"
            )
            state.record_event(company, entity, rid, operation, rec.updated)
            return ok({entity: render(state, rec)})

    @app.get("/_admin/companies/<cid>/state")
    def admin_state(cid: str) -> tuple[Response, int]:
        return ok(company_state(state.company(cid), state))

    @app.post("/_admin/companies/<cid>/tokens")
    def admin_mint_tokens(cid: str) -> tuple[Response, int]:
        """Emulator-only shortcut: a token pair for a company without the browser redirect dance."""
        company = state.company(cid)
        body = json_object_body()
        client_id = str(body.get("client_id") or state.config.client_id)
        if client_id not in state.clients:
            raise AdminError(f"unknown client {client_id}")
        grant = state.new_grant(company.realm_id, client_id)
        return ok({**state.issue_tokens(grant), "realmId": company.realm_id})

    @app.post("/_admin/oauth/clients")
    def admin_register_client() -> tuple[Response, int]:
        body = json_object_body()
        if not body.get("client_id") or not body.get("client_secret"):
            raise AdminError("client_id and client_secret are required")
        uris = body.get("redirect_uris") or []
        client = OAuthClient(str(body["client_id"]), str(body["client_secret"]), tuple(str(u) for u in uris))
        with state.lock:
            state.clients[client.client_id] = client
        return ok({"client_id": client.client_id, "redirect_uris": list(client.redirect_uris)}, 201)

    @app.post("/_admin/webhooks")
    def admin_webhooks() -> tuple[Response, int]:
        body = json_object_body()
        with state.lock:
            if "url" in body:
                state.webhook_url = str(body["url"]) if body["url"] else None
            if "key" in body:
                state.webhook_key = str(body["key"]) if body["key"] else None
        return ok({"url": state.webhook_url, "key_set": state.webhook_key is not None})

    @app.get("/_admin/webhooks/pending")
    def admin_webhooks_pending() -> tuple[Response, int]:
        pending = {c.realm_id: list(c.pending_events) for c in state.companies.values() if c.pending_events}
        return ok({"pending": pending})

    @app.post("/_admin/webhooks/deliver")
    def admin_webhooks_deliver() -> tuple[Response, int]:
        if not state.webhook_url:
            return ok({"sent": False, "reason": "no webhook url configured", "events": 0, "payload": None})
        payload, count = build_webhook_payload(state)
        if count == 0:
            return ok({"sent": False, "reason": "no pending events", "events": 0, "payload": payload})
        raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        signature = sign_webhook(state.webhook_key or "", raw)
        result: dict[str, Any] = {
            "sent": True,
            "url": state.webhook_url,
            "events": count,
            "payload": payload,
            "signature": signature,
        }
        try:
            resp = requests.post(
                state.webhook_url,
                data=raw,
                headers={"Content-Type": "application/json", "intuit-signature": signature},
                timeout=state.config.webhook_timeout,
            )
            result["status"] = resp.status_code
        except requests.RequestException as exc:
            result["status"] = None
            result["error"] = type(exc).__name__
        return ok(result)


# ============================================================================================ runners


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None) -> RunningEmulator:
    """Start the emulator on loopback in a daemon thread; ``.state`` is the :class:`QboState`."""
    app = create_app(config)
    return serve_app_in_thread(app, app.config["QBO_STATE"], host, port)


def main(argv: list[str] | None = None) -> None:
    """``python -m local.emulators.quickbooks --port 8101`` serves in the foreground."""
    parser = argparse.ArgumentParser(description="Local QuickBooks Online emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--seed-company", action="store_true", help="create one company and seed 200 customers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    if args.seed_company:
        state: QboState = app.config["QBO_STATE"]
        company = state.create_company("Sandbox Company_US_1")
        seed_company(state, company, SeedParams())
        logger.info("seeded company %s", company.realm_id)
    serve_forever(app, args.host, args.port)


if __name__ == "__main__":
    main()
