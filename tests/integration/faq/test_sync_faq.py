"""FAQ situations that involve syncing: Sync now, the schedule, import scope, Re-Sync, and the balance check,
over HTTP through the local gateway, delivered by the local scheduler and SQS poller as AWS would."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from local.stack import LocalStack
from tests.integration.faq.conftest import ConnectedApi

pytestmark = pytest.mark.integration


def synced(api: ConnectedApi, stack: LocalStack) -> dict[str, Any]:
    """Sync now, let the queue poller deliver, and return the finished run."""
    started = api.post("/sync")
    assert started.status_code == 202, started.text
    assert stack.scheduler is not None
    stack.scheduler.drain()
    run: dict[str, Any] = api.get(f"/sync/runs/{started.json()['id']}").json()
    assert run["status"] == "succeeded", run
    return run


def all_customers(api: ConnectedApi, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get("/customers", params={"limit": "100", **params, **({"cursor": cursor} if cursor else {})}).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_sync_now_imports_active_customers_and_coalesces(connected: ConnectedApi, stack: LocalStack) -> None:
    first = connected.post("/sync")
    second = connected.post("/sync")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]  # coalesced into the queued run
    assert stack.scheduler is not None
    stack.scheduler.drain()
    run = connected.get(f"/sync/runs/{first.json()['id']}").json()
    assert run["status"] == "succeeded" and run["mode"] == "full"
    assert run["counts_by_entity"]["customers"]["created"] >= 30  # each test company seeds 40, some inactive
    assert run["counts_by_entity"]["customers"]["skipped"] >= 1  # inactive ones, out of scope by default
    customers = all_customers(connected)
    assert len(customers) == run["counts_by_entity"]["customers"]["created"]
    assert all(c["external"]["active"] for c in customers)
    assert all(c["balance"]["source"] == "accounting_system" for c in customers)
    listed = connected.get("/sync/runs").json()["items"]
    assert listed[0]["id"] == run["id"]


def test_inactive_customer_missing_until_import_inactive_is_on(connected: ConnectedApi, stack: LocalStack) -> None:
    synced(connected, stack)
    assert connected.get("/customers", params={"q": "Acme Supplies"}).json()["items"] == []
    assert connected.patch("/settings", json={"import_inactive_customers": True}).status_code == 200
    assert stack.scheduler is not None
    stack.scheduler.drain()  # widening the scope asked for a full read
    found = connected.get("/customers", params={"q": "Acme Supplies"}).json()["items"]
    assert [c["display_name"] for c in found] == ["Acme Supplies"]
    assert found[0]["external"]["active"] is False


def test_archived_customer_found_only_with_the_archived_filter(connected: ConnectedApi, stack: LocalStack) -> None:
    synced(connected, stack)
    customer = all_customers(connected)[0]
    connected.post(f"/customers/{customer['id']}/archive")
    assert customer["id"] not in [c["id"] for c in all_customers(connected)]
    assert customer["id"] in [c["id"] for c in all_customers(connected, archived="yes")]
    # A later sync does not unarchive it (archiving is AR-only)
    synced(connected, stack)
    assert connected.get(f"/customers/{customer['id']}").json()["archived"] is True


def test_scheduled_sync_is_incremental_and_an_unchanged_account_writes_no_customers(
    connected: ConnectedApi, stack: LocalStack
) -> None:
    synced(connected, stack)
    assert stack.scheduler is not None
    stack.scheduler.fire("SyncDispatcherFunction")
    stack.scheduler.drain()
    run = connected.get("/sync/runs").json()["items"][0]
    assert run["trigger"] == "schedule" and run["status"] == "succeeded" and run["mode"] == "incremental"
    customers = run["counts_by_entity"]["customers"]
    assert customers["created"] == customers["updated"] == 0


def _new_invoice(api: ConnectedApi, external_id: str, amount: str) -> None:
    if api.system == "quickbooks_online":
        body: dict[str, Any] = {"CustomerRef": {"value": external_id}, "TotalAmt": amount, "Balance": amount}
    else:
        body = {"Contact": {"ContactID": external_id}, "Total": amount, "Type": "ACCREC", "Status": "AUTHORISED"}
    api.admin("POST", f"/companies/{api.company_id}/invoices", json=body)


def test_resync_fixes_a_stale_balance(connected: ConnectedApi, stack: LocalStack) -> None:
    synced(connected, stack)
    customer = all_customers(connected)[0]
    before = Decimal(customer["balance"]["outstanding"])
    _new_invoice(connected, customer["external"]["id"], "250.00")  # the balance moves in the accounting system
    assert Decimal(connected.get(f"/customers/{customer['id']}").json()["balance"]["outstanding"]) == before
    resynced = connected.post(f"/customers/{customer['id']}/resync")
    assert resynced.status_code == 200, resynced.text
    assert Decimal(resynced.json()["balance"]["outstanding"]) == before + Decimal("250.00")


def test_balance_differing_from_total_due_is_explained_item_by_item(connected: ConnectedApi, stack: LocalStack) -> None:
    synced(connected, stack)
    differing = [
        c
        for c in all_customers(connected)
        if Decimal(c["balance"]["total_due"]) != Decimal(c["balance"]["outstanding"])
    ]
    assert differing, "the sandbox seeds customers with unapplied payments or credits"
    check = connected.get(f"/customers/{differing[0]['id']}/balance-check").json()
    assert check["items"], check
    assert Decimal(check["difference"]) == Decimal(check["total_due"]) - Decimal(check["outstanding"])
    assert Decimal(check["explained"]) == sum(Decimal(item["amount"]) for item in check["items"])
    assert Decimal(check["unexplained"]) == 0
    assert all(item["date"] or item["number"] for item in check["items"])
    assert "Apply them" in check["summary"]


def test_webhook_notification_leads_to_a_sync(connected: ConnectedApi, stack: LocalStack) -> None:
    synced(connected, stack)
    customer = all_customers(connected)[0]
    entity = "Customer" if connected.system == "quickbooks_online" else "Contact"
    connected.admin(
        "POST",
        f"/companies/{connected.company_id}/touch",
        json={"entity": entity, "id": customer["external"]["id"], "changes": {}},
    )
    delivered = connected.admin("POST", "/webhooks/deliver").json()
    assert delivered
    runs = connected.get("/sync/runs").json()["items"]
    assert runs[0]["trigger"] == "webhook" and runs[0]["status"] == "queued"
    assert stack.scheduler is not None
    stack.scheduler.drain()
    assert connected.get(f"/sync/runs/{runs[0]['id']}").json()["status"] == "succeeded"
