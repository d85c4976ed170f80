"""F9 - DynamoDB write faults: throttling injected into the functions' own DynamoDB client, through the gateway.

A botocore `before-send` hook on the client the handlers use answers a share of this test tenant's requests
with DynamoDB's own throttling error (HTTP 400, `ProvisionedThroughputExceededException` /
`ThrottlingException`) instead of sending them to moto, so the client's standard retry mode, our error
mapping and the optimistic versioning all run as in production. Other tenants' requests pass untouched.

Asserted: no lost or doubled update (each customer's final version is 1 + the PATCHes answered 200, and it
carries the last of them); retries are spaced by jittered backoff (the waits before retries differ); a
throttle that outlasts the client's retries reaches the caller as 503 `service_busy` with Retry-After and
changes nothing, never as a 500.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from arsync import aws
from local.stack import LocalStack
from tests.integration.conftest import Api
from tests.integration.reliability.figures import record

pytestmark = pytest.mark.integration

THROTTLES = ("ProvisionedThroughputExceededException", "ThrottlingException")


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


@dataclass
class Throttler:
    """Answers `share` of the requests that mention `marker` with a DynamoDB throttling error."""

    marker: bytes
    share: float
    rng: random.Random = field(default_factory=lambda: random.Random(20261204))
    sends: list[tuple[float, bytes, bool]] = field(default_factory=list)  # (when, request body, throttled)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        if self.marker not in body:
            return None
        throttled = self.rng.random() < self.share
        self.sends.append((time.monotonic(), body, throttled))
        if not throttled:
            return None
        code = self.rng.choice(THROTTLES)
        error = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "Rate exceeded"})
        return AWSResponse(request.url, 400, {"x-amzn-errortype": code}, _Body(error.encode()))

    def retry_gaps(self) -> list[float]:
        """Seconds between a throttled attempt and the next attempt of the same request."""
        gaps = []
        for i, (when, body, throttled) in enumerate(self.sends):
            if throttled:
                later = next((t for t, b, _ in self.sends[i + 1 :] if b == body), None)
                if later is not None:
                    gaps.append(later - when)
        return gaps


@pytest.fixture
def throttle(stack: LocalStack, api: Api) -> Iterator[Throttler]:
    throttler = Throttler(marker=api.tenant_id.encode(), share=0.0)
    events = aws.client("dynamodb").meta.events
    events.register_first("before-send.dynamodb", throttler)
    yield throttler
    events.unregister("before-send.dynamodb", throttler)


def test_throttled_writes_lose_nothing_and_retries_are_jittered(api: Api, throttle: Throttler) -> None:
    customers = [api.create_customer(f"{api.tenant_id} Throttled {n}") for n in range(8)]
    throttle.share = 0.2
    answered: dict[str, list[str]] = {c["id"]: [] for c in customers}
    statuses: dict[int, int] = {}
    for round_ in range(6):
        for customer in customers:
            notes = f"round {round_}"
            for _ in range(10):  # a client retrying on 503, as Retry-After tells it to
                version = 1 + len(answered[customer["id"]])
                response = api.patch(f"/customers/{customer['id']}", json={"version": version, "notes": notes})
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 200:
                    answered[customer["id"]].append(notes)
                    break
                assert response.status_code == 503, response.text
                assert response.json()["code"] == "service_busy" and response.headers["Retry-After"] == "1"
            else:
                pytest.fail("ten 503s in a row at a 20% throttle rate")
    throttle.share = 0.0

    for customer in customers:
        stored = api.get(f"/customers/{customer['id']}").json()
        assert stored["version"] == 1 + len(answered[customer["id"]]) == 7  # every answered write, once
        assert stored["notes"] == answered[customer["id"]][-1] == "round 5"
    gaps = throttle.retry_gaps()
    assert len(gaps) >= 20, "the injected throttles were not retried by the client"
    distinct = {round(gap, 4) for gap in gaps}
    assert len(distinct) >= 0.95 * len(gaps), "retry waits are not jittered"
    record(
        "F9 DynamoDB throttling",
        injected=sum(1 for *_, throttled in throttle.sends if throttled),
        attempts=len(throttle.sends),
        retries_measured=len(gaps),
        retry_wait_ms={"min": round(min(gaps) * 1000, 1), "max": round(max(gaps) * 1000, 1)},
        statuses=statuses,
    )


def test_a_throttle_that_outlasts_the_retries_is_a_503_that_changes_nothing(api: Api, throttle: Throttler) -> None:
    customer = api.create_customer(f"{api.tenant_id} Busy Co")
    throttle.share = 1.0

    refused = api.patch(f"/customers/{customer['id']}", json={"version": 1, "notes": "never stored"})
    body, key = {"display_name": f"{api.tenant_id} Also Busy"}, {"Idempotency-Key": f"{api.tenant_id}-busy"}
    created = api.post("/customers", json=body, headers=key)

    throttle.share = 0.0
    for response in (refused, created):
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "1"
        problem = response.json()
        assert problem["code"] == "service_busy" and "Retry" in problem["detail"]
    assert api.get(f"/customers/{customer['id']}").json()["version"] == 1
    listed = api.get("/customers").json()["items"]
    assert [c["display_name"] for c in listed] == [f"{api.tenant_id} Busy Co"]
    retried = api.post("/customers", json=body, headers=key)  # the advertised retry, same key: stored once
    again = api.post("/customers", json=body, headers=key)
    assert retried.status_code == 201 and again.status_code == 201 and again.json()["id"] == retried.json()["id"]
    assert len(api.get("/customers").json()["items"]) == 2
