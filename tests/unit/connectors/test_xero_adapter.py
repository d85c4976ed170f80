"""Xero adapter: mapping both ways, MS dates, tenant header, Idempotency-Key, stale check, If-Modified-Since paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from arsync.connectors.base import encode_cursor
from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.connectors.http import RateLimiterRegistry, RetryPolicy
from arsync.connectors.xero import (
    XeroConfig,
    XeroConnector,
    contact_to_xero,
    customer_from_xero,
    parse_xero_datetime,
    where_string_literal,
    xero_idempotency_key,
)
from arsync.models.customer import Address, CustomerContact
from tests.unit.connectors.fake_transport import FakeCredentials, FakeTransport, Reply, session_with

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = "b3a1f0de-0000-4000-8000-000000000001"

WIRE_CONTACT = {
    "ContactID": "c-1",
    "ContactStatus": "ARCHIVED",
    "Name": "Buzz Lightyear",
    "FirstName": "Buzz",
    "LastName": "Lightyear",
    "EmailAddress": "buzz@example.com",
    "Addresses": [
        {"AddressType": "POBOX", "AddressLine1": "PO Box 1", "City": "San Francisco", "Region": "CA"},
        {"AddressType": "STREET", "AddressLine1": "101 Green St", "PostalCode": "94041", "Country": "US"},
    ],
    "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "555-1212", "PhoneAreaCode": "415"}],
    "DefaultCurrency": "USD",
    "UpdatedDateUTC": "/Date(1503348544227+0000)/",
    "Balances": {"AccountsReceivable": {"Outstanding": 760.0, "Overdue": 920.0}},
}


def connector(*replies: Reply) -> tuple[XeroConnector, FakeTransport]:
    transport = FakeTransport(*replies)
    config = XeroConfig(client_id="cid", client_secret=SecretStr("sec"), company_id=TENANT, retry=RetryPolicy())
    xero = XeroConnector(
        config,
        session=session_with(transport),
        credentials=FakeCredentials(),
        limiters=RateLimiterRegistry(),
        sleep=lambda _s: None,
        now=lambda: NOW,
    )
    return xero, transport


def contacts(*items: dict) -> Reply:
    return Reply(200, {"Id": "x", "Status": "OK", "Contacts": list(items)})


def test_ms_json_dates_are_utc():
    assert parse_xero_datetime("/Date(1503348544227+0000)/") == datetime(2017, 8, 21, 20, 49, 4, 227000, tzinfo=UTC)
    assert parse_xero_datetime("/Date(1503348544227)/") == parse_xero_datetime("/Date(1503348544227+0000)/")
    assert parse_xero_datetime("2019-02-15T00:00:00") == datetime(2019, 2, 15, tzinfo=UTC)
    assert parse_xero_datetime("nonsense") is None


def test_contact_from_wire():
    c = customer_from_xero(WIRE_CONTACT)
    assert c.id == "c-1" and not c.active
    assert c.billing_address == Address(line1="PO Box 1", city="San Francisco", region="CA")  # POBOX
    assert c.shipping_address == Address(line1="101 Green St", postal_code="94041", country="US")  # STREET
    assert c.phone == "415 555-1212"
    assert c.balance == Decimal("760.0")
    assert c.company_name is None and c.sync_token is None
    assert c.updated_at == datetime(2017, 8, 21, 20, 49, 4, 227000, tzinfo=UTC)


def test_contact_to_wire_round_trips():
    contact = CustomerContact(
        display_name="Acme",
        given_name="Wile",
        family_name="Coyote",
        email="w@acme.test",
        phone="555-0100",
        billing_address=Address(line1="PO Box 9", country="US"),
        shipping_address=Address(line1="2 Cliff", region="NM"),
        currency="NZD",
    )
    body = contact_to_xero(contact)
    assert body["Phones"] == [{"PhoneType": "DEFAULT", "PhoneNumber": "555-0100"}]
    assert [a["AddressType"] for a in body["Addresses"]] == ["POBOX", "STREET"]
    assert customer_from_xero({"ContactID": "1", **body}).to_contact() == contact


def test_idempotency_key_and_where_literal():
    assert xero_idempotency_key("k") == "k"
    assert len(xero_idempotency_key("k" * 300)) <= 128
    assert where_string_literal("O'Brien") == '"O\'Brien"'
    assert where_string_literal('Bat "Quote" Man') is None


def test_create_sends_tenant_and_idempotency_key_with_default_summarize_errors():
    xero, transport = connector(contacts({"ContactID": "new", "Name": "Acme"}))
    created = xero.create_customer(CustomerContact(display_name="Acme"), idempotency_key="op-1")
    sent = transport.sent[0]
    assert sent.method == "PUT" and sent.path == "/api.xro/2.0/Contacts"
    assert sent.headers["xero-tenant-id"] == TENANT
    assert sent.headers["Idempotency-Key"] == "op-1"
    assert sent.headers["Accept"] == "application/json"
    assert "summarizeErrors" not in sent.query
    assert sent.json() == {"Contacts": [{"Name": "Acme"}]}
    assert created.id == "new"


def test_validation_exception_keeps_xero_words():
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {
                "ValidationErrors": [
                    {
                        "Message": "The contact name Acme is already assigned to another contact. "
                        "The contact name must be unique across all active contacts."
                    }
                ]
            }
        ],
    }
    xero, transport = connector(Reply(400, body))
    with pytest.raises(AccountingError) as info:
        xero.create_customer(CustomerContact(display_name="Acme"), idempotency_key="op-1")
    assert info.value.category == ErrorCategory.DUPLICATE_NAME
    assert info.value.message.startswith("The contact name Acme is already assigned")
    assert len(transport.sent) == 1


def test_update_refuses_when_the_contact_changed_since_our_read():
    xero, transport = connector(contacts(WIRE_CONTACT))
    before = datetime(2017, 8, 21, 20, 0, tzinfo=UTC)
    with pytest.raises(AccountingError) as info:
        xero.update_customer("c-1", {"email": "x@y.test"}, expected_updated_at=before)
    assert info.value.category == ErrorCategory.STALE_OBJECT
    assert [s.method for s in transport.sent] == ["GET"]  # never POSTed


def test_update_posts_when_unchanged():
    current = customer_from_xero(WIRE_CONTACT)
    xero, transport = connector(contacts(WIRE_CONTACT), contacts({**WIRE_CONTACT, "EmailAddress": "x@y.test"}))
    updated = xero.update_customer("c-1", {"email": "x@y.test"}, expected_updated_at=current.updated_at)
    post = transport.sent[1]
    assert post.method == "POST" and post.path == "/api.xro/2.0/Contacts/c-1"
    assert post.json() == {"Contacts": [{"ContactID": "c-1", "EmailAddress": "x@y.test"}]}
    assert post.headers["Idempotency-Key"]
    assert updated.email == "x@y.test"


def test_archive_and_unarchive():
    xero, transport = connector(contacts(WIRE_CONTACT), contacts({**WIRE_CONTACT, "ContactStatus": "ACTIVE"}))
    assert not xero.set_customer_active("c-1", False).active
    assert xero.set_customer_active("c-1", True).active
    assert [s.json()["Contacts"][0]["ContactStatus"] for s in transport.sent] == ["ARCHIVED", "ACTIVE"]


def test_find_by_name_uses_where_or_search_term_and_includes_archived():
    xero, transport = connector(contacts(WIRE_CONTACT), contacts({**WIRE_CONTACT, "Name": 'Bat "Quote" Man'}))
    assert [c.id for c in xero.find_customers_by_name("buzz lightyear")] == ["c-1"]
    assert transport.sent[0].query["where"] == 'Name=="buzz lightyear"'
    assert transport.sent[0].query["includeArchived"] == "true"
    assert [c.id for c in xero.find_customers_by_name('Bat "Quote" Man')] == ["c-1"]
    assert transport.sent[1].query["searchTerm"] == 'Bat "Quote" Man'
    assert "where" not in transport.sent[1].query


def _paged(endpoint: str, rows: list[dict], page: int, page_count: int, item_count: int) -> Reply:
    pagination = {"page": page, "pageSize": 1000, "pageCount": page_count, "itemCount": item_count}
    return Reply(200, {"Status": "OK", "pagination": pagination, endpoint: rows})


def test_pagination_page_count_ends_a_list_without_an_empty_read():
    full = [{"ContactID": f"c{i}", "Name": f"N{i}"} for i in range(1000)]
    xero, transport = connector(_paged("Contacts", full, 1, 2, 2000), _paged("Contacts", full, 2, 2, 2000))
    first = xero.list_customers(include_inactive=True)
    assert first.next_cursor is not None
    second = xero.list_customers(include_inactive=True, cursor=first.next_cursor)
    assert len(second.items) == 1000 and second.next_cursor is None  # page 2 of 2: no third (empty) read
    assert [s.query["page"] for s in transport.sent] == ["1", "2"]


def test_an_empty_paged_list_and_an_empty_page_both_end_the_read():
    xero, _ = connector(_paged("Invoices", [], 1, 0, 0), _paged("Payments", [], 2, 3, 2500))
    assert xero.list_invoices().next_cursor is None
    assert xero.list_payments(encode_cursor("xero-payments", page=2)).next_cursor is None  # rows gone under us


def test_changes_since_walks_every_endpoint_with_if_modified_since():
    full = [{"ContactID": f"c{i}", "Name": f"N{i}"} for i in range(1000)]
    replies = [
        Reply(200, {"Contacts": full}),
        Reply(200, {"Contacts": []}),
        Reply(200, {"Invoices": [{"InvoiceID": "i1", "Type": "ACCREC", "Status": "VOIDED", "Total": 5}]}),
        Reply(200, {"Payments": [{"PaymentID": "p1", "PaymentType": "ACCPAYPAYMENT"}]}),
        Reply(200, {"CreditNotes": [{"CreditNoteID": "n1", "Type": "ACCRECCREDIT", "RemainingCredit": 4}]}),
        Reply(200, {"Overpayments": []}),
        Reply(200, {"Prepayments": [{"PrepaymentID": "pp", "Type": "RECEIVE-PREPAYMENT", "RemainingCredit": 2}]}),
    ]
    xero, transport = connector(*replies)
    since = NOW - timedelta(hours=1)
    batches = []
    cursor = None
    while True:
        batch = xero.changes_since(since, cursor)
        batches.append(batch)
        cursor = batch.next_cursor
        if cursor is None:
            break
    assert [s.path.rsplit("/", 1)[1] for s in transport.sent] == [
        "Contacts",
        "Contacts",
        "Invoices",
        "Payments",
        "CreditNotes",
        "Overpayments",
        "Prepayments",
    ]
    assert all(s.headers["If-Modified-Since"] == "2026-03-01T11:00:00.000+00:00" for s in transport.sent)
    assert transport.sent[0].query["includeArchived"] == "true" and transport.sent[0].query["pageSize"] == "1000"
    assert transport.sent[1].query["page"] == "2"
    assert sum(len(b.customers) for b in batches) == 1000
    invoices = [i for b in batches for i in b.invoices]
    assert invoices[0].deleted and invoices[0].status == "voided"
    assert [p for b in batches for p in b.payments] == []  # AP payment filtered out
    assert [(c.kind, c.remaining_credit) for b in batches for c in b.credits] == [
        ("credit_note", Decimal(4)),
        ("prepayment", Decimal(2)),
    ]
    assert not any(b.fallback for b in batches)


def test_exchange_code_picks_the_connected_tenant():
    token = {
        "access_token": "acc-secret-1",
        "refresh_token": "ref-secret-1",
        "expires_in": 1800,
        "token_type": "Bearer",
    }
    connections = [{"id": "conn", "tenantId": TENANT, "tenantType": "ORGANISATION", "tenantName": "Demo"}]
    xero, transport = connector(Reply(200, token), Reply(200, connections))
    tokens = xero.exchange_code("code", "https://app/cb")
    assert tokens.company_id == TENANT
    assert tokens.expires_at == NOW + timedelta(minutes=30)
    assert transport.sent[1].headers["Authorization"] == "Bearer acc-secret-1"
    assert "acc-secret-1" not in repr(tokens) and "ref-secret-1" not in repr(tokens)
