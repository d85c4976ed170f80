"""Cold start, warm create, health scoring and dispatcher fan-out, each beside its baseline or bound."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from arsync.models.account import Connection
from arsync.models.common import AccountingSystem
from arsync.models.records import connection_to_item
from arsync.store.sync_store import BATCH_WRITE_MAX, DynamoSyncStore
from bench.infra import ROOT, CallCounter, boto_client, child_env
from bench.results import Row, ceil_div
from local.aws import LocalResources, aws_environment

COLD_APP = """
import time
t = time.perf_counter()
import functions.create_customer.app as create
create.get_service()
from arsync import aws
aws.client("dynamodb")
import functions.sync_worker.app
print(time.perf_counter() - t)
"""
COLD_BASE = """
import time
t = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - t)
"""


def _cold_once(code: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def cold_start(resources: LocalResources, runs: int) -> list[Row]:
    """Fresh processes, alternating app/baseline; timed inside the process from before the first import, so
    interpreter start-up (the same for both) is not in either figure. Bytecode is cached outside the repo
    (PYTHONPYCACHEPREFIX) and warmed once, as a deployed package would ship it."""
    env = {
        **child_env(),
        **aws_environment(resources.endpoint_url),
        "TABLE_NAME": resources.table_name,
        "SYNC_QUEUE_URL": resources.queue_url,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONPYCACHEPREFIX": "/tmp/arsync-bench-pycache",  # noqa: S108 - local bytecode cache
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _cold_once(COLD_APP, env), _cold_once(COLD_BASE, env)
    app, base = [], []
    for _ in range(runs):
        app.append(_cold_once(COLD_APP, env))
        base.append(_cold_once(COLD_BASE, env))
    return [
        Row(
            "cold start",
            "import + clients (create_customer, sync_worker)",
            statistics.median(app) * 1000,
            statistics.median(base) * 1000,
            unit="ms",
            target=1.3,
            note="baseline: import boto3 + one client",
            extra={
                "runs": runs,
                "app_ms": [round(a * 1000, 1) for a in app],
                "base_ms": [round(b * 1000, 1) for b in base],
            },
        )
    ]


def warm_create(resources: LocalResources, calls: int) -> list[Row]:
    """POST /customers through the handler (tenant not connected: no push) vs one raw PutItem, same moto."""
    from arsync.observability import metrics
    from functions.create_customer import app
    from local.lambda_context import LocalLambdaContext

    metrics.namespace = metrics.namespace or "arsync"  # arsync.observability may predate apply_environment

    event = json.loads((ROOT / "events" / "create_customer.json").read_text())
    tenant = f"bench-create-{uuid.uuid4().hex[:6]}"
    event["requestContext"]["authorizer"]["claims"]["custom:tenant_id"] = tenant

    def invoke(n: int) -> float:
        body = {"display_name": f"Bench Customer {n} {uuid.uuid4().hex[:6]}", "email": f"c{n}@example.com"}
        event["body"] = base64.b64encode(json.dumps(body).encode()).decode()
        sink = io.StringIO()  # the EMF metrics line is still printed, just not onto the table
        started = time.perf_counter()
        with contextlib.redirect_stdout(sink):
            response = app.lambda_handler(event, LocalLambdaContext("create_customer"))
        elapsed = time.perf_counter() - started
        if response["statusCode"] != 201:
            raise RuntimeError(f"create failed: {response['statusCode']} {response.get('body', '')[:300]}")
        return elapsed

    client = boto_client("dynamodb", resources.endpoint_url)

    def put(n: int) -> float:
        item = {"PK": {"S": f"TENANT#{tenant}"}, "SK": {"S": f"RAW#{n}"}, "doc": {"S": "x" * 400}}
        started = time.perf_counter()
        client.put_item(TableName=resources.table_name, Item=item)
        return time.perf_counter() - started

    for n in range(3):  # warm: clients built, connections open
        invoke(-n - 1), put(-n - 1)
    handler, raw = [], []
    for n in range(calls):
        handler.append(invoke(n))
        raw.append(put(n))
    return [
        Row(
            "warm create",
            "POST /customers via handler (median)",
            statistics.median(handler) * 1000,
            statistics.median(raw) * 1000,
            unit="ms",
            target=2.0,
            note="baseline: one raw PutItem round trip",
            extra={"calls": calls},
        )
    ]


def health(resources: LocalResources, tenant: str | None, customers: int) -> list[Row]:
    """Scoring from features (pure CPU), and end to end for an imported account against moto."""
    from arsync.health.throughput import TARGET_CUSTOMERS_PER_SECOND, measure

    result = measure(customers=customers, repeats=3)
    rows = [
        Row(
            "health scoring",
            "customers/s from features",
            result.customers_per_second,
            TARGET_CUSTOMERS_PER_SECOND,
            unit="/s",
            target=1.0,
            higher_is_better=True,
            extra={"customers": customers},
        )
    ]
    if tenant is None:
        return rows
    from arsync.services.health import HealthService
    from arsync.store.documents import DynamoCustomerDocuments
    from arsync.store.dynamodb import DynamoCustomerRepository

    counter = CallCounter()
    client = counter.attach(boto_client("dynamodb", resources.endpoint_url))
    service = HealthService(
        customers=DynamoCustomerRepository(resources.table_name, client),
        documents=DynamoCustomerDocuments(resources.table_name, client),
    )
    started = time.perf_counter()
    scored = service.score_account(tenant)
    seconds = time.perf_counter() - started
    raw_seconds, items = _raw_read(client, resources.table_name, tenant)
    rows.append(
        Row(
            "health scoring",
            "end to end, imported account (wall)",
            seconds,
            raw_seconds,
            unit="s",
            note="baseline: raw Query of every item of the account's partition",
            extra={
                "scored": scored.scored,
                "changed": scored.changed,
                "customers_per_s": round(scored.scored / seconds, 1),
                "items_in_partition": items,
                "calls": dict(counter.calls),
            },
        )
    )
    rows.append(
        Row(
            "health scoring",
            "customers/s end to end",
            scored.scored / seconds,
            TARGET_CUSTOMERS_PER_SECOND,
            unit="/s",
            higher_is_better=True,
            note="informational: dominated by moto reads and one conditional write per changed score",
        )
    )
    return rows


def _raw_read(client: Any, table: str, tenant: str) -> tuple[float, int]:
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"TENANT#{tenant}"}},
    }
    count = 0
    started = time.perf_counter()
    for _ in range(100_000):
        response = client.query(**request)
        count += len(response["Items"])
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return time.perf_counter() - started, count


def fan_out(resources: LocalResources, accounts: int) -> list[Row]:
    """dispatch_scheduled over `accounts` connected accounts: SendMessageBatch calls vs ceil(accounts / 10)."""
    from arsync.sync.queue import SqsSyncQueue
    from arsync.sync.service import SyncService

    seed = boto_client("dynamodb", resources.endpoint_url)
    now = datetime.now(UTC)
    prefix = f"bench-fan-{uuid.uuid4().hex[:6]}"
    items = [
        connection_to_item(
            f"{prefix}-{n:05d}",
            Connection(
                system=AccountingSystem.QUICKBOOKS_ONLINE, status="connected", company_id=str(n), connected_at=now
            ),
        )
        for n in range(accounts)
    ]
    for start in range(0, len(items), BATCH_WRITE_MAX):
        seed.batch_write_item(
            RequestItems={resources.table_name: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )
    counter = CallCounter()
    dynamodb = counter.attach(boto_client("dynamodb", resources.endpoint_url))
    sqs = counter.attach(boto_client("sqs", resources.endpoint_url))
    service = SyncService(DynamoSyncStore(resources.table_name, dynamodb), SqsSyncQueue(resources.queue_url, sqs))
    started = time.perf_counter()
    result = service.dispatch_scheduled()
    seconds = time.perf_counter() - started
    sends = counter.calls["SendMessageBatch"] + counter.calls["SendMessage"]
    extra = {"accounts": result.accounts, "queued": result.queued, "seconds": round(seconds, 2)}
    return [
        Row("fan-out", "SQS send requests", sends, ceil_div(accounts, 10), target=1.0, extra=extra),
        Row(
            "fan-out",
            "DynamoDB write requests",
            counter.write_requests,
            ceil_div(2 * result.queued, BATCH_WRITE_MAX),
            target=1.05,
            note="bound: ceil(2 items (run + active pointer) x queued / 25)",
            extra={"calls": dict(counter.calls)},
        ),
    ]
