"""Contract tests for the local QuickBooks Online emulator, over real HTTP on loopback.

Each test pins a behaviour a connector depends on (exact fault bodies, token lifecycle, paging limits, CDC
window and cap, throttling, idempotent replay, the ambiguous create) so that a connector that passes against
the emulator also works against Intuit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from flask import Flask, request

from local.emulators.common import serve_app_in_thread
from local.emulators.quickbooks import serve_in_thread as serve_qbo
from local.emulators.quickbooks import sign_webhook

CLIENT_ID = "qbo-emulator-client"
CLIENT_SECRET = "qbo-emulator-secret"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    emu = serve_qbo()
    yield emu
    emu.stop()


class Api:
    """Tiny test client: admin helpers plus an authenticated data-API session for one company."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.realm = ""
        self.tokens: dict[str, Any] = {}

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, f"{self.base}/_admin{path}", json=body, timeout=30)

    def company(self, name: str = "Test Co", seed: dict[str, Any] | None = None) -> str:
        self.realm = self.admin("POST", "/companies", {"name": name}).json()["company_id"]
        if seed is not None:
            resp = self.admin("POST", f"/companies/{self.realm}/seed", seed)
            assert resp.status_code == 200, resp.text
        self.tokens = self.admin("POST", f"/companies/{self.realm}/tokens").json()
        return self.realm

    def url(self, path: str) -> str:
        return f"{self.base}/v3/company/{self.realm}{path}"

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token or self.tokens['access_token']}",
            "Accept": "application/json",
        }

    def get(self, path: str, **params: Any) -> requests.Response:
        params.setdefault("minorversion", "75")
        return self.http.get(self.url(path), params=params, headers=self.headers(), timeout=30)

    def post(self, path: str, body: Any, **params: Any) -> requests.Response:
        params.setdefault("minorversion", "75")
        return self.http.post(self.url(path), params=params, json=body, headers=self.headers(), timeout=30)

    def query(self, text: str) -> requests.Response:
        headers = {**self.headers(), "Content-Type": "application/text"}
        return self.http.post(self.url("/query"), params={"minorversion": "75"}, data=text, headers=headers, timeout=30)

    def token_request(
        self, form: dict[str, str], auth: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET)
    ) -> requests.Response:
        return self.http.post(f"{self.base}/oauth2/v1/tokens/bearer", data=form, auth=auth, timeout=30)

    def clock(self, **body: Any) -> None:
        assert self.admin("POST", "/clock", body).status_code == 200


@pytest.fixture
def api(emulator: Any) -> Iterator[Api]:
    client = Api(emulator.base_url)
    client.admin("POST", "/reset")
    yield client
    client.admin("POST", "/reset")


def only_error(resp: requests.Response) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"Fault", "time"}
    assert isinstance(body["time"], str)
    errors = body["Fault"]["Error"]
    assert len(errors) == 1
    return dict(errors[0])


# ------------------------------------------------------------------------------------------ webhooks


def test_webhook_signature_known_vector() -> None:
    assert sign_webhook("verify_me", b'{"stuff":"5"}') == "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="


def test_webhook_delivery_is_signed_legacy_payload(api: Api) -> None:
    received: list[tuple[bytes, str]] = []
    sink = Flask("sink")

    @sink.post("/hook")
    def hook() -> str:
        received.append((request.get_data(), request.headers.get("intuit-signature", "")))
        return ""

    server = serve_app_in_thread(sink, None)
    try:
        api.company()
        api.admin("POST", "/webhooks", {"url": f"{server.base_url}/hook", "key": "verifier-token"})
        created = api.post("/customer", {"DisplayName": "Webhook Co"}).json()["Customer"]
        result = api.admin("POST", "/webhooks/deliver").json()
        assert result["sent"] is True and result["status"] == 200
        raw, signature = received[0]
        assert signature == sign_webhook("verifier-token", raw)
        note = json.loads(raw)["eventNotifications"][0]
        assert note["realmId"] == api.realm
        entity = note["dataChangeEvent"]["entities"][0]
        assert entity["name"] == "Customer" and entity["id"] == created["Id"] and entity["operation"] == "Create"
        assert "lastUpdated" in entity
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ validation


