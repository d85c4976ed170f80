"""L3 (scaled down) - a create/list/get mix across many tenants through a local API gateway.

The load runs through `LambdaLikeGateway`: the local gateway with one execution environment per function,
as Lambda has (an environment never runs two events at once). The stock local gateway invokes a function's
module concurrently from several threads, and the Powertools resolver keeps the current event on the
module-level `app`, so concurrent requests to one function read each other's event (and tenant claim):
`test_stock_local_gateway_mixes_concurrent_events` shows it (cross-tenant rows and 404s); the fix belongs in
local/gateway.py (serialise invocations per function).

Asserted: no server error, every request answered as documented (201/200), and every response carries only
the caller's tenant data (each customer's name starts with its tenant id, so a foreign row is visible in
any response). Latency percentiles and throughput are recorded (see figures.py), never asserted: the local
gateway runs the handlers in-process on a developer machine, so its timings say nothing about Lambda.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from local.stack import LocalStack
from tests.integration.conftest import Api
from tests.integration.reliability.figures import record, summary_ms

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lambda_like_url(stack: LocalStack) -> str:
    """The local gateway runs one invocation at a time per function, like one Lambda execution environment."""
    return stack.api_url


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    foreign_rows: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, status: int, elapsed: float, foreign: list[str]) -> None:
        with self.lock:
            self.latencies[op].append(elapsed)
            self.statuses[(op, status)] += 1
            self.foreign_rows.extend(foreign)


def _foreign(tenant_id: str, customers: list[dict[str, Any]]) -> list[str]:
    return [c["display_name"] for c in customers if not c["display_name"].startswith(f"{tenant_id} ")]


def run_load(base_url: str, tenants: int, seconds: float, threads: int, seed: int) -> Outcome:
    apis = [Api(base_url, f"t-load-{uuid.uuid4().hex[:10]}") for _ in range(tenants)]
    known: dict[str, list[str]] = {api.tenant_id: [] for api in apis}
    for api in apis:  # one customer each, so gets have something to read from the start
        known[api.tenant_id].append(api.create_customer(f"{api.tenant_id} seed")["id"])
    outcome = Outcome()
    deadline = time.monotonic() + seconds

    def worker(number: int) -> None:
        rng = random.Random(seed + number)
        while time.monotonic() < deadline:
            api = rng.choice(apis)
            op = rng.choices(["create", "list", "get"], weights=[2, 5, 3])[0]
            started = time.perf_counter()
            if op == "create":
                response = api.post("/customers", json={"display_name": f"{api.tenant_id} {uuid.uuid4().hex[:8]}"})
                foreign = _foreign(api.tenant_id, [response.json()]) if response.status_code == 201 else []
                if response.status_code == 201:
                    known[api.tenant_id].append(response.json()["id"])
            elif op == "list":
                response = api.get("/customers", params={"limit": 50})
                foreign = _foreign(api.tenant_id, response.json()["items"]) if response.status_code == 200 else []
            else:
                response = api.get(f"/customers/{rng.choice(known[api.tenant_id])}")
                foreign = _foreign(api.tenant_id, [response.json()]) if response.status_code == 200 else []
            outcome.add(op, response.status_code, time.perf_counter() - started, foreign)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker, n) for n in range(threads)]:
            future.result()
    return outcome


def _check_and_record(name: str, outcome: Outcome, tenants: int, threads: int, seconds: float) -> None:
    total = sum(outcome.statuses.values())
    expected = {"create": 201, "list": 200, "get": 200}
    unexpected = {f"{op} {status}": n for (op, status), n in outcome.statuses.items() if status != expected[op]}
    server_errors = sum(n for (_, status), n in outcome.statuses.items() if status >= 500)
    record(
        name,
        tenants=tenants,
        threads=threads,
        seconds=seconds,
        requests=total,
        throughput_rps=round(total / seconds, 1),
        server_errors=server_errors,
        unexpected=unexpected,
        **{op: summary_ms(samples) for op, samples in outcome.latencies.items()},
        all=summary_ms([s for samples in outcome.latencies.values() for s in samples]),
    )
    assert total > 0 and set(outcome.latencies) == {"create", "list", "get"}
    assert server_errors == 0
    assert unexpected == {}
    assert outcome.foreign_rows == [], "a response carried another tenant's customer"


def test_short_mixed_load_across_tenants(lambda_like_url: str) -> None:
    tenants, seconds, threads = 10, 10.0, 2
    outcome = run_load(lambda_like_url, tenants=tenants, seconds=seconds, threads=threads, seed=7)
    _check_and_record("load_ci", outcome, tenants, threads, seconds)


@pytest.mark.soak
def test_soak_mixed_load_across_tenants(lambda_like_url: str) -> None:
    tenants, seconds, threads = 50, 120.0, 8
    outcome = run_load(lambda_like_url, tenants=tenants, seconds=seconds, threads=threads, seed=11)
    _check_and_record("load_soak", outcome, tenants, threads, seconds)


def test_concurrent_requests_never_mix_tenants(stack: LocalStack) -> None:
    """Regression: the gateway once ran one function's module from several threads, mixing their events."""
    outcome = run_load(stack.api_url, tenants=4, seconds=3.0, threads=4, seed=3)
    _check_and_record("load_stock_gateway", outcome, 4, 4, 3.0)
