"""Full import, no-change and small-change incremental syncs per emulator, each beside its protocol bound and a
raw baseline (plain `requests` paging the same emulator + boto3 batch-writing the same items) in the same run."""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from arsync.models.account import AccountSettings
from arsync.store.sync_store import BATCH_WRITE_MAX, DynamoSyncStore
from arsync.sync.engine import SyncEngine
from arsync.sync.models import SyncRun
from bench.infra import REAL_PER_MINUTE, Account, Admin, CallCounter, boto_client, connect_account
from bench.results import Row, ceil_div, paged_lower_bound
from local.aws import LocalResources, provision

PAGE_SIZE = {"quickbooks_online": 1000, "xero": 1000}  # QBO MAXRESULTS cap; Xero pageSize cap
QBO_QUERIES = {
    "Customer": "SELECT * FROM Customer WHERE Active IN (true, false)",
    "Invoice": "SELECT * FROM Invoice",
    "Payment": "SELECT * FROM Payment",
    "CreditMemo": "SELECT * FROM CreditMemo",
}
XERO_ENDPOINTS: dict[str, dict[str, str]] = {
    "Contacts": {"includeArchived": "true"},
    "Invoices": {"where": 'Type=="ACCREC"'},
    "Payments": {},
    "CreditNotes": {},
    "Overpayments": {},
    "Prepayments": {},
}
INCREMENTAL_BOUND = {"quickbooks_online": 1, "xero": len(XERO_ENDPOINTS)}  # one CDC call; one call per endpoint
MAX_PAGES = 10_000  # bounded loops


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _run(tenant: str) -> SyncRun:
    now = datetime.now(UTC)
    return SyncRun(
        tenant_id=tenant,
        id=f"run_{uuid.uuid4().hex[:8]}",
        trigger="manual",
        status="running",
        created_at=now,
        updated_at=now,
        started_at=now,
    )


@dataclass
class RawPaging:
    rows: dict[str, list[dict[str, Any]]]
    requests: int
    seconds: float


def raw_page(account: Account) -> RawPaging:
    """The minimal client: page every endpoint the import reads, with plain requests, until a short page."""
    http = requests.Session()
    headers = {"Authorization": f"Bearer {account.access_token}", "Accept": "application/json"}
    rows: dict[str, list[dict[str, Any]]] = {}
    count = 0
    started = time.perf_counter()
    if account.system == "quickbooks_online":
        url = f"{account.base_url}/v3/company/{account.company_id}/query"
        for entity, select in QBO_QUERIES.items():
            rows[entity] = []
            for page in range(MAX_PAGES):
                sql = f"{select} ORDERBY Id STARTPOSITION {page * 1000 + 1} MAXRESULTS 1000"
                response = http.post(
                    url, data=sql, headers={**headers, "Content-Type": "application/text"}, timeout=120
                )
                response.raise_for_status()
                count += 1
                got = response.json().get("QueryResponse", {}).get(entity) or []
                rows[entity].extend(got)
                if len(got) < 1000:
                    break
    else:
        headers["xero-tenant-id"] = account.company_id
        for endpoint, params in XERO_ENDPOINTS.items():
            rows[endpoint] = []
            for page in range(1, MAX_PAGES):
                response = http.get(
                    f"{account.base_url}/api.xro/2.0/{endpoint}",
                    params={"page": str(page), "pageSize": "1000", **params},
                    headers=headers,
                    timeout=120,
                )
                response.raise_for_status()
                count += 1
                got = response.json().get(endpoint) or []
                rows[endpoint].extend(got)
                if len(got) < 1000:
                    break
    return RawPaging(rows=rows, requests=count, seconds=time.perf_counter() - started)