def test_duplicate_name_exact_body(api: Api) -> None:
    api.company()
    assert api.post("/customer", {"DisplayName": "Blue Heron Cafe"}).status_code == 200
    resp = api.post("/customer", {"DisplayName": "  blue heron CAFE "})
    assert resp.status_code == 400
    body = resp.json()
    time_text = body.pop("time")
    assert datetime.fromisoformat(time_text)
    assert body == {
        "Fault": {
            "Error": [
                {
                    "Message": "Duplicate Name Exists Error",
                    "Detail": "The name supplied already exists. : null",
                    "code": "6240",
                    "element": "",
                }
            ],
            "type": "ValidationFault",
        }
    }
    assert resp.headers["intuit_tid"]


def test_inactive_customer_and_vendor_reserve_their_names(api: Api) -> None:
    api.company(seed={"customers": 30, "seed": 1, "clash_name": "Acme Supplies", "invoices_per_customer": [1, 2]})
    clash = api.query("select * from Customer where DisplayName = 'Acme Supplies' and Active = false").json()
    row = clash["QueryResponse"]["Customer"][0]
    assert row["Active"] is False
    assert row["DisplayName"] == "Acme Supplies (deleted)"
    # Default queries hide it, but the name is still taken.
    assert api.query("select * from Customer where DisplayName = 'Acme Supplies'").json()["QueryResponse"] == {}
    assert only_error(api.post("/customer", {"DisplayName": "acme supplies"}))["code"] == "6240"
    vendor = api.admin("POST", f"/companies/{api.realm}/vendors", {"DisplayName": "Paper Mill Co"}).json()
    assert vendor["Vendor"]["Id"]
    assert only_error(api.post("/customer", {"DisplayName": "Paper Mill Co"}))["code"] == "6240"


def test_length_fault_2050_names_the_element(api: Api) -> None:
    api.company()
    resp = api.post("/customer", {"DisplayName": "x" * 501})
    assert resp.status_code == 400
    assert only_error(resp) == {
        "Message": "String length is either shorter or longer than supported by specification",
        "Detail": "String length specified does not match the supported length. Min:0 Max:500 supported. "
        "Supplied length:501",
        "code": "2050",
        "element": "DisplayName",
    }
    err = only_error(api.post("/customer", {"DisplayName": "Addr Co", "BillAddr": {"Line1": "y" * 501}}))
    assert err["code"] == "2050" and err["element"] == "BillAddr.Line1"
    err = only_error(api.post("/customer", {"DisplayName": "Mail Co", "PrimaryEmailAddr": {"Address": "a" * 101}}))
    assert err["element"] == "PrimaryEmailAddr.Address" and err["Detail"].endswith(
        "Max:100 supported. Supplied length:101"
    )
    assert api.post("/customer", {"DisplayName": "x" * 500}).status_code == 200


def test_forbidden_characters_and_required_name(api: Api) -> None:
    api.company()
    for bad in ("Parent:Child", "Tab\tCo", "New\nLine"):
        err = only_error(api.post("/customer", {"DisplayName": bad}))
        assert err["code"] == "6000" and err["element"] == "DisplayName"
    err = only_error(api.post("/customer", {"Notes": "no name"}))
    assert err["code"] == "2020"
    assert err["Message"] == "Required param missing, need to supply the required value for the API"
    generated = api.post("/customer", {"GivenName": "Ada", "FamilyName": "Lovelace"}).json()["Customer"]
    assert generated["DisplayName"] == "Ada Lovelace"
    err = only_error(api.post("/customer", {"DisplayName": "Odd Co", "Nickname": "x"}))
    assert err["code"] == "2010"


def test_stale_sync_token_5010_and_sparse_vs_full_update(api: Api) -> None:
    api.company()
    cust = api.post(
        "/customer", {"DisplayName": "Sparse Co", "Notes": "keep me", "PrimaryPhone": {"FreeFormNumber": "555"}}
    ).json()["Customer"]
    assert cust["SyncToken"] == "0"
    sparse = api.post("/customer", {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "Sparse Inc"})
    updated = sparse.json()["Customer"]
    assert updated["SyncToken"] == "1" and updated["Notes"] == "keep me" and updated["CompanyName"] == "Sparse Inc"
    stale = api.post("/customer", {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "Notes": "lost"})
    assert stale.status_code == 400
    assert only_error(stale) == {
        "Message": "Stale Object Error",
        "Detail": "Stale Object Error : You and API API were working on this at the same time. API API finished "
        "before you did, so your work was not saved.",
        "code": "5010",
        "element": "",
    }
    full = api.post("/customer", {"Id": cust["Id"], "SyncToken": "1", "DisplayName": "Sparse Co"}).json()["Customer"]
    assert full["SyncToken"] == "2"
    assert "Notes" not in full and "PrimaryPhone" not in full and "CompanyName" not in full
    missing = api.get("/customer/999999")
    assert only_error(missing)["code"] == "610"


