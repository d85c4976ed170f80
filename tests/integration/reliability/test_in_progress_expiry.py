"""Nothing stays in progress past its expiry: an invocation killed mid-create leaves its idempotency record
INPROGRESS in DynamoDB (moto server); a retry is refused only until the dead invocation's deadline, then runs
the operation exactly once, and later retries replay its answer."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from arsync.config import get_settings
from arsync.errors import RequestInProgress
from arsync.store.idempotency import PowertoolsIdempotencyGuard
from local.lambda_context import LocalLambdaContext
from local.stack import LocalStack

pytestmark = pytest.mark.integration


class Killed(BaseException):
    """The Lambda runtime killing the invocation (timeout, out of memory): no `except Exception` runs."""


def test_a_killed_invocations_in_progress_record_expires_with_its_deadline(stack: LocalStack) -> None:
    guard = PowertoolsIdempotencyGuard(get_settings().TABLE_NAME, expires_after_seconds=3600)
    tenant, key, payload = f"t-{uuid.uuid4().hex[:8]}", "create-1", {"display_name": "Acme"}
    runs: list[str] = []

    def killed() -> dict[str, Any]:
        runs.append("killed")
        raise Killed()

    def create() -> dict[str, Any]:
        runs.append("created")
        return {"id": "cus_1"}

    with pytest.raises(Killed):
        guard.run(tenant, key, payload, killed, lambda_context=LocalLambdaContext("create", timeout_seconds=2))
    deadline = time.monotonic() + 2

    with pytest.raises(RequestInProgress):  # the first invocation could still be running
        guard.run(tenant, key, payload, create, lambda_context=LocalLambdaContext("create"))
    time.sleep(max(0.0, deadline - time.monotonic()) + 1.1)  # past its deadline (whole seconds in the record)

    first = guard.run(tenant, key, payload, create, lambda_context=LocalLambdaContext("create"))
    again = guard.run(tenant, key, payload, create, lambda_context=LocalLambdaContext("create"))

    assert first == again == {"id": "cus_1"}
    assert runs == ["killed", "created"]  # the retry ran once, the replay did not run it again
