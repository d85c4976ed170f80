"""One contract suite for every AccountingConnector adapter, run against both emulators over HTTP."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arsync.connectors.base import AccountingConnector, ChangeBatch, RemoteCustomer
from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.models.customer import Address, CustomerContact
from tests.integration.connectors.conftest import Env

pytestmark = pytest.mark.integration

CREATE_PATH = {"quickbooks_online": r"/v3/company/[^/]+/customer$", "xero": r"/api.xro/2.0/Contacts$"}
CREATE_METHOD = {"quickbooks_online": "POST", "xero": "PUT"}


def contact(name: str, **overrides: Any) -> CustomerContact:
    data: dict[str, Any] = {
        "display_name": name,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+1 415 555 0100",
        "billing_address": Address(
            line1="1 Main St", city="Springfield", region="CA", postal_code="94000", country="US"
        ),
        "shipping_address": Address(line1="9 Dock Rd", city="Oakland", region="CA", postal_code="94600", country="US"),
        "currency": None,
    }
    data.update(overrides)
    return CustomerContact(**data)


def all_pages(fetch: Any) -> tuple[list[Any], int]:
    items: list[Any] = []
    cursor = None
    pages = 0
    while True:
        page = fetch(cursor)
        pages += 1
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items, pages


def drain(connector: AccountingConnector, since: datetime) -> tuple[list[ChangeBatch], int]:
    batches: list[ChangeBatch] = []
    cursor = None
    while True:
        batch = connector.changes_since(since, cursor)
        batches.append(batch)
        cursor = batch.next_cursor
        if cursor is None:
            return batches, len(batches)


def concurrency(env: Env, remote: RemoteCustomer) -> dict[str, Any]:
    if env.system == "quickbooks_online":
        return {"sync_token": remote.sync_token}
    return {"expected_updated_at": remote.updated_at}


def log_entries(env: Env, method: str, pattern: str) -> list[dict[str, Any]]:
    regex = re.compile(pattern)
    return [e for e in env.admin.requests_log() if e["method"] == method and regex.search(e["path"])]


# --- customers: every port method ----------------------------------------------------------------------------------


def test_create_read_find_update_and_deactivate_a_customer(env: Env):
    c = env.connector
    name = 'O\'Brien & Sons "Quoted" Ltd' if env.system == "xero" else "O'Brien & Sons Ltd"
    # create
    created = c.create_customer(contact(name), idempotency_key="tenant-1:create:cust-1:v1")
    assert created.display_name == name
    assert created.email == "ada@example.com"
    assert created.given_name == "Ada" and created.family_name == "Lovelace"
    assert created.billing_address is not None and created.billing_address.line1 == "1 Main St"
    assert created.billing_address.region == "CA"
    assert created.shipping_address is not None and created.shipping_address.city == "Oakland"
    assert created.phone and "555" in created.phone
    assert created.active
    # read
    fetched = c.get_customer(created.id)
    assert fetched.id == created.id and fetched.display_name == name
    assert c.get_customer_balance(created.id) in (None, Decimal(0))
    # find (quotes escaped correctly)
    assert [r.id for r in c.find_customers_by_name(name)] == [created.id]
    assert [r.id for r in c.find_customers_by_name(name.upper())] == [created.id]
    assert c.find_customers_by_name("Nobody By This Name") == []
    # sparse update with the concurrency token
    updated = c.update_customer(created.id, {"email": "billing@obrien.example"}, **concurrency(env, fetched))
    assert updated.email == "billing@obrien.example"
    assert updated.display_name == name  # untouched by the sparse update
    # deactivate: gone from the active list, still found by name (inactive included)
    inactive = c.set_customer_active(created.id, False, sync_token=updated.sync_token)
    assert not inactive.active
    active_ids = {r.id for r in all_pages(lambda cur: c.list_customers(include_inactive=False, cursor=cur))[0]}
    assert created.id not in active_ids
    found = c.find_customers_by_name(name)
    assert [(r.id, r.active) for r in found] == [(created.id, False)]
    assert found[0].display_name == name
    # reactivate
    assert c.set_customer_active(created.id, True).active


def test_stale_update_is_refused_never_silently_overwritten(env: Env):
    c = env.connector
    created = c.create_customer(contact("Stale Test Co"), idempotency_key="tenant-1:create:stale:v1")
    time.sleep(1.1)  # Xero's UpdatedDateUTC compare is at ms resolution; keep the remote edit clearly later
    entity = "Customer" if env.system == "quickbooks_online" else "Contact"
    changes: dict[str, Any] = (
        {"PrimaryEmailAddr": {"Address": "remote@x.example"}}
        if entity == "Customer"
        else {"EmailAddress": "remote@x.example"}
    )
    env.admin.call(
        "POST", f"companies/{env.company_id}/touch", {"entity": entity, "id": created.id, "changes": changes}
    )
    with pytest.raises(AccountingError) as info:
        c.update_customer(created.id, {"email": "ours@x.example"}, **concurrency(env, created))
    assert info.value.category == ErrorCategory.STALE_OBJECT
    assert c.get_customer(created.id).email == "remote@x.example"


def test_name_clash_with_an_inactive_record_is_found_including_inactive(env: Env):
    env.seed(customers=20, inactive=3, clash_name="Acme Supplies", invoices_per_customer=[0, 1])
    found = env.connector.find_customers_by_name("Acme Supplies")
    assert len(found) == 1 and not found[0].active
    if env.system == "quickbooks_online":
        # QBO reserves inactive names: 6240 duplicate name
        with pytest.raises(AccountingError) as info:
            env.connector.create_customer(contact("Acme Supplies"), idempotency_key="tenant-1:create:acme:v1")
        assert info.value.category in (ErrorCategory.DUPLICATE_NAME, ErrorCategory.DUPLICATE_NAME_INACTIVE)
        assert "Duplicate Name Exists Error" in info.value.message


def test_validation_errors_are_not_retried_and_keep_the_provider_words(env: Env):
    env.connector.create_customer(contact("Twin Name"), idempotency_key="tenant-1:create:twin-a:v1")
    env.admin.call("DELETE", "requests")
    with pytest.raises(AccountingError) as info:
        env.connector.create_customer(contact("Twin Name"), idempotency_key="tenant-1:create:twin-b:v1")
    assert info.value.category == ErrorCategory.DUPLICATE_NAME
    expected = {
        "quickbooks_online": "Duplicate Name Exists Error: The name supplied already exists. : null",
        "xero": "The contact name Twin Name is already assigned to another contact. "
        "The contact name must be unique across all active contacts.",
    }[env.system]
    assert info.value.message == expected
    assert len(log_entries(env, CREATE_METHOD[env.system], CREATE_PATH[env.system])) == 1


# --- paging at the 100 and 1000 boundaries --------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (100, 1), (999, 1), (1000, 1), (1001, 2), (2000, 2)])
def test_full_read_pages_at_the_provider_maximum(env: Env, count: int, pages: int):
    env.seed(customers=count, inactive=0, invoices_per_customer=[0, 0], vendors=0, employees=0)
    env.admin.call("DELETE", "requests")
    items, seen_pages = all_pages(lambda cur: env.connector.list_customers(include_inactive=True, cursor=cur))
    assert len(items) == count
    assert len({c.id for c in items}) == count
    # ceil(count / 1000) requests, at least one: the provider's total (QBO COUNT(*) in the first page's batch,
    # Xero `pagination.pageCount`) ends an exact multiple of 1000 without an empty read.
    assert seen_pages == pages
    data = [e for e in env.admin.requests_log() if e["path"].startswith(("/v3/", "/api.xro/"))]
    assert len(data) == pages


def test_invoices_payments_and_credits_are_read_in_full(env: Env):
    counts = env.seed(customers=30, inactive=2, invoices_per_customer=[2, 4], unapplied_share=0.3)
    invoices, _ = all_pages(env.connector.list_invoices)
    payments, _ = all_pages(env.connector.list_payments)
    credits, _ = all_pages(env.connector.list_credits)
    assert invoices and payments
    assert len({i.id for i in invoices}) == len(invoices)
    customers = {
        c.id for c in all_pages(lambda cur: env.connector.list_customers(include_inactive=True, cursor=cur))[0]
    }
    assert {i.customer_id for i in invoices} <= customers
    assert all(i.total >= i.amount_due >= 0 for i in invoices if not i.deleted)
    assert all(p.applications or p.unapplied_amount > 0 or p.customer_id for p in payments)
    kinds = {c.kind for c in credits}
    assert kinds <= {"credit_memo", "credit_note", "overpayment", "prepayment"}
    invoice_count = counts.get("counts", counts).get("invoices")
    if isinstance(invoice_count, int):
        assert len(invoices) == invoice_count
    # the provider's own balance (B8) on a single read
    some = next(iter(customers))
    assert env.connector.get_customer_balance(some) is not None


# --- incremental ---------------------------------------------------------------------------------------------------


def test_changes_since_returns_new_and_changed_records(env: Env):
    env.seed(customers=10, inactive=1, invoices_per_customer=[1, 2])
    since = datetime.now(UTC) - timedelta(seconds=5)
    time.sleep(0.1)
    created = env.connector.create_customer(contact("Fresh Change Co"), idempotency_key="tenant-1:create:fresh:v1")
    batches, _ = drain(env.connector, since)
    customers = [c for b in batches for c in b.customers]
    assert created.id in {c.id for c in customers}
    assert not any(b.fallback for b in batches)
    if env.system == "quickbooks_online":
        assert len(batches) == 1  # ONE CDC call for all entities
        assert len(log_entries(env, "GET", r"/cdc$")) == 1


def test_changes_since_beyond_the_cdc_window_falls_back_to_paged_queries(env: Env):
    env.seed(customers=15, inactive=2, invoices_per_customer=[1, 3])
    since = datetime.now(UTC) - timedelta(days=3 * 365)
    batches, calls = drain(env.connector, since)
    customers = {c.id for b in batches for c in b.customers}
    invoices = {i.id for b in batches for i in b.invoices}
    all_customers, _ = all_pages(lambda cur: env.connector.list_customers(include_inactive=True, cursor=cur))
    assert customers == {c.id for c in all_customers}
    assert invoices
    if env.system == "quickbooks_online":
        assert all(b.fallback for b in batches)
        assert log_entries(env, "GET", r"/cdc$") == []
    else:
        assert calls >= 6  # one short page per endpoint


def test_cdc_at_the_1000_object_cap_falls_back(env: Env):
    if env.system != "quickbooks_online":
        pytest.skip("CDC cap is QuickBooks-specific; Xero pages If-Modified-Since reads")
    since = datetime.now(UTC) - timedelta(minutes=1)
    env.seed(customers=1005, inactive=0, invoices_per_customer=[0, 0], vendors=0, employees=0, years=0)
    # Seeded rows carry timestamps before the clock: bump all of them into the window via CDC-visible touches is
    # costly; instead create 1000+ fresh changes through the admin insert (bypasses the API, sets LastUpdated now).
    for i in range(1001):
        env.admin.call("POST", f"companies/{env.company_id}/customers", {"DisplayName": f"Cap Customer {i:04d}"})
    batches, _ = drain(env.connector, since)
    assert batches[0].fallback
    names = {c.display_name for b in batches for c in b.customers}
    assert {f"Cap Customer {i:04d}" for i in range(1001)} <= names


# --- tokens ----------------------------------------------------------------------------------------------------------


def test_token_expiry_mid_run_is_refreshed_transparently(env: Env):
    env.seed(customers=5, inactive=0, invoices_per_customer=[0, 1])
    env.connector.list_customers(include_inactive=True)
    env.admin.call("POST", "clock", {"advance_seconds": 2 * 3600})  # past both providers' access-token lifetime
    items = env.connector.list_customers(include_inactive=True).items
    assert len(items) >= 5
    assert env.manager.refresh_count == 1


def test_refresh_rotates_and_persists_the_refresh_token(env: Env):
    before = env.store.load(env.key)
    assert before is not None
    env.manager.force_refresh(before.tokens.access_token.get_secret_value())
    after = env.store.load(env.key)
    assert after is not None and after.version == before.version + 1
    assert after.tokens.refresh_token.get_secret_value() != before.tokens.refresh_token.get_secret_value()
    assert after.tokens.company_id == env.company_id
    env.connector.list_customers(include_inactive=False)  # the new access token works
    # The old refresh token dies once the grace period is over (Xero 30 min, QBO 24 h).
    env.admin.call("POST", "clock", {"advance_seconds": 2 * 86400})
    with pytest.raises(AccountingError) as info:
        env.connector.refresh(before.tokens.refresh_token.get_secret_value())
    assert info.value.category == ErrorCategory.AUTHENTICATION_FAILED


def test_lost_refresh_response_may_be_retried_with_the_old_token(env: Env):
    old = env.tokens.refresh_token.get_secret_value()
    first = env.connector.refresh(old)  # pretend this response was lost
    second = env.connector.refresh(old)  # retried within the grace period
    assert second.access_token.get_secret_value()
    assert first.access_token.get_secret_value() != ""


def test_revoked_tokens_stop_the_connection(env: Env):
    env.admin.call("POST", "tokens/revoke", {"company_id": env.company_id})
    with pytest.raises(AccountingError) as info:
        env.connector.list_customers(include_inactive=False)
    assert info.value.category == ErrorCategory.AUTHENTICATION_FAILED
    assert env.manager.needs_reauth
    calls = env.admin.call("GET", "requests")["total"]
    with pytest.raises(AccountingError):
        env.connector.list_customers(include_inactive=False)
    assert env.admin.call("GET", "requests")["total"] == calls  # no retry storm


def test_disconnect_revokes_the_tokens(env: Env):
    stored = env.store.load(env.key)
    assert stored is not None
    env.connector.revoke(stored.tokens)
    with pytest.raises(AccountingError) as info:
        env.connector.refresh(stored.tokens.refresh_token.get_secret_value())
    assert info.value.category == ErrorCategory.AUTHENTICATION_FAILED


# --- rate limits -----------------------------------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_out_and_retried(env: Env):
    # A QBO full read's first request is the batch (COUNT + first page).
    method, path = ("POST", r"/batch$") if env.system == "quickbooks_online" else ("GET", r"/Contacts$")
    rule = {"match": {"method": method, "path": path}, "action": "rate_limit", "times": 1}
    rule.update({"retry_after": "1", "problem": "minute"})
    env.admin.call("POST", "faults", {"rules": [rule]})
    env.admin.call("DELETE", "requests")
    started = time.monotonic()
    env.connector.list_customers(include_inactive=False)
    assert time.monotonic() - started >= 1.0  # never before the advertised instant
    assert [e["status"] for e in log_entries(env, method, path)] == [429, 200]


def test_xero_day_limit_is_not_retried(env: Env):
    if env.system != "xero":
        pytest.skip("the daily limit is Xero's")
    rule = {"match": {"method": "GET", "path": "Contacts"}, "action": "rate_limit", "times": 1}
    rule.update({"retry_after": "3600", "problem": "day"})
    env.admin.call("POST", "faults", {"rules": [rule]})
    env.admin.call("DELETE", "requests")
    with pytest.raises(AccountingError) as info:
        env.connector.list_customers(include_inactive=False)
    assert info.value.category == ErrorCategory.DAILY_LIMIT_REACHED
    assert info.value.reset_at is not None and info.value.reset_at > datetime.now(UTC) + timedelta(minutes=50)
    assert len(log_entries(env, "GET", r"/Contacts$")) == 1


# --- exactly-once create ---------------------------------------------------------------------------------------------


def test_a_create_whose_response_was_lost_is_replayed_with_the_same_key(env: Env):
    rule = {
        "match": {"method": CREATE_METHOD[env.system], "path": CREATE_PATH[env.system].rstrip("$")},
        "action": "drop_after_commit",
        "times": 1,
    }
    env.admin.call("POST", "faults", {"rules": [rule]})
    env.admin.call("DELETE", "requests")
    created = env.connector.create_customer(contact("Exactly Once Ltd"), idempotency_key="tenant-1:create:once:v1")
    assert [c.id for c in env.connector.find_customers_by_name("Exactly Once Ltd")] == [created.id]
    creates = log_entries(env, CREATE_METHOD[env.system], CREATE_PATH[env.system])
    assert len(creates) == 2
    assert {e["idempotency_key"] for e in creates} == {"tenant-1:create:once:v1"}
