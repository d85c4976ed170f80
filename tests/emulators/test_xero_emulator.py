"""Xero emulator over real HTTP on 127.0.0.1; every documented response is checked against Xero's OpenAPI."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from local.contracts.xero_openapi import (
    ContractViolation,
    accounting_document,
    check_error_shape,
    validate_request,
    validate_response,
    validate_webhook_payload,
)
from local.emulators.xero import RunningEmulator, serve_in_thread

API = "/api.xro/2.0"
DUP = (
    "The contact name {} is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)

# Documented operations (path templates in xero_accounting.yaml) the emulator serves.
DOCUMENTED = re.compile(r"^/api\.xro/2\.0/(Contacts|Invoices|Payments|CreditNotes|Overpayments|Prepayments)(/[^/]+)?$")
validated: list[str] = []


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    running = serve_in_thread(port=0)
    yield running
    running.stop()


class Xero:
    """Tiny test client: adds auth + tenant headers and runs every response through the contract checks."""

    def __init__(self, emu: RunningEmulator, company_id: str, tokens: dict[str, Any]):
        self.emu = emu
        self.base = emu.base_url
        self.company_id = company_id
        self.tokens = tokens
        self.session = requests.Session()

    def headers(self, **extra: str) -> dict[str, str]:
        h = {
            "Authorization": f"Bearer {self.tokens['access_token']}",
            "xero-tenant-id": self.company_id,
            "Accept": "application/json",
        }
        h.update(extra)
        return h

    def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        check: bool = True,
        invalid_request: bool = False,
        **kw: Any,
    ) -> requests.Response:
        resp = self.session.request(method, self.base + path, headers=headers or self.headers(), timeout=30, **kw)
        if check:
            contract_check(resp, check_request=not invalid_request)
        return resp

    def set_clock(self, when: str) -> None:
        """Set and freeze the emulator clock, then re-issue tokens so they are valid at the new time."""
        self.admin("POST", "/clock", json={"set": when, "freeze": True})
        self.tokens = self.admin("POST", "/tokens/issue", json={"company_id": self.company_id})

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        resp = requests.request(method, f"{self.base}/_admin{path}", timeout=60, **kw)
        assert resp.status_code < 300, resp.text
        return resp.json()


def contract_check(resp: requests.Response, *, check_request: bool = True) -> None:
    """Responses to documented operations must validate; requests too, unless a test sends bad data on purpose."""
    path = urlparse(resp.url).path
    if not DOCUMENTED.match(path):
        return
    if resp.status_code in {200, 400}:
        if check_request:
            validate_request(resp.request)
        validate_response(resp.request, resp)
        validated.append(f"{resp.request.method} {path} {resp.status_code}")
    elif resp.status_code in {401, 403, 429}:
        check_error_shape(resp)


def new_company(emu: RunningEmulator, *, seed: dict[str, Any] | None = None, name: str = "Test Org") -> Xero:
    base = emu.base_url
    company = requests.post(f"{base}/_admin/companies", json={"name": name}, timeout=10).json()["company_id"]
    if seed is not None:
        requests.post(f"{base}/_admin/companies/{company}/seed", json=seed, timeout=120).raise_for_status()
    tokens = requests.post(f"{base}/_admin/tokens/issue", json={"company_id": company}, timeout=10).json()
    requests.post(
        f"{base}/_admin/limits", json={"per_minute": 100_000, "per_day": 1_000_000, "concurrent": 50}, timeout=10
    )
    return Xero(emu, company, tokens)


@pytest.fixture
def xero(emu: RunningEmulator) -> Iterator[Xero]:
    client = new_company(emu)
    yield client
    requests.delete(f"{emu.base_url}/_admin/faults", timeout=10)
    requests.post(f"{emu.base_url}/_admin/clock", json={"reset": True}, timeout=10)


def put_contacts(x: Xero, *contacts: dict[str, Any], invalid_request: bool = False, **params: Any) -> requests.Response:
    return x.call(
        "PUT",
        f"{API}/Contacts",
        json={"Contacts": list(contacts)},
        params=params or None,
        invalid_request=invalid_request,
    )


# ---------------------------------------------------------------------------------------------- validation rules
def test_duplicate_name_exact_spec_body(xero: Xero) -> None:
    example = accounting_document()["paths"]["/Contacts"]["put"]["responses"]["400"]["content"]["application/json"][
        "example"
    ]
    assert put_contacts(xero, {"Name": "Buzz Lightyear"}).status_code == 200
    sent = copy.deepcopy(example["Elements"][0])
    for key in ("ContactID", "HasValidationErrors", "ValidationErrors"):
        sent.pop(key)
    for item in [*sent["Addresses"], *sent["Phones"], *sent["PaymentTerms"].values()]:
        item.pop("ValidationErrors")
    resp = put_contacts(xero, sent)
    assert resp.status_code == 400
    assert resp.json() == example


def test_duplicate_is_case_insensitive_and_trimmed(xero: Xero) -> None:
    assert put_contacts(xero, {"Name": "Globex Corp"}).status_code == 200
    resp = put_contacts(xero, {"Name": "  globex corp "})
    assert resp.status_code == 400
    assert resp.json()["Elements"][0]["ValidationErrors"] == [{"Message": DUP.format("  globex corp ")}]


def test_archived_name_does_not_block_but_reactivation_does(emu: RunningEmulator) -> None:
    x = new_company(
        emu,
        seed={
            "customers": 30,
            "inactive": 3,
            "seed": 3,
            "invoices_per_customer": [1, 2],
            "clash_name": "Acme Supplies",
        },
    )
    archived = x.call(
        "GET", f"{API}/Contacts", params={"where": 'Name=="Acme Supplies"', "includeArchived": "true"}
    ).json()["Contacts"]
    assert [c["ContactStatus"] for c in archived] == ["ARCHIVED"]
    created = put_contacts(x, {"Name": "Acme Supplies"})
    assert created.status_code == 200
    resp = x.call(
        "POST", f"{API}/Contacts/{archived[0]['ContactID']}", json={"Contacts": [{"ContactStatus": "ACTIVE"}]}
    )
    assert resp.status_code == 400
    assert resp.json()["Elements"][0]["ValidationErrors"][0]["Message"] == DUP.format("Acme Supplies")
    # archive the new one, then the old one may come back
    new_id = created.json()["Contacts"][0]["ContactID"]
    assert (
        x.call("POST", f"{API}/Contacts/{new_id}", json={"Contacts": [{"ContactStatus": "ARCHIVED"}]}).status_code
        == 200
    )
    back = x.call(
        "POST", f"{API}/Contacts/{archived[0]['ContactID']}", json={"Contacts": [{"ContactStatus": "ACTIVE"}]}
    )
    assert back.status_code == 200
    assert back.json()["Contacts"][0]["ContactStatus"] == "ACTIVE"


def test_angle_brackets_rejected(xero: Xero) -> None:
    resp = put_contacts(xero, {"Name": "Test test (test > test)"})
    assert resp.status_code == 400
    assert resp.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "The contact name is not valid. < > are not permitted characters."}
    ]


def test_missing_name_rejected(xero: Xero) -> None:
    resp = put_contacts(xero, {"ContactNumber": "12345"})
    assert resp.status_code == 400
    assert resp.json()["Elements"][0]["ValidationErrors"] == [{"Message": "Contact Name cannot be empty."}]


@pytest.mark.parametrize(
    ("contact", "field", "limit"),
    [
        ({"Name": "N" * 256}, "Name", 255),
        ({"Name": "Long Email", "EmailAddress": "e" * 250 + "@x.com"}, "EmailAddress", 255),
        (
            {"Name": "Long Addr", "Addresses": [{"AddressType": "STREET", "AddressLine1": "a" * 501}]},
            "AddressLine1",
            500,
        ),
        ({"Name": "Long Zip", "Addresses": [{"AddressType": "POBOX", "PostalCode": "9" * 51}]}, "PostalCode", 50),
        ({"Name": "Long Phone", "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "5" * 51}]}, "PhoneNumber", 50),
        ({"Name": "Long Number", "ContactNumber": "C" * 51}, "ContactNumber", 50),
    ],
)
def test_over_long_fields(xero: Xero, contact: dict[str, Any], field: str, limit: int) -> None:
    resp = put_contacts(xero, contact, invalid_request=True)
    assert resp.status_code == 400
    messages = [e["Message"] for e in resp.json()["Elements"][0]["ValidationErrors"]]
    assert messages == [f"The {field} field cannot be more than {limit} characters long."]


def test_max_lengths_exactly_fit(xero: Xero) -> None:
    resp = put_contacts(
        xero,
        {
            "Name": "N" * 255,
            "Addresses": [{"AddressType": "STREET", "AddressLine1": "a" * 500, "PostalCode": "9" * 50}],
        },
    )
    assert resp.status_code == 200, resp.text


def test_summarize_errors_false_mixes_results(xero: Xero) -> None:
    put_contacts(xero, {"Name": "Initech"})
    resp = put_contacts(
        xero,
        {"Name": "Hooli"},
        {"Name": "Initech"},
        {"Name": "Pied <Piper>"},
        {"Name": "Too Long", "Addresses": [{"AddressType": "STREET", "City": "c" * 256}]},
        invalid_request=True,
        summarizeErrors="false",
    )
    assert resp.status_code == 200
    rows = resp.json()["Contacts"]
    assert [r["HasValidationErrors"] for r in rows] == [False, True, True, True]
    assert rows[1]["ValidationErrors"] == [{"Message": DUP.format("Initech")}]
    assert rows[1]["ContactID"] == "00000000-0000-0000-0000-000000000000"
    names = {c["Name"] for c in xero.call("GET", f"{API}/Contacts").json()["Contacts"]}
    assert names == {"Initech", "Hooli"}


def test_summarize_errors_default_writes_nothing(xero: Xero) -> None:
    resp = put_contacts(xero, {"Name": "Alpha"}, {"Name": "alpha"})
    assert resp.status_code == 400
    assert len(resp.json()["Elements"]) == 1
    assert xero.call("GET", f"{API}/Contacts").json()["Contacts"] == []


def test_update_and_archive_via_post(xero: Xero) -> None:
    cid = put_contacts(xero, {"Name": "Umbrella"}).json()["Contacts"][0]["ContactID"]
    resp = xero.call("POST", f"{API}/Contacts/{cid}", json={"Contacts": [{"EmailAddress": "ap@umbrella.example.com"}]})
    assert resp.json()["Contacts"][0]["EmailAddress"] == "ap@umbrella.example.com"
    resp = xero.call("POST", f"{API}/Contacts", json={"Contacts": [{"ContactID": cid, "ContactStatus": "ARCHIVED"}]})
    assert resp.json()["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    assert xero.call("GET", f"{API}/Contacts").json()["Contacts"] == []
    assert xero.call("GET", f"{API}/Contacts/{cid}").json()["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    assert xero.call("GET", f"{API}/Contacts/{'1' * 8}-0000-4000-8000-000000000000").status_code == 404


# ---------------------------------------------------------------------------------------------- idempotency
def test_idempotency_key_replays_without_reexecuting(xero: Xero) -> None:
    key = "create-contact-0001"
    first = xero.call(
        "PUT",
        f"{API}/Contacts",
        json={"Contacts": [{"Name": "Stark Industries"}]},
        headers=xero.headers(**{"Idempotency-Key": key}),
    )
    second = xero.call(
        "PUT",
        f"{API}/Contacts",
        json={"Contacts": [{"Name": "Stark Industries"}]},
        headers=xero.headers(**{"Idempotency-Key": key}),
    )
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert len(xero.call("GET", f"{API}/Contacts").json()["Contacts"]) == 1
    without = put_contacts(xero, {"Name": "Stark Industries"})
    assert without.status_code == 400
    too_long = xero.call(
        "PUT",
        f"{API}/Contacts",
        json={"Contacts": [{"Name": "X"}]},
        headers=xero.headers(**{"Idempotency-Key": "k" * 129}),
    )
    assert too_long.status_code == 400


# ---------------------------------------------------------------------------------------------- listing
def test_if_modified_since_and_include_archived(xero: Xero) -> None:
    xero.set_clock("2026-03-01T10:00:00Z")
    put_contacts(xero, {"Name": "Old One"}, {"Name": "Old Archived", "ContactStatus": "ARCHIVED"})
    xero.set_clock("2026-03-01T11:00:00Z")
    xero.call("PUT", f"{API}/Contacts", json={"Contacts": [{"Name": "New One"}]})
    ims = {"If-Modified-Since": "2026-03-01T10:30:00Z"}
    names = [c["Name"] for c in xero.call("GET", f"{API}/Contacts", headers=xero.headers(**ims)).json()["Contacts"]]
    assert names == ["New One"]
    boundary = {"If-Modified-Since": "2026-03-01T11:00:00.000+00:00"}  # inclusive at one-second resolution
    assert len(xero.call("GET", f"{API}/Contacts", headers=xero.headers(**boundary)).json()["Contacts"]) == 1
    assert len(xero.call("GET", f"{API}/Contacts").json()["Contacts"]) == 2
    assert len(xero.call("GET", f"{API}/Contacts", params={"includeArchived": "true"}).json()["Contacts"]) == 3


def test_where_search_ids(xero: Xero) -> None:
    ids = [
        c["ContactID"]
        for c in put_contacts(
            xero, {"Name": "Wayne Enterprises", "EmailAddress": "bruce@wayne.example.com"}, {"Name": "Wonka Candy"}
        ).json()["Contacts"]
    ]

    def names(**params: str) -> list[str]:
        return sorted(c["Name"] for c in xero.call("GET", f"{API}/Contacts", params=params).json()["Contacts"])

    assert names(where='Name=="Wonka Candy"') == ["Wonka Candy"]
    assert names(where='Name=="wonka candy"') == []  # case-sensitive == (documented choice)
    assert names(where='Name.ToLower()=="wonka candy"') == ["Wonka Candy"]
    assert names(where='ContactStatus=="ACTIVE" && Name.StartsWith("Way")') == ["Wayne Enterprises"]
    assert names(where='ContactStatus=="ACTIVE" AND EmailAddress!=null') == ["Wayne Enterprises"]
    assert names(searchTerm="BRUCE") == ["Wayne Enterprises"]
    assert names(IDs=ids[1]) == ["Wonka Candy"]
    bad = xero.call("GET", f"{API}/Contacts", params={"where": 'Name=="unterminated'}, check=False)
    assert bad.status_code == 400
    assert bad.json()["Type"] == "QueryParseException"


def test_paging_boundaries_100_and_1000(emu: RunningEmulator) -> None:
    x = new_company(
        emu, seed={"customers": 1000, "inactive": 0, "seed": 11, "invoices_per_customer": [0, 0], "clash_name": None}
    )
    url = f"{API}/Contacts"
    p1 = x.call("GET", url, params={"page": 1}).json()
    assert len(p1["Contacts"]) == 100
    assert p1["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 10, "itemCount": 1000}
    assert len(x.call("GET", url, params={"page": 10}, check=False).json()["Contacts"]) == 100
    assert x.call("GET", url, params={"page": 11}, check=False).json()["Contacts"] == []
    big = x.call("GET", url, params={"page": 1, "pageSize": 1000}, check=False).json()  # 100-item pages validated
    assert len(big["Contacts"]) == 1000
    assert big["pagination"]["pageCount"] == 1
    assert "Balances" in big["Contacts"][0]
    clamped = x.call("GET", url, params={"page": 1, "pageSize": 5000}, check=False).json()
    assert clamped["pagination"]["pageSize"] == 1000
    put_contacts(x, {"Name": "Number One Thousand And One"})
    assert len(x.call("GET", url, params={"page": 2, "pageSize": 1000}, check=False).json()["Contacts"]) == 1
    assert len(x.call("GET", url, params={"page": 11}, check=False).json()["Contacts"]) == 1
    unpaged = x.call("GET", url, check=False).json()
    assert len(unpaged["Contacts"]) == 1001
    assert "pagination" not in unpaged
    seen = [
        c["ContactID"]
        for page in (1, 2)
        for c in x.call("GET", url, params={"page": page, "pageSize": 1000}, check=False).json()["Contacts"]
    ]
    assert len(set(seen)) == 1001


def test_seeding_is_deterministic(emu: RunningEmulator) -> None:
    spec = {"customers": 40, "seed": 99, "invoices_per_customer": [2, 4]}
    a = new_company(emu, seed=spec)
    b = new_company(emu, seed=spec)
    first = [
        (c["ContactID"], c["Name"])
        for c in a.call("GET", f"{API}/Contacts", params={"includeArchived": "true"}).json()["Contacts"]
    ]
    second = [
        (c["ContactID"], c["Name"])
        for c in b.call("GET", f"{API}/Contacts", params={"includeArchived": "true"}).json()["Contacts"]
    ]
    assert first == second
    state = a.admin("GET", f"/companies/{a.company_id}/state")
    assert state["contacts_archived"] == 4


# ---------------------------------------------------------------------------------------------- balances & documents
def test_balances_differ_from_total_due_with_unapplied_credit(xero: Xero) -> None:
    xero.set_clock("2026-05-01T12:00:00Z")
    contact = xero.admin("POST", f"/companies/{xero.company_id}/customers", json={"Name": "Credit Co"})
    cid = contact["ContactID"]
    inv1 = xero.admin(
        "POST",
        f"/companies/{xero.company_id}/invoices",
        json={"Contact": {"ContactID": cid}, "Date": "2026-02-01", "Total": 100},
    )
    xero.admin(
        "POST",
        f"/companies/{xero.company_id}/invoices",
        json={"Contact": {"ContactID": cid}, "Date": "2026-04-20", "Total": 50},
    )
    cn = xero.admin(
        "POST",
        f"/companies/{xero.company_id}/credits",
        json={"kind": "creditnote", "Contact": {"ContactID": cid}, "Total": 30},
    )
    xero.admin(
        "POST",
        f"/companies/{xero.company_id}/credits",
        json={"kind": "prepayment", "Contact": {"ContactID": cid}, "Total": 5},
    )
    pay = xero.admin(
        "POST",
        f"/companies/{xero.company_id}/payments",
        json={"Invoice": {"InvoiceID": inv1["InvoiceID"]}, "Amount": 120, "Date": "2026-03-15"},
    )
    assert pay["Overpayment"]["RemainingCredit"] == 20.0
    single = xero.call("GET", f"{API}/Contacts/{cid}").json()["Contacts"][0]
    ar = single["Balances"]["AccountsReceivable"]
    invoices = xero.call("GET", f"{API}/Invoices", params={"ContactIDs": cid, "page": 1}).json()["Invoices"]
    total_due = sum(i["AmountDue"] for i in invoices)
    assert total_due == 50.0
    assert ar == {"Outstanding": 50.0 - 30.0 - 5.0 - 20.0, "Overdue": 0.0}
    paid = next(i for i in invoices if i["InvoiceID"] == inv1["InvoiceID"])
    assert paid["Status"] == "PAID" and paid["AmountPaid"] == 100.0 and "FullyPaidOnDate" in paid
    xero.admin(
        "POST",
        f"/companies/{xero.company_id}/apply",
        json={
            "credit_id": cn["CreditNoteID"],
            "invoice_id": invoices[1]["InvoiceID"]
            if invoices[1]["Status"] == "AUTHORISED"
            else invoices[0]["InvoiceID"],
            "amount": "10.00",
        },
    )
    credit = xero.call("GET", f"{API}/CreditNotes/{cn['CreditNoteID']}").json()["CreditNotes"][0]
    assert credit["RemainingCredit"] == 20.0 and credit["Allocations"][0]["Amount"] == 10.0


def test_every_documented_read_validates(emu: RunningEmulator) -> None:
    x = new_company(emu, seed={"customers": 60, "seed": 5, "invoices_per_customer": [2, 6], "unapplied_share": 0.5})
    before = len(validated)
    for path in ("Contacts", "Invoices", "Payments", "CreditNotes", "Overpayments", "Prepayments"):
        id_field = {
            "Contacts": "ContactID",
            "Invoices": "InvoiceID",
            "Payments": "PaymentID",
            "CreditNotes": "CreditNoteID",
            "Overpayments": "OverpaymentID",
            "Prepayments": "PrepaymentID",
        }[path]
        paged = x.call("GET", f"{API}/{path}", params={"page": 1, "pageSize": 25}).json()[path]
        assert paged, path
        x.call("GET", f"{API}/{path}", params={"where": "1==1"} if path == "Contacts" else {"page": 3, "pageSize": 10})
        x.call(
            "GET",
            f"{API}/{path}",
            headers=x.headers(**{"If-Modified-Since": "2020-01-01T00:00:00Z"}),
            params={"page": 2, "pageSize": 10},
        )
        for item in paged[:5]:
            x.call("GET", f"{API}/{path}/{item[id_field]}")
    x.call("GET", f"{API}/Contacts", params={"summaryOnly": "true", "page": 1, "pageSize": 20})
    x.call(
        "GET",
        f"{API}/Invoices",
        params={"Statuses": "AUTHORISED", "where": 'Type=="ACCREC" AND AmountDue > 0', "page": 1, "pageSize": 20},
    )
    assert len(validated) - before >= 6 * 8


def test_validator_rejects_bad_bodies(xero: Xero) -> None:
    resp = xero.call("GET", f"{API}/Contacts", params={"page": 1})
    resp._content = b'{"Contacts":[{"ContactID":"not-a-uuid","ContactStatus":"GONE"}]}'
    with pytest.raises(ContractViolation) as info:
        validate_response(resp.request, resp)
    assert len(info.value.errors) == 2


# ---------------------------------------------------------------------------------------------- auth
def oauth_dance(emu: RunningEmulator, company_id: str) -> dict[str, Any]:
    base = emu.base_url
    redirect = "http://127.0.0.1:9/callback"
    client = requests.post(
        f"{base}/_admin/oauth/clients",
        json={"client_id": "ABC123", "client_secret": "s3cret", "redirect_uris": [redirect]},
        timeout=10,
    ).json()
    resp = requests.get(
        f"{base}/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": redirect,
            "scope": "openid offline_access accounting.contacts accounting.transactions",
            "state": "xyz",
            "company": company_id,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302
    query = parse_qs(urlparse(resp.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    tokens = requests.post(
        f"{base}/connect/token",
        data={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": redirect},
        auth=("ABC123", "s3cret"),
        timeout=10,
    )
    assert tokens.status_code == 200
    body = tokens.json()
    assert set(body) == {"id_token", "access_token", "expires_in", "token_type", "refresh_token", "scope"}
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer"
    return body


def refresh(emu: RunningEmulator, token: str) -> requests.Response:
    return requests.post(
        f"{emu.base_url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": "ABC123", "client_secret": "s3cret"},
        timeout=10,
    )


def test_token_expiry_refresh_rotation_grace_and_invalid_grant(xero: Xero) -> None:
    emu = xero.emu
    xero.set_clock("2026-04-09T05:00:00Z")
    tokens = oauth_dance(emu, xero.company_id)
    conns = requests.get(
        f"{emu.base_url}/connections", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    ).json()
    assert [c["tenantId"] for c in conns] == [xero.company_id]
    assert set(conns[0]) == {
        "id",
        "authEventId",
        "tenantId",
        "tenantType",
        "tenantName",
        "createdDateUtc",
        "updatedDateUtc",
    }
    xero.tokens = tokens
    assert xero.call("GET", f"{API}/Contacts").status_code == 200
    xero.admin("POST", "/clock", json={"advance_seconds": 1800})
    expired = xero.call("GET", f"{API}/Contacts")
    assert expired.status_code == 401
    body = expired.json()
    assert body["Detail"] == "TokenExpired: token expired at 04/09/2026 05:30:00"
    assert body["Title"] == "Unauthorized" and body["Type"] is None and body["Extensions"] == {}
    first = refresh(emu, tokens["refresh_token"])
    assert first.status_code == 200
    new = first.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    xero.admin("POST", "/clock", json={"advance_seconds": 1799})
    retry = refresh(emu, tokens["refresh_token"])  # lost response: the old token still works in the grace period
    assert retry.json() == new
    xero.admin("POST", "/clock", json={"advance_seconds": 2})
    late = refresh(emu, tokens["refresh_token"])
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}
    newer = refresh(emu, new["refresh_token"])
    assert newer.status_code == 200
    xero.tokens = newer.json()
    assert xero.call("GET", f"{API}/Contacts").status_code == 200
    # revocation ends the grant: API 401, refresh invalid_grant, connection gone
    revoked = requests.post(
        f"{emu.base_url}/connect/revocation",
        data={"token": xero.tokens["refresh_token"]},
        auth=("ABC123", "s3cret"),
        timeout=10,
    )
    assert revoked.status_code == 200
    gone = xero.call("GET", f"{API}/Contacts")
    assert gone.status_code == 401 and gone.json()["Detail"] == "AuthenticationUnsuccessful"
    assert refresh(emu, xero.tokens["refresh_token"]).json() == {"error": "invalid_grant"}


def test_admin_revoke_and_connection_delete(xero: Xero) -> None:
    assert xero.call("GET", f"{API}/Contacts").status_code == 200
    xero.admin("POST", "/tokens/revoke", json={"company_id": xero.company_id})
    assert xero.call("GET", f"{API}/Contacts").status_code == 401
    tokens = xero.admin("POST", "/tokens/issue", json={"company_id": xero.company_id})
    xero.tokens = tokens
    conns = requests.get(
        f"{xero.base}/connections", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    ).json()
    conn = next(c for c in conns if c["tenantId"] == xero.company_id)
    assert (
        requests.delete(
            f"{xero.base}/connections/{conn['id']}",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=10,
        ).status_code
        == 204
    )
    assert xero.call("GET", f"{API}/Contacts").status_code == 403


def test_403_without_or_with_unknown_tenant(xero: Xero) -> None:
    h = xero.headers()
    del h["xero-tenant-id"]
    resp = xero.call("GET", f"{API}/Contacts", headers=h)
    assert resp.status_code == 403
    assert resp.json()["Detail"] == "AuthenticationUnsuccessful" and resp.json()["Title"] == "Forbidden"
    other = xero.call(
        "GET", f"{API}/Contacts", headers=xero.headers(**{"xero-tenant-id": "00000000-0000-0000-0000-000000000001"})
    )
    assert other.status_code == 403


def test_rate_headers_on_every_response(xero: Xero) -> None:
    responses = [
        xero.call("GET", f"{API}/Contacts"),
        put_contacts(xero, {"Name": "<bad>"}),
        xero.call("GET", f"{API}/Contacts/00000000-0000-4000-8000-000000000000"),
        xero.call("GET", f"{API}/Contacts", headers={"Accept": "application/json"}),
        xero.call("GET", f"{API}/Contacts", headers=xero.headers(**{"xero-tenant-id": "nope"})),
    ]
    assert [r.status_code for r in responses] == [200, 400, 404, 401, 403]
    for r in responses:
        for header in ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining"):
            assert r.headers[header].isdigit(), (r.status_code, header)
    first, second = (int(xero.call("GET", f"{API}/Contacts").headers["X-MinLimit-Remaining"]) for _ in range(2))
    assert second == first - 1


# ---------------------------------------------------------------------------------------------- rate limits
def test_429_minute_and_day(xero: Xero) -> None:
    xero.set_clock("2026-06-30T23:00:00Z")
    xero.admin("POST", "/limits", json={"per_minute": 3, "per_day": 5})
    for _ in range(3):
        assert xero.call("GET", f"{API}/Contacts").status_code == 200
    limited = xero.call("GET", f"{API}/Contacts")
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert limited.headers["Retry-After"] == "60"
    xero.admin("POST", "/clock", json={"advance_seconds": 61})
    assert xero.call("GET", f"{API}/Contacts").status_code == 200
    assert xero.call("GET", f"{API}/Contacts").status_code == 200
    day = xero.call("GET", f"{API}/Contacts")
    assert day.status_code == 429
    assert day.headers["X-Rate-Limit-Problem"] == "day"
    assert day.headers["Retry-After"] == str(3600 - 61)
    assert day.headers["X-DayLimit-Remaining"] == "0"
    xero.set_clock("2026-07-01T00:00:01Z")  # next UTC day (tokens re-issued at the new time)
    assert xero.call("GET", f"{API}/Contacts").status_code == 200
    xero.admin("POST", "/limits", json={"per_minute": 100_000, "per_day": 1_000_000})


def test_429_concurrent(xero: Xero) -> None:
    xero.admin("POST", "/limits", json={"concurrent": 2})
    xero.admin(
        "POST",
        "/faults",
        json={"rules": [{"match": {"method": "GET", "path": "/Contacts$"}, "action": "latency", "latency_ms": 400}]},
    )
    statuses: list[requests.Response] = []
    lock = threading.Lock()

    def hit() -> None:
        r = requests.get(f"{xero.base}{API}/Contacts", headers=xero.headers(), timeout=10)
        with lock:
            statuses.append(r)

    threads = [threading.Thread(target=hit) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    limited = [r for r in statuses if r.status_code == 429]
    assert sum(r.status_code == 200 for r in statuses) >= 2
    assert limited and all(r.headers["X-Rate-Limit-Problem"] == "concurrent" for r in limited)
    assert all(r.headers["Retry-After"].isdigit() for r in limited)
    xero.admin("POST", "/limits", json={"concurrent": 50})


def test_injected_429_with_http_date_and_status_fault(xero: Xero) -> None:
    when = "Wed, 01 Jul 2026 00:00:10 GMT"
    xero.admin(
        "POST",
        "/faults",
        json={
            "rules": [
                {
                    "match": {"path": "/Contacts$"},
                    "action": "rate_limit",
                    "retry_after": when,
                    "problem": "day",
                    "times": 1,
                },
                {"match": {"path": "/Invoices$"}, "action": "status", "status": 503, "times": 1},
            ]
        },
    )
    r = xero.call("GET", f"{API}/Contacts")
    assert r.status_code == 429 and r.headers["Retry-After"] == when and r.headers["X-Rate-Limit-Problem"] == "day"
    assert xero.call("GET", f"{API}/Contacts").status_code == 200
    assert xero.call("GET", f"{API}/Invoices", check=False).status_code == 503


# ---------------------------------------------------------------------------------------------- faults
def test_drop_after_commit_creates_but_client_sees_connection_error(xero: Xero) -> None:
    xero.admin(
        "POST",
        "/faults",
        json={"rules": [{"match": {"method": "PUT", "path": "/Contacts$"}, "action": "drop_after_commit", "times": 1}]},
    )
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.put(
            f"{xero.base}{API}/Contacts",
            json={"Contacts": [{"Name": "Ambiguous Ltd"}]},
            headers=xero.headers(**{"Idempotency-Key": "amb-1"}),
            timeout=10,
        )
    found = xero.call("GET", f"{API}/Contacts", params={"where": 'Name=="Ambiguous Ltd"'}).json()["Contacts"]
    assert len(found) == 1
    replay = xero.call(
        "PUT",
        f"{API}/Contacts",
        json={"Contacts": [{"Name": "Ambiguous Ltd"}]},
        headers=xero.headers(**{"Idempotency-Key": "amb-1"}),
    )
    assert replay.status_code == 200 and replay.json()["Contacts"][0]["ContactID"] == found[0]["ContactID"]
    log = xero.admin("GET", "/requests")
    assert any(e["fault"] == "drop_after_commit" for e in log["entries"])


def test_drop_before_commit_writes_nothing(xero: Xero) -> None:
    xero.admin(
        "POST", "/faults", json={"rules": [{"match": {"method": "PUT"}, "action": "drop_before_commit", "times": 1}]}
    )
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.put(
            f"{xero.base}{API}/Contacts", json={"Contacts": [{"Name": "Never Ltd"}]}, headers=xero.headers(), timeout=10
        )
    assert xero.call("GET", f"{API}/Contacts").json()["Contacts"] == []


def test_request_log_counts_and_no_tokens(xero: Xero) -> None:
    requests.delete(f"{xero.base}/_admin/requests", timeout=10)
    xero.call("GET", f"{API}/Contacts")
    cid = put_contacts(xero, {"Name": "Logged"}).json()["Contacts"][0]["ContactID"]
    xero.call("GET", f"{API}/Contacts/{cid}")
    log = xero.admin("GET", "/requests")
    assert log["by_endpoint"] == {
        "GET /api.xro/2.0/Contacts": 1,
        "PUT /api.xro/2.0/Contacts": 1,
        "GET /api.xro/2.0/Contacts/{ContactID}": 1,
    }
    assert xero.tokens["access_token"] not in str(log)


# ---------------------------------------------------------------------------------------------- webhooks
@pytest.fixture
def receiver() -> Iterator[dict[str, Any]]:
    app = Flask("receiver")
    got: dict[str, Any] = {"bodies": [], "key": "webhook-key-123"}

    @app.post("/hook")
    def hook() -> tuple[str, int]:
        raw = request.get_data()
        expected = base64.b64encode(hmac.new(got["key"].encode(), raw, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, request.headers.get("x-xero-signature", "")):
            return "", 401
        got["bodies"].append(raw)
        return "", 200

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got["url"] = f"http://127.0.0.1:{server.server_port}/hook"
    yield got
    server.shutdown()


def test_webhook_signature_and_intent(xero: Xero, receiver: dict[str, Any]) -> None:
    xero.admin("POST", "/webhooks", json={"url": receiver["url"], "key": receiver["key"]})
    intent = xero.admin("POST", "/webhooks/intent")
    assert intent == {"valid_signature_status": 200, "invalid_signature_status": 401, "passed": True}
    validate_webhook_payload(receiver["bodies"][0])
    xero.admin("POST", "/webhooks/deliver")  # flush events of other tests
    receiver["bodies"].clear()
    cid = put_contacts(xero, {"Name": "Hooked"}).json()["Contacts"][0]["ContactID"]
    xero.call("POST", f"{API}/Contacts/{cid}", json={"Contacts": [{"ContactStatus": "ARCHIVED"}]})
    sent = xero.admin("POST", "/webhooks/deliver")
    assert sent["status"] == 200 and sent["sent"] == 2
    raw = receiver["bodies"][0]
    validate_webhook_payload(raw)
    events = sent["payload"]["events"]
    assert [(e["eventType"], e["eventCategory"], e["resourceId"]) for e in events] == [
        ("CREATE", "CONTACT", cid),
        ("UPDATE", "CONTACT", cid),
    ]
    assert events[0]["resourceUrl"] == f"https://api.xero.com/api.xro/2.0/Contacts/{cid}"
    assert sent["payload"]["lastEventSequence"] - sent["payload"]["firstEventSequence"] == 1
    assert xero.admin("POST", "/webhooks/deliver")["sent"] == 0