def test_deactivate_renders_deleted_suffix_and_reactivates(api: Api) -> None:
    api.company()
    cust = api.post("/customer", {"DisplayName": "Sleepy Co"}).json()["Customer"]
    off = api.post("/customer", {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "Active": False}).json()
    assert off["Customer"]["DisplayName"] == "Sleepy Co (deleted)"
    assert only_error(api.post("/customer", {"DisplayName": "Sleepy Co"}))["code"] == "6240"
    # Echoing the rendered name back (read-modify-write) does not rename the customer.
    back = api.post(
        "/customer",
        {"Id": cust["Id"], "SyncToken": "1", "sparse": True, "Active": True, "DisplayName": "Sleepy Co (deleted)"},
    ).json()["Customer"]
    assert back["DisplayName"] == "Sleepy Co" and back["Active"] is True


def test_cannot_deactivate_customer_with_balance(api: Api) -> None:
    api.company()
    cust = api.post("/customer", {"DisplayName": "Owes Co"}).json()["Customer"]
    api.admin("POST", f"/companies/{api.realm}/invoices", {"CustomerRef": {"value": cust["Id"]}, "TotalAmt": 100})
    err = only_error(api.post("/customer", {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "Active": False}))
    assert err["Message"] == "Delete List Has Balance Error"


# ------------------------------------------------------------------------------------------ idempotency


def test_requestid_replays_stored_response(api: Api) -> None:
    api.company()
    first = api.post("/customer", {"DisplayName": "Once Co"}, requestid="req-1")
    again = api.post("/customer", {"DisplayName": "Something Else"}, requestid="req-1")
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    count = api.query("select count(*) from Customer").json()["QueryResponse"]["totalCount"]
    assert count == 1
    # Errors replay too, and the id is per company and per value.
    dup1 = api.post("/customer", {"DisplayName": "Once Co"}, requestid="req-2")
    dup2 = api.post("/customer", {"DisplayName": "Once Co"}, requestid="req-2")
    assert dup1.status_code == dup2.status_code == 400 and dup1.content == dup2.content
    log = api.admin("GET", "/requests").json()
    assert any(e.get("replayed") and e["idempotency_key"] == "req-1" for e in log["entries"])


def test_drop_after_commit_then_replay(api: Api) -> None:
    api.company()
    rule = {"match": {"method": "POST", "path": r"/customer$"}, "action": "drop_after_commit", "times": 1}
    assert api.admin("POST", "/faults", {"rules": [rule]}).status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post("/customer", {"DisplayName": "Ghost Co"}, requestid="ghost-1")
    found = api.query("select * from Customer where DisplayName = 'Ghost Co'").json()["QueryResponse"]["Customer"]
    assert len(found) == 1
    retry = api.post("/customer", {"DisplayName": "Ghost Co"}, requestid="ghost-1")
    assert retry.status_code == 200 and retry.json()["Customer"]["Id"] == found[0]["Id"]


def test_drop_before_commit_does_not_create(api: Api) -> None:
    api.company()
    rule = {"match": {"method": "POST", "path": r"/customer$"}, "action": "drop_before_commit", "times": 1}
    api.admin("POST", "/faults", {"rules": [rule]})
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post("/customer", {"DisplayName": "Never Co"})
    assert api.query("select * from Customer where DisplayName = 'Never Co'").json()["QueryResponse"] == {}


# ------------------------------------------------------------------------------------------ OAuth


