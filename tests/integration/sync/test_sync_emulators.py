"""End to end per emulator: the real QBO/Xero adapters over HTTP, the engine, and DynamoDB on the moto server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from arsync.models.account import AccountSettings
from arsync.store.sync_store import DynamoSyncStore
from arsync.sync.engine import SyncEngine
from arsync.sync.models import SyncRun
from local.stack import LocalStack
from tests.integration.connectors.conftest import Env, emulators, env  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


def _customer_items(table: str, tenant: str) -> dict[str, Any]:
    client, items = boto3.client("dynamodb"), {}
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :c)",
        "ExpressionAttributeValues": {":pk": {"S": f"TENANT#{tenant}"}, ":c": {"S": "CUSTOMER#"}},
    }
    while True:
        response = client.query(**request)
        items.update({i["SK"]["S"]: i for i in response["Items"]})
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _run(tenant: str) -> SyncRun:
    now = datetime.now(UTC)
    return SyncRun(
        tenant_id=tenant, id=f"run_{uuid.uuid4().hex[:8]}", trigger="manual", status="running",
        created_at=now, updated_at=now, started_at=now,
    )  # fmt: skip


def test_import_200_customers_from_the_emulator_then_resync_writes_nothing(stack: LocalStack, env: Env) -> None:  # noqa: F811
    assert stack.resources is not None
    seeded = env.seed(customers=200, inactive=10, years=1, seed=7, invoices_per_customer=[1, 3])
    state = env.state()
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    store = DynamoSyncStore(stack.resources.table_name)
    engine = SyncEngine(store)

    first = _run(tenant)
    assert engine.run(first, env.system, env.connector, AccountSettings()) == "completed"
    stored = _customer_items(stack.resources.table_name, tenant)
    customers = first.counts["customers"]
    assert customers.created == len(stored) and customers.failed == 0, (seeded, state, customers)
    assert customers.created + customers.skipped >= 200 and customers.skipped >= 1
    assert first.counts["invoices"].created > 0

    second = _run(tenant)
    assert engine.run(second, env.system, env.connector, AccountSettings()) == "completed"
    assert second.mode == "incremental" and second.total.created == second.total.updated == 0
    assert _customer_items(stack.resources.table_name, tenant) == stored
