"""The sync engine against the moto server: DynamoDB adapter, real SQS batches through the local poller,
the dispatcher fired as a schedule, redelivery and the DLQ."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.models.account import Connection
from arsync.models.common import AccountingSystem
from arsync.store.dynamodb import DynamoAccountRepository
from arsync.store.sync_store import DynamoSyncStore
from arsync.sync.balances import imported_customer_id
from arsync.sync.queue import SqsSyncQueue
from arsync.sync.service import SyncService
from arsync.sync.worker import SyncWorker
from local.scheduler import Scheduler
from local.stack import LocalStack
from tests.unit.sync.fakes import FakeConnector, seed

pytestmark = pytest.mark.integration
QBO = AccountingSystem.QUICKBOOKS_ONLINE
NOW = datetime.now(UTC)


class Provider:
    """Fakes for this module's tenants; the real provider for any other connected account in the session (the
    dispatcher fans out to every connected account, and their runs must be served as in production)."""

    def __init__(self) -> None:
        self.connectors: dict[str, FakeConnector] = {}
        self._real: Any = None

    def connector(self, tenant_id: str, connection: Connection) -> Any:
        if tenant_id in self.connectors:
            return self.connectors[tenant_id]
        if self._real is None:
            from arsync import wiring
            from arsync.config import get_settings

            self._real = wiring.connector_provider(get_settings())
        return self._real.connector(tenant_id, connection)


class Env:
    def __init__(self, stack: LocalStack) -> None:
        assert stack.resources is not None
        self.resources = stack.resources
        self.store = DynamoSyncStore(self.resources.table_name)
        self.accounts = DynamoAccountRepository(self.resources.table_name)
        self.queue = SqsSyncQueue(self.resources.queue_url)
        self.service = SyncService(self.store, self.queue)
        self.provider = Provider()
        self.reauth: list[str] = []
        self.worker = SyncWorker(
            store=self.store,
            accounts=self.accounts,
            queue=self.queue,
            connectors=self.provider,
            on_needs_reauth=self._needs_reauth,
        )
        self.scheduler = Scheduler(self.resources, failed_visibility_seconds=0)

    def _needs_reauth(self, tenant_id: str, error: AccountingError) -> None:
        from arsync.services.connection import record_needs_reauth

        self.reauth.append(tenant_id)
        record_needs_reauth(self.accounts, tenant_id, error)

    def connect(self, customers: int = 30) -> tuple[str, FakeConnector]:
        tenant = f"t-{uuid.uuid4().hex[:12]}"
        self.accounts.save_connection(
            tenant, Connection(system=QBO, status="connected", company_id=f"realm-{tenant}", connected_at=NOW), None
        )
        connector = FakeConnector(page_size=8)
        seed(connector, customers, NOW - timedelta(days=1), inactive_every=10)
        self.provider.connectors[tenant] = connector
        return tenant, connector

    def customers(self, tenant: str) -> dict[str, Any]:
        client = boto3.client("dynamodb")
        items: dict[str, Any] = {}
        request: dict[str, Any] = {
            "TableName": self.resources.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :c)",
            "ExpressionAttributeValues": {":pk": {"S": f"TENANT#{tenant}"}, ":c": {"S": "CUSTOMER#"}},
        }
        while True:
            response = client.query(**request)
            items.update({i["SK"]["S"]: i for i in response["Items"]})
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@pytest.fixture
def env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    from functions.sync_worker import app

    environment = Env(stack)
    monkeypatch.setattr(app, "get_worker", lambda: environment.worker)
    environment.scheduler.drain()  # whatever other tests left in the queue
    yield environment


def test_sync_now_imports_through_a_real_sqs_batch_and_a_rerun_writes_nothing(env: Env) -> None:
    tenant, _ = env.connect(30)
    run = env.service.request_sync(tenant, "manual")
    assert env.service.request_sync(tenant, "manual").id == run.id  # coalesced: one message
    assert env.scheduler.drain() == 1
    done = env.service.get_run(tenant, run.id)
    assert done.status == "succeeded", done
    assert done.counts["customers"].created == 27 and done.counts["customers"].skipped == 3
    stored = env.customers(tenant)
    assert len(stored) == 27
    c1 = imported_customer_id(tenant, QBO.value, "C00001")
    balance = json.loads(stored[f"CUSTOMER#{c1}"]["doc"]["S"])["balance"]
    assert balance["source"] == "accounting_system" and balance["total_due"] == "101"
    docs = env.store.customer_docs(tenant, QBO.value, "C00000")
    assert sorted(type(d).__name__ for d in docs) == ["RemoteCredit", "RemoteInvoice", "RemotePayment"]

    second = env.service.request_sync(tenant, "schedule")
    assert second.id != run.id
    assert env.scheduler.drain() == 1
    again = env.service.get_run(tenant, second.id)
    assert again.status == "succeeded" and again.mode == "incremental"
    assert env.customers(tenant) == stored  # zero customer writes


def test_partial_batch_failure_redelivers_only_the_failed_message_then_dead_letters_it(env: Env) -> None:
    good, _ = env.connect(5)
    flaky, connector = env.connect(5)

    def poison(name: str) -> None:
        if name == "list_invoices":
            raise RuntimeError("unexpected provider payload")  # a bug, not an outage: every delivery fails

    connector.before_call = poison
    good_run = env.service.request_sync(good, "manual")
    flaky_run = env.service.request_sync(flaky, "manual")
    env.scheduler.drain()
    assert env.service.get_run(good, good_run.id).status == "succeeded"
    assert env.service.get_run(flaky, flaky_run.id).status == "running"
    assert len([c for c in connector.calls if c == "list_invoices"]) == 5  # maxReceiveCount deliveries
    sqs = boto3.client("sqs")
    dead = sqs.receive_message(QueueUrl=env.resources.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["run_id"] for m in dead] == [flaky_run.id]
    for m in dead:
        sqs.delete_message(QueueUrl=env.resources.dlq_url, ReceiptHandle=m["ReceiptHandle"])


def test_a_provider_outage_opens_the_circuit_instead_of_dead_lettering(env: Env) -> None:
    down, connector = env.connect(5)

    def unavailable(name: str) -> None:
        raise AccountingError(QBO, ErrorCategory.PROVIDER_UNAVAILABLE, "Service Unavailable", http_status=503)

    connector.before_call = unavailable
    run = env.service.request_sync(down, "manual")
    env.scheduler.drain()

    assert len(connector.calls) == env.worker.breaker_threshold  # then the circuit opened: no further calls
    paused = env.service.get_run(down, run.id)
    assert paused.status == "running" and paused.paused_until is not None
    assert paused.errors[-1].message == "Service Unavailable"
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=env.resources.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # the probe, waiting out the pause
    assert sqs.receive_message(QueueUrl=env.resources.dlq_url).get("Messages", []) == []
    sqs.purge_queue(QueueUrl=env.resources.queue_url)  # the probe would otherwise surface in a later test


def test_scheduled_dispatch_queues_one_run_per_connected_account(env: Env) -> None:
    tenants = [env.connect(3)[0] for _ in range(12)]
    result = env.scheduler.fire("SyncDispatcherFunction")
    assert result["queued"] >= 12
    delivered = env.scheduler.drain()
    assert delivered >= 12
    for tenant in tenants:
        runs, _ = env.service.list_runs(tenant)
        assert [(r.trigger, r.status) for r in runs] == [("schedule", "succeeded")]
        assert len(env.customers(tenant)) == 3
    # A second tick while nothing is queued starts new (incremental) runs that write no customers.
    before = {t: env.customers(t) for t in tenants}
    env.scheduler.fire("SyncDispatcherFunction")
    env.scheduler.drain()
    assert {t: env.customers(t) for t in tenants} == before


def test_a_schedule_tick_retried_three_times_runs_each_account_once(env: Env) -> None:
    """L1 (scaled): one tick for 100 accounts, the dispatcher invoked three times with the same event (Lambda's
    async retries), the worker draining the real queue between attempts: one run per account for the tick."""
    from functions.sync_dispatcher import app as dispatcher
    from local.lambda_context import LocalLambdaContext

    tenants = [env.connect(3)[0] for _ in range(100)]
    event = json.loads((Path(__file__).parents[3] / "events" / "sync_dispatcher.json").read_text())
    event["time"] = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}.{uuid.uuid4().int % 1000:03d}Z"  # this test's own tick
    results = []
    for _ in range(3):
        results.append(dispatcher.lambda_handler(event, LocalLambdaContext("SyncDispatcherFunction")))
        env.scheduler.drain()

    assert results[0]["queued"] >= 100 and [r["queued"] for r in results[1:]] == [0, 0]
    for tenant in tenants:
        runs, _ = env.service.list_runs(tenant)
        assert [(r.trigger, r.tick, r.status) for r in runs] == [("schedule", event["time"], "succeeded")]
        assert len(env.customers(tenant)) == 3
    dead = boto3.client("sqs").receive_message(QueueUrl=env.resources.dlq_url).get("Messages", [])
    assert dead == []


def test_lease_and_run_listing_on_dynamodb(env: Env) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    assert env.store.acquire_lease(tenant, "run_a", NOW, 900)
    assert not env.store.acquire_lease(tenant, "run_b", NOW, 900)
    assert env.store.acquire_lease(tenant, "run_a", NOW, 900)  # the same run continues
    assert env.store.acquire_lease(tenant, "run_b", NOW + timedelta(seconds=901), 900)  # expired
    env.store.release_lease(tenant, "run_a")  # not the owner: no effect
    assert not env.store.acquire_lease(tenant, "run_c", NOW + timedelta(seconds=902), 900)
    runs = []
    for n in range(3):
        moment = NOW + timedelta(seconds=n)

        def clock(moment: datetime = moment) -> datetime:
            return moment

        env.service.clock = clock
        run = env.service.request_sync(tenant, "manual")
        env.store.clear_active(tenant, run.id)
        runs.append(run.id)
    page, cursor = env.service.list_runs(tenant, limit=2)
    assert [r.id for r in page] == runs[::-1][:2] and cursor
    rest, _ = env.service.list_runs(tenant, limit=2, cursor=cursor)
    assert [r.id for r in rest] == runs[:1]


def test_dispatcher_event_file_invokes_the_handler(env: Env) -> None:
    from functions.sync_dispatcher import app
    from local.lambda_context import LocalLambdaContext
    from tests.conftest import load_event

    result = app.lambda_handler(load_event("sync_dispatcher"), LocalLambdaContext("sync-dispatcher", 120))
    assert set(result) == {"accounts", "queued", "coalesced"}
    env.scheduler.drain()