def raw_write(client: Any, table: str, items: list[dict[str, Any]]) -> float:
    """BatchWriteItem of exactly the items the engine wrote, 25 a request, into a second table."""
    started = time.perf_counter()
    for start in range(0, len(items), BATCH_WRITE_MAX):
        pending: list[Any] = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_MAX]]
        for _ in range(10):
            response = client.batch_write_item(RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
    return time.perf_counter() - started


def _touch_email(admin: Admin, system: str, company_id: str, external_id: str, n: int) -> None:
    email = f"bench-{n}-{uuid.uuid4().hex[:6]}@example.com"
    if system == "quickbooks_online":
        body = {"entity": "Customer", "id": external_id, "changes": {"PrimaryEmailAddr": {"Address": email}}}
    else:
        body = {"entity": "Contact", "id": external_id, "changes": {"EmailAddress": email}}
    admin.call("POST", f"companies/{company_id}/touch", body)


def bench_system(
    system: str,
    base_url: str,
    resources: LocalResources,
    customers: int,
    invoices_per_customer: tuple[int, int],
    *,
    incremental: bool = True,
) -> tuple[list[Row], str]:
    """All sync rows of one emulator. The account is seeded with timestamps an hour in the past, so the
    incremental runs' overlap window does not see the seeding itself."""
    label = "QBO" if system == "quickbooks_online" else "Xero"
    admin = Admin(base_url)
    account = connect_account(system, base_url, customers, invoices_per_customer)
    counter = CallCounter(captured=[])
    store = DynamoSyncStore(
        resources.table_name, client=counter.attach(boto_client("dynamodb", resources.endpoint_url))
    )
    engine = SyncEngine(store)
    tenant = f"bench-{system}-{uuid.uuid4().hex[:6]}"
    rows: list[Row] = []

    # --- full import ---------------------------------------------------------------------------------------------
    run = _run(tenant)
    started = time.perf_counter()
    outcome = engine.run(run, system, account.connector, AccountSettings())
    engine_seconds = time.perf_counter() - started
    assert outcome == "completed", outcome
    _log(f"{label} N={customers:,}: full import {engine_seconds:.1f} s")
    engine_requests = admin.api_requests()
    captured = list(counter.captured or [])
    writes, calls = counter.write_requests, dict(counter.calls)

    # --- raw baseline, same run, same emulator, same moto server -----------------------------------------------
    admin.call("DELETE", "requests")
    raw_table = f"arsync-bench-raw-{uuid.uuid4().hex[:6]}"
    provision(resources.endpoint_url, raw_table)
    paging = raw_page(account)
    raw_seconds = paging.seconds + raw_write(boto_client("dynamodb", resources.endpoint_url), raw_table, captured)
    _log(f"{label} N={customers:,}: raw baseline {raw_seconds:.1f} s (paging {paging.seconds:.1f} s)")
    rows_per_endpoint = {k: len(v) for k, v in paging.rows.items()}
    request_bound = paged_lower_bound(rows_per_endpoint, PAGE_SIZE[system])
    write_bound = ceil_div(len(captured), BATCH_WRITE_MAX)
    scenario = f"full import {label} N={customers:,}"
    common = {"customers_seeded": customers, "rows_per_endpoint": rows_per_endpoint, "items_written": len(captured)}
    short_page_bound = sum(rows // PAGE_SIZE[system] + 1 for rows in rows_per_endpoint.values())
    rows += [
        Row(scenario, "provider requests", engine_requests, request_bound, target=1.0, extra=common),
        Row(
            scenario,
            "provider requests vs short-page floor",
            engine_requests,
            short_page_bound,
            note="floor(rows/page)+1 per endpoint: a full last page needs one more (empty) read to know it was last",
        ),
        Row(
            scenario,
            "at the real rate limit",
            engine_requests / REAL_PER_MINUTE[system],
            request_bound / REAL_PER_MINUTE[system],
            unit="min",
            note=f"computed: requests / {REAL_PER_MINUTE[system]} per minute (not slept)",
        ),
        Row(
            scenario,
            "DynamoDB write requests",
            writes,
            write_bound,
            target=1.05,
            extra={"calls": calls, "items": len(captured)},
            note=f"bound: ceil({len(captured):,} items / 25)",
        ),
        Row(
            scenario,
            "wall time vs raw baseline",
            engine_seconds,
            raw_seconds,
            unit="s",
            target=1.5,
            extra={"raw_paging_s": round(paging.seconds, 3), "raw_requests": paging.requests},
        ),
    ]
    if not incremental:
        return rows, tenant

    # --- no-change incremental -------------------------------------------------------------------------------
    rows += _incremental(engine, counter, account, tenant, f"no-change sync {label}", changed=0)

    # --- 1% of customers changed ---------------------------------------------------------------------------------
    linked = [item["GSI3SK"]["S"] for item in captured if item["SK"]["S"].startswith("CUSTOMER#") and "GSI3SK" in item]
    touched = linked[:: max(1, len(linked) // max(1, customers // 100))][: max(1, customers // 100)]
    for n, external_id in enumerate(touched):
        _touch_email(admin, system, account.company_id, external_id, n)
    rows += _incremental(engine, counter, account, tenant, f"1% changed sync {label}", changed=len(touched))
    return rows, tenant


def _incremental(
    engine: SyncEngine, counter: CallCounter, account: Account, tenant: str, scenario: str, changed: int
) -> list[Row]:
    system, admin = account.system, account.admin
    counter.reset()
    counter.captured = []
    admin.call("DELETE", "requests")
    run = _run(tenant)
    started = time.perf_counter()
    outcome = engine.run(run, system, account.connector, AccountSettings())
    seconds = time.perf_counter() - started
    assert outcome == "completed" and run.mode == "incremental", (outcome, run.mode)
    _log(f"{scenario}: {seconds:.1f} s")
    provider = admin.api_requests()
    customer_writes = counter.writes_by_prefix.get("CUSTOMER", 0)
    counts = {k: v.model_dump() for k, v in run.counts.items()}
    rows = [
        Row(scenario, "provider requests", provider, INCREMENTAL_BOUND[system], target=1.0, extra={"seconds": seconds}),
        Row(
            scenario,
            "customer item writes",
            customer_writes,
            changed,
            target=1.0,
            extra={"counts": counts},
            note="bound: the customers changed at the provider (a conditional put each)",
        ),
        Row(
            scenario,
            "DynamoDB write requests (all)",
            counter.write_requests,
            changed + 1,
            target=1.05,
            extra={"calls": dict(counter.calls)},
            note="bound: one per changed customer + one sync-state write (the bookmark)",
        ),
    ]
    return rows