def test_authorize_code_flow_single_use_code(api: Api) -> None:
    realm = api.company("Flow Co")
    resp = api.http.get(
        f"{api.base}/connect/oauth2",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": "http://127.0.0.1:9/callback",
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "state": "s-123",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302
    params = parse_qs(urlparse(resp.headers["Location"]).query)
    assert params["state"] == ["s-123"] and params["realmId"] == [realm]
    form = {
        "grant_type": "authorization_code",
        "code": params["code"][0],
        "redirect_uri": "http://127.0.0.1:9/callback",
    }
    assert api.token_request(form, auth=(CLIENT_ID, "wrong")).status_code == 401
    tokens = api.token_request(form)
    assert tokens.status_code == 200
    body = tokens.json()
    assert body["expires_in"] == 3600 and body["token_type"] == "bearer"
    assert {"access_token", "refresh_token", "x_refresh_token_expires_in"} <= set(body)
    reuse = api.token_request(form)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"


def test_expired_token_gets_lowercase_401_fault(api: Api) -> None:
    api.company()
    assert api.get("/customer/1").status_code == 400  # authenticated; 610 not found
    api.clock(advance_seconds=3601)
    resp = api.get("/customer/1")
    assert resp.status_code == 401
    body = resp.json()
    assert isinstance(body["time"], int)
    error = body["fault"]["error"][0]
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert error["code"] == "3200" and error["element"] is None
    assert error["detail"].startswith("Token expired: ")
    assert api.tokens["access_token"] not in resp.text
    assert resp.headers["intuit_tid"]
    garbage = api.http.get(api.url("/customer/1"), headers=api.headers("garbage"), timeout=10)
    assert garbage.status_code == 401 and garbage.json()["fault"]["error"][0]["code"] == "3200"


def test_refresh_rotation_with_24h_grace(api: Api) -> None:
    api.company()
    old_rt = api.tokens["refresh_token"]
    first = api.token_request({"grant_type": "refresh_token", "refresh_token": old_rt}).json()
    assert first["refresh_token"] != old_rt and first["access_token"] != api.tokens["access_token"]
    api.clock(advance_seconds=23 * 3600)
    assert api.token_request({"grant_type": "refresh_token", "refresh_token": old_rt}).status_code == 200
    api.clock(advance_seconds=2 * 3600)
    late = api.token_request({"grant_type": "refresh_token", "refresh_token": old_rt})
    assert late.status_code == 400
    assert late.json() == {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}
    assert (
        api.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}).status_code == 200
    )


def test_revoke_gives_401_then_invalid_grant(api: Api) -> None:
    api.company()
    revoke = api.http.post(
        f"{api.base}/v2/oauth2/tokens/revoke",
        json={"token": api.tokens["refresh_token"]},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    assert revoke.status_code == 200
    assert api.get("/customer/1").status_code == 401
    refresh = api.token_request({"grant_type": "refresh_token", "refresh_token": api.tokens["refresh_token"]})
    assert refresh.status_code == 400
    assert refresh.json() == {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}


def test_admin_revoke_company(api: Api) -> None:
    api.company()
    assert api.admin("POST", "/tokens/revoke", {"company_id": api.realm}).json()["revoked"] == 1
    assert api.get("/customer/1").status_code == 401


# ------------------------------------------------------------------------------------------ query


def test_query_paging_boundaries_and_active_filter(api: Api) -> None:
    api.company(seed={"customers": 1205, "inactive": 5, "invoices_per_customer": [0, 0], "seed": 3})
    default = api.query("select * from Customer").json()["QueryResponse"]
    assert default["startPosition"] == 1 and default["maxResults"] == 100 and len(default["Customer"]) == 100
    page = api.query("select * from Customer STARTPOSITION 1 MAXRESULTS 1000").json()["QueryResponse"]
    assert page["maxResults"] == 1000
    capped = api.query("select * from Customer STARTPOSITION 1 MAXRESULTS 5000").json()["QueryResponse"]
    assert capped["maxResults"] == 1000
    second = api.query("select * from Customer STARTPOSITION 1001 MAXRESULTS 1000").json()["QueryResponse"]
    assert second["startPosition"] == 1001 and second["maxResults"] == 200
    ids = [c["Id"] for c in page["Customer"]] + [c["Id"] for c in second["Customer"]]
    assert len(set(ids)) == 1200 and all(c["Active"] for c in second["Customer"])
    assert api.query("select * from Customer STARTPOSITION 1201 MAXRESULTS 1000").json()["QueryResponse"] == {}
    everyone = api.query("select count(*) from Customer where Active IN (true, false)").json()
    assert everyone["QueryResponse"] == {"totalCount": 1205}
    inactive = api.query("select * from Customer where Active = false").json()["QueryResponse"]["Customer"]
    assert len(inactive) == 5 and all(c["DisplayName"].endswith(" (deleted)") for c in inactive)
    by_get = api.get("/query", query="select * from Customer where Active in (true,false) maxresults 1000")
    assert by_get.json()["QueryResponse"]["maxResults"] == 1000
    assert by_get.headers["intuit_tid"]


def test_batch_query_items_answer_per_item_with_their_own_faults(api: Api) -> None:
    api.company(seed={"customers": 12, "inactive": 2, "invoices_per_customer": [0, 0], "seed": 3})
    items = [
        {"bId": "n", "Query": "SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)"},
        {"bId": "p", "Query": "SELECT * FROM Customer ORDERBY Id STARTPOSITION 1 MAXRESULTS 5"},
        {"bId": "bad", "Query": "SELECT * FROM Customer WHERE"},
        {"bId": "w", "operation": "create", "Customer": {"DisplayName": "X"}},
    ]
    resp = api.post("/batch", {"BatchItemRequest": items})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"BatchItemResponse", "time"}
    answers = body["BatchItemResponse"]
    assert [a["bId"] for a in answers] == ["n", "p", "bad", "w"]
    assert answers[0]["QueryResponse"] == {"totalCount": 12}
    page = answers[1]["QueryResponse"]
    assert page["startPosition"] == 1 and page["maxResults"] == 5 and len(page["Customer"]) == 5
    assert answers[2]["Fault"]["type"] == "ValidationFault" and answers[2]["Fault"]["Error"][0]["code"] == "4000"
    assert answers[3]["Fault"]["Error"][0]["Message"] == "Unsupported Operation"
    too_many = [{"bId": str(n), "Query": "SELECT COUNT(*) FROM Invoice"} for n in range(31)]
    assert only_error(api.post("/batch", {"BatchItemRequest": too_many}))["code"] == "6000"
    assert only_error(api.post("/batch", {}))["code"] == "2020"


