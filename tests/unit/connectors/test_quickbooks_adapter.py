"""QBO adapter: mapping both ways, request shapes (requestid, minorversion, query text), faults, CDC fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from arsync.connectors.base import encode_cursor
from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.connectors.http import RateLimiterRegistry, RetryPolicy
from arsync.connectors.quickbooks import (
    QuickBooksConfig,
    QuickBooksOnlineConnector,
    changes_to_qbo,
    contact_to_qbo,
    customer_from_qbo,
    payment_from_qbo,
    qbo_request_id,
    quote_qbo,
)
from arsync.models.customer import Address, CustomerContact
from tests.unit.connectors.fake_transport import FakeCredentials, FakeTransport, Reply, session_with

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

WIRE_CUSTOMER = {
    "Id": "58",
    "SyncToken": "3",
    "DisplayName": "Amy's Bird Sanctuary (deleted)",
    "CompanyName": "Amy's Bird Sanctuary",
    "GivenName": "Amy",
    "FamilyName": "Lauterbach",
    "PrimaryEmailAddr": {"Address": "birds@intuit.com"},
    "PrimaryPhone": {"FreeFormNumber": "(650) 555-3311"},
    "BillAddr": {"Line1": "4581 Finch St.", "City": "Bayshore", "CountrySubDivisionCode": "CA", "PostalCode": "94326"},
    "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
    "Active": False,
    "Balance": 239.0,
    "MetaData": {"CreateTime": "2024-01-01T10:00:00-08:00", "LastUpdatedTime": "2024-05-01T10:00:00-07:00"},
}


def connector(*replies: Reply) -> tuple[QuickBooksOnlineConnector, FakeTransport]:
    transport = FakeTransport(*replies)
    config = QuickBooksConfig(
        client_id="cid", client_secret=SecretStr("sec"), company_id="123", retry=RetryPolicy(base_delay=0)
    )
    qbo = QuickBooksOnlineConnector(
        config,
        session=session_with(transport),
        credentials=FakeCredentials(),
        limiters=RateLimiterRegistry(),
        sleep=lambda _s: None,
        now=lambda: NOW,
    )
    return qbo, transport


def test_customer_from_wire():
    c = customer_from_qbo(WIRE_CUSTOMER)
    assert c.id == "58" and c.sync_token == "3"
    assert c.display_name == "Amy's Bird Sanctuary"  # inactive " (deleted)" decoration removed
    assert not c.active
    assert c.email == "birds@intuit.com" and c.phone == "(650) 555-3311"
    assert c.billing_address == Address(line1="4581 Finch St.", city="Bayshore", region="CA", postal_code="94326")
    assert c.shipping_address is None
    assert c.currency == "USD"
    assert c.balance == Decimal("239.0")
    assert c.updated_at == datetime(2024, 5, 1, 17, 0, tzinfo=UTC)


def test_contact_to_wire_round_trips():
    contact = CustomerContact(
        display_name="Acme",
        company_name="Acme Inc",
        given_name="Wile",
        family_name="Coyote",
        email="w@acme.test",
        phone="555-0100",
        billing_address=Address(line1="1 Road", region="NM", country="US"),
        shipping_address=Address(line1="2 Cliff"),
        currency="USD",
    )
    body = contact_to_qbo(contact)
    assert body["BillAddr"] == {"Line1": "1 Road", "CountrySubDivisionCode": "NM", "Country": "US"}
    assert body["PrimaryEmailAddr"] == {"Address": "w@acme.test"}
    back = customer_from_qbo({"Id": "1", **body})
    assert back.to_contact() == contact


def test_sparse_changes_clear_with_empty_values_and_refuse_unknown_fields():
    assert changes_to_qbo({"email": None, "phone": "1"}) == {
        "PrimaryEmailAddr": {"Address": ""},
        "PrimaryPhone": {"FreeFormNumber": "1"},
    }
    with pytest.raises(ValueError):
        changes_to_qbo({"display_name": None})
    with pytest.raises(ValueError):
        changes_to_qbo({"industry": "x"})


def test_quote_and_request_id():
    assert quote_qbo("Amy's") == "'Amy\\'s'"
    assert quote_qbo("a\\b") == "'a\\\\b'"
    assert qbo_request_id("short") == "short"
    long_id = qbo_request_id("x" * 80)
    assert len(long_id) == 50 and long_id == qbo_request_id("x" * 80)


def test_payment_applications_from_linked_invoices():
    p = payment_from_qbo(
        {
            "Id": "9",
            "TotalAmt": 100,
            "UnappliedAmt": 25,
            "CustomerRef": {"value": "58"},
            "TxnDate": "2024-02-01",
            "Line": [{"Amount": 75, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}],
        }
    )
    assert [(a.invoice_id, a.amount) for a in p.applications] == [("130", Decimal(75))]
    assert p.unapplied_amount == Decimal(25)


def test_create_sends_requestid_minorversion_and_json():
    qbo, transport = connector(Reply(200, {"Customer": {"Id": "7", "DisplayName": "Acme", "SyncToken": "0"}}))
    created = qbo.create_customer(CustomerContact(display_name="Acme"), idempotency_key="op-1")
    sent = transport.sent[0]
    assert sent.method == "POST" and sent.path == "/v3/company/123/customer"
    assert sent.query == {"minorversion": "75", "requestid": "op-1"}
    assert sent.headers["Accept"] == "application/json"
    assert sent.json() == {"DisplayName": "Acme"}
    assert created.id == "7"


def test_find_by_name_escapes_quotes_and_includes_inactive():
    qbo, transport = connector(Reply(200, {"QueryResponse": {"Customer": [dict(WIRE_CUSTOMER)]}}))
    found = qbo.find_customers_by_name("Amy's Bird Sanctuary")
    sent = transport.sent[0]
    assert sent.headers["Content-Type"] == "application/text"
    assert "DisplayName IN ('Amy\\'s Bird Sanctuary', 'Amy\\'s Bird Sanctuary (deleted)')" in sent.text
    assert "Active IN (true, false)" in sent.text
    assert [c.id for c in found] == ["58"]


def test_fault_inside_a_200_is_raised():
    fault = {"Fault": {"Error": [{"Message": "Stale Object Error", "Detail": "Stale", "code": "5010"}]}}
    qbo, _ = connector(Reply(200, fault))
    with pytest.raises(AccountingError) as info:
        qbo.get_customer("1")
    assert info.value.category == ErrorCategory.STALE_OBJECT


def test_update_with_stale_sync_token_is_stale_object():
    fault = {
        "Fault": {
            "Error": [
                {
                    "Message": "Stale Object Error",
                    "Detail": "Stale Object Error : You and API API were working on this at the same time.",
                    "code": "5010",
                    "element": "",
                }
            ],
            "type": "ValidationFault",
        }
    }
    qbo, transport = connector(Reply(400, fault))
    with pytest.raises(AccountingError) as info:
        qbo.update_customer("58", {"email": "a@b.test"}, sync_token="2")
    assert info.value.category == ErrorCategory.STALE_OBJECT
    body = transport.sent[0].json()
    assert body == {"Id": "58", "SyncToken": "2", "sparse": True, "PrimaryEmailAddr": {"Address": "a@b.test"}}
    assert len(transport.sent) == 1
    with pytest.raises(ValueError):
        qbo.update_customer("58", {"email": "a@b.test"})


def test_cdc_is_one_call_for_all_entities():
    cdc = {
        "CDCResponse": [
            {
                "QueryResponse": [
                    {"Customer": [{"Id": "1", "DisplayName": "A"}]},
                    {"Invoice": [{"Id": "5", "TotalAmt": 10, "Balance": 0}, {"Id": "6", "status": "Deleted"}]},
                    {},
                    {"CreditMemo": [{"Id": "8", "RemainingCredit": 3}]},
                ]
            }
        ],
        "time": "2026-03-01T04:00:00-08:00",
    }
    qbo, transport = connector(Reply(200, cdc))
    batch = qbo.changes_since(NOW - timedelta(days=1))
    assert transport.sent[0].query["entities"] == "Customer,Invoice,Payment,CreditMemo"
    assert [c.id for c in batch.customers] == ["1"]
    assert [(i.id, i.status, i.deleted) for i in batch.invoices] == [("5", "paid", False), ("6", "deleted", True)]
    assert batch.credits[0].remaining_credit == Decimal(3)
    assert batch.next_cursor is None and not batch.fallback
    assert batch.as_of == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_cdc_older_than_the_window_uses_paged_queries_with_resumable_cursor():
    empty = Reply(200, {"QueryResponse": {}})
    qbo, transport = connector(empty, empty, empty, empty)
    since = NOW - timedelta(days=45)
    cursor = None
    entities = []
    for _ in range(4):
        batch = qbo.changes_since(since, cursor)
        assert batch.fallback
        entities.append(transport.sent[-1].text.split()[3])
        cursor = batch.next_cursor
    assert entities == ["Customer", "Invoice", "Payment", "CreditMemo"]
    assert cursor is None
    assert "MetaData.LastUpdatedTime >= '2026-01-15T12:00:00Z'" in transport.sent[0].text


def test_cdc_at_the_cap_falls_back():
    rows = [{"Id": str(i), "DisplayName": f"C{i}"} for i in range(1000)]
    cdc = {"CDCResponse": [{"QueryResponse": [{"Customer": rows}]}]}
    qbo, transport = connector(Reply(200, cdc), Reply(200, {"QueryResponse": {"Customer": rows}}))
    batch = qbo.changes_since(NOW - timedelta(days=1))
    assert batch.fallback and len(batch.customers) == 1000
    assert batch.next_cursor is not None  # a full page: more may follow
    assert "STARTPOSITION 1 MAXRESULTS 1000" in transport.sent[1].text


def _batch(total: int, rows: list[dict[str, Any]], entity: str = "Customer") -> Reply:
    page = {entity: rows, "startPosition": 1, "maxResults": len(rows)} if rows else {}
    items = [{"bId": "count", "QueryResponse": {"totalCount": total}}, {"bId": "page", "QueryResponse": page}]
    return Reply(200, {"BatchItemResponse": items, "time": "2026-03-01T04:00:00.000-08:00"})


def test_a_full_read_starts_with_one_batch_of_the_count_and_the_first_page():
    rows = [{"Id": str(i), "DisplayName": f"C{i}"} for i in range(1000)]
    qbo, transport = connector(_batch(1000, rows))
    first = qbo.list_customers(include_inactive=False)
    assert len(first.items) == 1000 and first.next_cursor is None  # exactly 1000: no empty second read
    assert len(transport.sent) == 1 and transport.sent[0].path.endswith("/batch")
    sent = transport.sent[0].json()["BatchItemRequest"]
    assert sent == [
        {"bId": "count", "Query": "SELECT COUNT(*) FROM Customer WHERE Active = true"},
        {
            "bId": "page",
            "Query": "SELECT * FROM Customer WHERE Active = true ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
        },
    ]


def test_the_count_stops_the_read_at_the_last_full_page():
    rows = [{"Id": str(i), "DisplayName": f"C{i}"} for i in range(1000)]
    qbo, transport = connector(_batch(2000, rows), Reply(200, {"QueryResponse": {"Customer": rows}}))
    first = qbo.list_customers(include_inactive=False)
    assert first.next_cursor is not None
    second = qbo.list_customers(include_inactive=False, cursor=first.next_cursor)
    assert len(second.items) == 1000 and second.next_cursor is None
    assert "STARTPOSITION 1001 MAXRESULTS 1000" in transport.sent[1].text
    assert len(transport.sent) == 2


def test_an_empty_list_is_one_batch():
    qbo, transport = connector(_batch(0, [], "Invoice"))
    page = qbo.list_invoices()
    assert page.items == () and page.next_cursor is None and len(transport.sent) == 1


def test_a_cursor_without_a_count_falls_back_to_the_short_page_rule():
    rows = [{"Id": str(i), "DisplayName": f"C{i}"} for i in range(1000)]
    qbo, transport = connector(Reply(200, {"QueryResponse": {"Customer": rows}}), Reply(200, {"QueryResponse": {}}))
    legacy = encode_cursor("qbo-customers-active", start=1001)
    second = qbo.list_customers(include_inactive=False, cursor=legacy)
    assert len(second.items) == 1000 and second.next_cursor is not None  # full page, no count: read on
    third = qbo.list_customers(include_inactive=False, cursor=second.next_cursor)
    assert third.items == () and third.next_cursor is None
    assert "STARTPOSITION 2001" in transport.sent[1].text


def test_a_batch_item_fault_is_raised_with_the_provider_words():
    fault = {"Error": [{"Message": "Error parsing query", "Detail": "QueryParserError: x", "code": "4000"}]}
    body = {
        "BatchItemResponse": [
            {"bId": "count", "QueryResponse": {"totalCount": 3}},
            {"bId": "page", "Fault": {**fault, "type": "ValidationFault"}},
        ],
        "time": "2026-03-01T04:00:00.000-08:00",
    }
    qbo, _ = connector(Reply(200, body))
    with pytest.raises(AccountingError) as info:
        qbo.list_payments()
    assert info.value.category == ErrorCategory.VALIDATION_FAILED
    assert "Error parsing query" in info.value.message


def test_token_exchange_and_refresh():
    token_body = {
        "access_token": "at",
        "refresh_token": "rt",
        "expires_in": 3600,
        "x_refresh_token_expires_in": 8726400,
        "token_type": "bearer",
    }
    qbo, transport = connector(Reply(200, token_body), Reply(400, {"error": "invalid_grant"}))
    tokens = qbo.exchange_code("code", "https://app/cb", company_id="999")
    assert tokens.company_id == "999" and tokens.expires_at == NOW + timedelta(hours=1)
    assert transport.sent[0].headers["Authorization"].startswith("Basic ")
    assert "grant_type=authorization_code" in transport.sent[0].text
    with pytest.raises(AccountingError) as info:
        qbo.refresh("dead")
    assert info.value.category == ErrorCategory.AUTHENTICATION_FAILED
    url = qbo.authorization_url("st", "https://app/cb")
    assert url.startswith("https://appcenter.intuit.com/connect/oauth2?") and "state=st" in url
