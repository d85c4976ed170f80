"""F3 - duplicate and concurrent SQS delivery, against the real queue and table (moto server).

Every sync message of 40 accounts is received from SQS once and then delivered 2-5 times (seeded); for half of
the messages the copies arrive at the same moment in different "execution environments" (one `SyncWorker`
each, in threads, as separate Lambda invocations would be), for the other half one after the other.

Asserted: no duplicate side effect (each account's customers are written once: every item at version 1, run
counts not doubled), every run ends `succeeded` exactly once, and no copy fails (a duplicate is answered
`busy` or `finished`, and its message can be deleted, because the copy that holds the lease completes the run).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from arsync.models.account import Connection
from arsync.models.common import AccountingSystem
from arsync.store.dynamodb import DynamoAccountRepository
from arsync.store.sync_store import DynamoSyncStore
from arsync.sync.queue import SqsSyncQueue
from arsync.sync.service import SyncService
from arsync.sync.worker import SyncWorker
from local.stack import LocalStack
from tests.integration.reliability.figures import record
from tests.unit.sync.fakes import FakeConnector, seed

pytestmark = pytest.mark.integration

QBO = AccountingSystem.QUICKBOOKS_ONLINE
ACCOUNTS = 40
CUSTOMERS = 12


class Connectors:
    def __init__(self) -> None:
        self.by_tenant: dict[str, FakeConnector] = {}

    def connector(self, tenant_id: str, connection: Connection) -> FakeConnector:
        return self.by_tenant[tenant_id]


def _environment(table: str, queue_url: str, connectors: Connectors) -> SyncWorker:
    """One Lambda execution environment: its own adapters and clients' state, sharing only AWS and the provider."""
    return SyncWorker(
        store=DynamoSyncStore(table),
        accounts=DynamoAccountRepository(table),
        queue=SqsSyncQueue(queue_url),
        connectors=connectors,
        on_needs_reauth=lambda *_: None,
    )


def test_duplicate_and_concurrent_deliveries_have_one_effect(stack: LocalStack) -> None:
    assert stack.resources is not None
    table, queue_url = stack.resources.table_name, stack.resources.queue_url
    sqs = boto3.client("sqs")
    sqs.purge_queue(QueueUrl=queue_url)
    accounts, connectors = DynamoAccountRepository(table), Connectors()
    now = datetime.now(UTC)
    tenants = [f"t-f3-{uuid.uuid4().hex[:10]}" for _ in range(ACCOUNTS)]
    for tenant in tenants:
        accounts.save_connection(
            tenant, Connection(system=QBO, status="connected", company_id=f"realm-{tenant}", connected_at=now), None
        )
        connectors.by_tenant[tenant] = FakeConnector(page_size=5)
        seed(connectors.by_tenant[tenant], CUSTOMERS, now - timedelta(days=1))
    service = SyncService(DynamoSyncStore(table), SqsSyncQueue(queue_url))
    runs = {tenant: service.request_sync(tenant, "manual").id for tenant in tenants}

    bodies: list[str] = []
    for _ in range(60):  # bounded: a lost message fails the assertion below instead of hanging the suite
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in received.get("Messages", []):
            if any(tenant in message["Body"] for tenant in tenants):
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if len(bodies) == ACCOUNTS:
            break
    assert len(bodies) == ACCOUNTS

    rng = random.Random(20261204)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    failures: list[BaseException] = []

    def deliver(body: str) -> None:
        worker = _environment(table, queue_url, connectors)
        try:
            outcome = worker.handle_body(body, lambda: 300_000)
        except BaseException as exc:  # a failed copy would be redelivered; here it counts as a failure
            with lock:
                failures.append(exc)
            return
        with lock:
            outcomes[outcome] += 1

    copies = 0
    with ThreadPoolExecutor(max_workers=5) as pool:
        for index, body in enumerate(bodies):
            n = rng.randint(2, 5)
            copies += n
            if index % 2 == 0:  # concurrent: all copies at once, each in its own environment
                barrier = threading.Barrier(n)

                def together(b: str = body, gate: threading.Barrier = barrier) -> None:
                    gate.wait()
                    deliver(b)

                for future in [pool.submit(together) for _ in range(n)]:
                    future.result()
            else:
                for _ in range(n):
                    deliver(body)

    assert failures == []
    assert outcomes["completed"] == ACCOUNTS, outcomes  # exactly one copy ran each run
    assert sum(outcomes.values()) == copies and set(outcomes) <= {"completed", "busy", "finished"}, outcomes
    store, client = DynamoSyncStore(table), boto3.client("dynamodb")
    for tenant in tenants:
        run = store.get_run(tenant, runs[tenant])
        assert run is not None and run.status == "succeeded"
        assert run.counts["customers"].created == CUSTOMERS  # not doubled
        items = _customer_items(client, table, tenant)
        assert len(items) == CUSTOMERS and {i["version"]["N"] for i in items} == {"1"}
    leftover = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert leftover == []  # no continuation or retry was needed
    record("F3 duplicate delivery", messages=ACCOUNTS, copies=copies, outcomes=dict(outcomes))


def _customer_items(client: Any, table: str, tenant: str) -> list[dict[str, Any]]:
    response = client.query(
        TableName=table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant}"}, ":c": {"S": "CUSTOMER#"}},
    )
    items: list[dict[str, Any]] = response["Items"]
    return items