def test_batch_requests_have_their_own_per_minute_limit(api: Api) -> None:
    api.company()
    assert api.admin("POST", "/limits/batch", {"per_minute": 2}).json()["per_minute"] == 2
    one = {"BatchItemRequest": [{"bId": "1", "Query": "SELECT COUNT(*) FROM Customer"}]}
    codes = [api.post("/batch", one).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api.query("SELECT COUNT(*) FROM Customer").status_code == 200  # plain queries are not batch-limited
    api.clock(advance_seconds=61)
    assert api.post("/batch", one).status_code == 200


def test_query_conditions_and_errors(api: Api) -> None:
    api.company()
    for name in ("Amy's Bird Sanctuary", "Amy Lane", "Bill's Windsurf Shop"):
        assert api.post("/customer", {"DisplayName": name}).status_code == 200
    like = api.query("select * from Customer where DisplayName LIKE 'amy%' ORDERBY DisplayName DESC").json()
    assert [c["DisplayName"] for c in like["QueryResponse"]["Customer"]] == ["Amy's Bird Sanctuary", "Amy Lane"]
    quoted = api.query("select * from Customer where DisplayName = 'Amy\\'s Bird Sanctuary'").json()
    assert quoted["QueryResponse"]["Customer"][0]["DisplayName"] == "Amy's Bird Sanctuary"
    ids = api.query("select * from Customer where Id IN ('1', '3')").json()["QueryResponse"]["Customer"]
    assert [c["Id"] for c in ids] == ["1", "3"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        api.query(f"select * from Customer where MetaData.LastUpdatedTime > '{future}'").json()["QueryResponse"]  # noqa: S608
        == {}
    )
    cust = ids[0]["Id"]
    inv = api.admin("POST", f"/companies/{api.realm}/invoices", {"CustomerRef": {"value": cust}, "TotalAmt": 120.5})
    inv_id = inv.json()["Invoice"]["Id"]
    by_ref = api.query(f"select * from Invoice where CustomerRef = '{cust}'").json()["QueryResponse"]["Invoice"]  # noqa: S608
    assert [i["Id"] for i in by_ref] == [inv_id] and by_ref[0]["Balance"] == 120.5
    assert only_error(api.query("select * from Customer where"))["code"] == "4000"
    assert only_error(api.query("select * from Customer where Nickname = 'x'"))["code"] == "4001"


# ------------------------------------------------------------------------------------------ AR documents


def test_ar_documents_and_balances(api: Api) -> None:
    api.company()
    cust = api.post("/customer", {"DisplayName": "Ledger Co"}).json()["Customer"]["Id"]
    adm = f"/companies/{api.realm}"
    inv = api.admin("POST", f"{adm}/invoices", {"CustomerRef": {"value": cust}, "TotalAmt": 300}).json()["Invoice"]
    assert inv["DueDate"] > inv["TxnDate"] and inv["DocNumber"]
    pay_body = {"CustomerRef": {"value": cust}, "TotalAmt": 250}
    pay = api.admin("POST", f"{adm}/payments", {**pay_body, "Line": []}).json()["Payment"]
    assert pay["UnappliedAmt"] == 250
    memo = api.admin("POST", f"{adm}/credits", {"CustomerRef": {"value": cust}, "TotalAmt": 40}).json()["CreditMemo"]
    assert memo["RemainingCredit"] == 40 and memo["Balance"] == 40
    customer = api.get(f"/customer/{cust}").json()["Customer"]
    assert customer["Balance"] == 300 - 250 - 40  # differs from Total Due (300)
    applied = api.admin("POST", f"{adm}/apply", {"credit_id": pay["Id"], "invoice_id": inv["Id"], "amount": "200.00"})
    assert applied.status_code == 200
    invoice = api.get(f"/invoice/{inv['Id']}").json()["Invoice"]
    assert invoice["Balance"] == 100 and {"TxnId": pay["Id"], "TxnType": "Payment"} in invoice["LinkedTxn"]
    payment = api.get(f"/payment/{pay['Id']}").json()["Payment"]
    assert payment["UnappliedAmt"] == 50 and payment["Line"][0]["LinkedTxn"][0]["TxnId"] == inv["Id"]
    assert api.get(f"/creditmemo/{memo['Id']}").json()["CreditMemo"]["TotalAmt"] == 40


def test_seed_shape(api: Api) -> None:
    realm = api.company(seed={"customers": 200, "seed": 7})
    state = api.admin("GET", f"/companies/{realm}/state").json()
    assert state["customers"]["total"] == 200 and state["customers"]["inactive"] == 20
    assert state["customers"]["balance_differs_from_total_due"] > 0
    assert state["payments"]["unapplied"] > 0 and state["credit_memos"]["with_remaining_credit"] > 0
    assert state["invoices"]["open"] > 0 and state["invoices"]["overdue"] > 0
    assert state["vendors"] > 0 and state["employees"] > 0
    # Deterministic: the same seed gives the same names.
    other = Api(api.base)
    other.company("Twin", seed={"customers": 200, "seed": 7})
    names_a = [
        c["DisplayName"] for c in api.query("select * from Customer maxresults 50").json()["QueryResponse"]["Customer"]
    ]
    names_b = [
        c["DisplayName"]
        for c in other.query("select * from Customer maxresults 50").json()["QueryResponse"]["Customer"]
    ]
    assert names_a == names_b


# ------------------------------------------------------------------------------------------ CDC


def test_cdc_window_deleted_stubs_and_cap(api: Api) -> None:
    api.company()
    api.clock(set="2026-03-01T12:17:00Z", freeze=True)
    since = "2026-03-01T11:00:00Z"
    start = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    rows = [
        {
            "DisplayName": f"CDC {i:04d}",
            "MetaData": {"CreateTime": (start + timedelta(seconds=i + 1)).isoformat()},
        }
        for i in range(1005)
    ]
    bulk = api.admin("POST", f"/companies/{api.realm}/customers", {"customers": rows[::-1]})  # newest first
    assert bulk.json()["inserted"] == 1005
    first_id = api.query("select * from Customer where DisplayName = 'CDC 0000'").json()["QueryResponse"]["Customer"][0]
    inv = api.admin(
        "POST", f"/companies/{api.realm}/invoices", {"CustomerRef": {"value": first_id["Id"]}, "TotalAmt": 10}
    ).json()["Invoice"]
    api.clock(advance_seconds=1)
    deleted = api.post("/invoice", {"Id": inv["Id"], "SyncToken": inv["SyncToken"]}, operation="delete")
    assert deleted.json()["Invoice"]["status"] == "Deleted"

    capped = api.get("/cdc", entities="Customer,Invoice,Payment,CreditMemo", changedSince=since).json()
    responses = capped["CDCResponse"][0]["QueryResponse"]
    assert len(responses) == 4
    customers = responses[0]["Customer"]
    assert responses[0]["totalCount"] == len(customers) == 1000  # the oldest 1000 changes
    assert customers[0]["DisplayName"] == "CDC 0000" and customers[-1]["DisplayName"] == "CDC 0999"
    assert responses[1] == {}

    later = api.get("/cdc", entities="Customer,Invoice", changedSince="2026-03-01T12:16:00Z").json()
    inv_resp = later["CDCResponse"][0]["QueryResponse"][1]
    assert inv_resp["Invoice"] == [
        {
            "domain": "QBO",
            "status": "Deleted",
            "Id": inv["Id"],
            "MetaData": {"LastUpdatedTime": inv_resp["Invoice"][0]["MetaData"]["LastUpdatedTime"]},
        }
    ]
    # Inactive customers are included in CDC.
    api.clock(advance_seconds=60)
    api.admin("POST", f"/companies/{api.realm}/touch", {"entity": "Customer", "id": "1", "changes": {"Active": False}})
    changed = api.get("/cdc", entities="Customer", changedSince="2026-03-01T12:17:30Z").json()
    assert changed["CDCResponse"][0]["QueryResponse"][0]["Customer"][0]["Active"] is False

    too_old = api.get("/cdc", entities="Customer", changedSince="2026-01-15T00:00:00Z")
    assert too_old.status_code == 400
    assert "older than fixed days is not supported" in only_error(too_old)["Detail"]


# ------------------------------------------------------------------------------------------ throttling


def test_rate_limit_per_minute_429(api: Api) -> None:
    api.company()
    api.admin("POST", "/limits", {"per_minute": 3})
    codes = [api.get("/customer/1").status_code for _ in range(4)]
    assert codes[:3] == [400, 400, 400] and codes[3] == 429
    resp = api.get("/customer/1")
    assert resp.status_code == 429 and "Retry-After" not in resp.headers
    error = resp.json()["fault"]["error"][0]
    assert error["message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429" and error["code"] == "3001"
    api.clock(advance_seconds=61)
    assert api.get("/customer/1").status_code == 400


def test_rate_limit_concurrency_429(api: Api) -> None:
    api.company()
    api.admin("POST", "/limits", {"concurrent": 2})
    rule = {"match": {"method": "GET", "path": r"/customer/"}, "action": "latency", "latency_ms": 400}
    api.admin("POST", "/faults", {"rules": [rule]})
    results: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        code = requests.get(api.url("/customer/1"), headers=api.headers(), timeout=10).status_code
        with lock:
            results.append(code)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(429) >= 3 and results.count(400) >= 1
    assert api.admin("GET", "/requests").json()["by_endpoint"]["GET /v3/company/{realm}/{entity_path}/{rid}"] == 6


def test_injected_429_with_retry_after_and_5xx(api: Api) -> None:
    api.company()
    rules = [
        {"match": {"path": r"/query"}, "action": "rate_limit", "retry_after": "7", "times": 1},
        {"match": {"path": r"/customer/"}, "action": "status", "status": 503, "times": 1},
    ]
    api.admin("POST", "/faults", {"rules": rules})
    limited = api.query("select * from Customer")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert api.query("select * from Customer").status_code == 200
    failed = api.get("/customer/1")
    assert failed.status_code == 503 and failed.json()["Fault"]["type"] == "SystemFault"


def test_request_log_has_counts_and_no_tokens(api: Api) -> None:
    api.company()
    api.get("/customer/1")
    api.token_request({"grant_type": "refresh_token", "refresh_token": api.tokens["refresh_token"]})
    log = api.admin("GET", "/requests").json()
    assert log["total"] >= 2 and log["by_endpoint"]["POST /oauth2/v1/tokens/bearer"] == 1
    text = json.dumps(log)
    assert api.tokens["access_token"] not in text and api.tokens["refresh_token"] not in text
    assert api.admin("DELETE", "/requests").json()["total"] == 0
