"""Sync service and worker with fakes: coalescing, dispatch batching, pauses, re-auth, retries, partial batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.errors import SyncRunNotFound
from arsync.models.account import Connection
from arsync.models.common import AccountingSystem
from arsync.store.sync_store import DispatchTarget
from arsync.sync.models import SyncMessage
from arsync.sync.service import SyncService
from arsync.sync.worker import RetryableSyncError, SyncWorker
from tests.fakes import InMemoryAccountRepository
from tests.unit.sync.fakes import FakeConnector, FixedClock, InMemorySyncStore, RecordingQueue, seed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QBO = AccountingSystem.QUICKBOOKS_ONLINE


class Provider:
    def __init__(self) -> None:
        self.connectors: dict[str, FakeConnector] = {}

    def connector(self, tenant_id: str, connection: Connection) -> FakeConnector:
        return self.connectors[tenant_id]


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.store = InMemorySyncStore()
        self.queue = RecordingQueue()
        self.accounts = InMemoryAccountRepository()
        self.provider = Provider()
        self.reauth: list[tuple[str, AccountingError]] = []
        self.service = SyncService(self.store, self.queue, clock=self.clock)
        self.worker = SyncWorker(
            store=self.store,
            accounts=self.accounts,
            queue=self.queue,
            connectors=self.provider,
            on_needs_reauth=lambda t, e: self.reauth.append((t, e)),
            clock=self.clock,
        )

    def connect(self, tenant_id: str, customers: int = 12) -> FakeConnector:
        self.accounts.save_connection(
            tenant_id, Connection(system=QBO, status="connected", company_id="realm-1", connected_at=T0), None
        )
        connector = FakeConnector(page_size=5)
        seed(connector, customers, T0 - timedelta(days=1))
        self.provider.connectors[tenant_id] = connector
        return connector

    def deliver(self, remaining_ms: int = 300_000) -> list[str]:
        """Hand every queued message to the worker once (like one poll), return outcomes."""
        pending, self.queue.sent = self.queue.sent, []
        return [self.worker.handle(message, lambda: remaining_ms) for message, _ in pending]


@pytest.fixture
def world() -> World:
    return World()


def test_request_sync_coalesces_with_a_queued_or_running_run(world: World) -> None:
    first = world.service.request_sync("t1", "manual")
    second = world.service.request_sync("t1", "schedule")
    assert second.id == first.id and second.status == "queued"
    assert [m.run_id for m, _ in world.queue.sent] == [first.id]
    assert world.service.get_run("t1", first.id).trigger == "manual"
    with pytest.raises(SyncRunNotFound):
        world.service.get_run("t2", first.id)


def test_a_finished_run_no_longer_coalesces(world: World) -> None:
    world.connect("t1")
    first = world.service.request_sync("t1", "manual")
    assert world.deliver() == ["completed"]
    assert world.service.get_run("t1", first.id).status == "succeeded"
    world.clock.now = T0 + timedelta(seconds=1)
    second = world.service.request_sync("t1", "manual")
    assert second.id != first.id
    runs, cursor = world.service.list_runs("t1", limit=1)
    assert [r.id for r in runs] == [second.id] and cursor is not None


def test_a_stale_active_run_does_not_block_forever(world: World) -> None:
    first = world.service.request_sync("t1", "manual")  # its worker never comes
    world.clock.now = T0 + timedelta(hours=4)
    assert world.service.request_sync("t1", "manual").id != first.id


def test_dispatch_batches_run_records_and_messages(world: World) -> None:
    world.store.targets = [DispatchTarget(f"t{n:03d}", "xero") for n in range(95)]
    for n in range(5):
        world.service.request_sync(f"t{n:03d}", "manual")
    world.queue.sent.clear()
    world.queue.requests = 0
    result = world.service.dispatch_scheduled()
    assert (result.accounts, result.queued, result.coalesced) == (95, 90, 5)
    assert world.queue.requests == 9 and len(world.queue.sent) == 90
    assert all(m.trigger == "schedule" for m, _ in world.queue.sent)


def test_a_retried_schedule_tick_serves_each_account_once(world: World) -> None:
    """L1: EventBridge retries a failed dispatcher with the same event `time`; accounts whose run for that tick
    already finished are not synced again, while the next tick and a manual sync are not held back."""
    for tenant in ("t1", "t2"):
        world.connect(tenant, customers=3)
    world.store.targets = [DispatchTarget("t1", "quickbooks_online"), DispatchTarget("t2", "quickbooks_online")]
    tick = "2026-03-02T09:00:00Z"
    assert world.service.dispatch_scheduled(tick).queued == 2
    assert world.deliver() == ["completed", "completed"]

    retried = world.service.dispatch_scheduled(tick)
    assert (retried.queued, retried.coalesced) == (0, 2) and world.queue.sent == []

    assert world.service.dispatch_scheduled("2026-03-02T10:00:00Z").queued == 2
    assert world.deliver() == ["completed", "completed"]
    manual = world.service.request_sync("t1", "manual")
    assert manual.status == "queued" and world.deliver() == ["completed"]


def test_worker_runs_a_full_import_then_records_success(world: World) -> None:
    world.connect("t1")
    run = world.service.request_sync("t1", "manual")
    assert world.deliver() == ["completed"]
    done = world.service.get_run("t1", run.id)
    assert done.status == "succeeded" and done.mode == "full" and done.counts["customers"].created == 12
    assert done.started_at == T0 and done.finished_at == T0
    assert "t1" not in world.store.leases and "t1" not in world.store.actives
    connection = world.accounts.get_connection("t1")
    assert connection is not None and connection.last_sync_run_id == run.id
    assert world.deliver() == []


def test_worker_yields_near_the_deadline_and_continues(world: World) -> None:
    world.connect("t1")
    run = world.service.request_sync("t1", "manual")
    assert world.deliver(remaining_ms=1_000) == ["yielded"]
    assert [(m.run_id, m.continuation) for m, _ in world.queue.sent] == [(run.id, True)]
    assert world.service.get_run("t1", run.id).status == "running"
    assert world.deliver() == ["completed"]


def test_day_limit_pauses_the_account_without_burning_retries(world: World) -> None:
    connector = world.connect("t1")
    reset_at = T0 + timedelta(hours=3)
    calls = {"n": 0}

    def day_limit(name: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise AccountingError(
                AccountingSystem.XERO, ErrorCategory.DAILY_LIMIT_REACHED, "Daily limit exceeded", reset_at=reset_at
            )

    connector.before_call = day_limit
    run = world.service.request_sync("t1", "manual")
    assert world.deliver() == ["paused"]
    paused = world.service.get_run("t1", run.id)
    assert paused.status == "running" and paused.paused_until == reset_at
    assert paused.errors[-1].category == "daily_limit_reached" and paused.errors[-1].message == "Daily limit exceeded"
    assert world.store.states["t1"].paused_until == reset_at and world.store.states["t1"].checkpoint is not None
    assert [d for _, d in world.queue.sent] == [900]
    assert "t1" not in world.store.leases
    # A new request while paused joins the paused run.
    assert world.service.request_sync("t1", "manual").id == run.id

    world.clock.now = T0 + timedelta(minutes=15)
    before = len(connector.calls)
    assert world.deliver() == ["waiting"]
    assert len(connector.calls) == before and [d for _, d in world.queue.sent] == [900]

    world.clock.now = reset_at + timedelta(seconds=1)
    assert world.deliver() == ["completed"]
    assert world.service.get_run("t1", run.id).status == "succeeded"
    assert world.store.states["t1"].paused_until is None


def test_needs_reauth_marks_the_connection_and_fails_the_run_once(world: World) -> None:
    connector = world.connect("t1")

    def unauthorised(name: str) -> None:
        raise AccountingError(QBO, ErrorCategory.AUTHENTICATION_FAILED, "AuthenticationFailed", http_status=401)

    connector.before_call = unauthorised
    run = world.service.request_sync("t1", "manual")
    assert world.deliver() == ["failed"]
    assert [t for t, _ in world.reauth] == ["t1"]
    failed = world.service.get_run("t1", run.id)
    assert failed.status == "failed" and failed.errors[0].category == "authentication_failed"
    assert world.queue.sent == [] and "t1" not in world.store.actives


def test_retryable_error_raises_and_the_retry_resumes(world: World) -> None:
    connector = world.connect("t1")
    calls = {"n": 0}

    def flaky(name: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise AccountingError(QBO, ErrorCategory.PROVIDER_UNAVAILABLE, "Service Unavailable", http_status=503)

    connector.before_call = flaky
    run = world.service.request_sync("t1", "manual")
    message = world.queue.sent[0][0]
    with pytest.raises(RetryableSyncError):
        world.worker.handle(message, lambda: 300_000)
    assert world.store.states["t1"].checkpoint is not None and "t1" not in world.store.leases
    assert world.worker.handle(message, lambda: 300_000) == "completed"
    assert world.service.get_run("t1", run.id).counts["customers"].created == 12


def test_not_connected_and_needs_reauth_accounts_are_skipped(world: World) -> None:
    run = world.service.request_sync("t9", "schedule")
    assert world.deliver() == ["skipped"]
    assert world.service.get_run("t9", run.id).status == "skipped"


def test_lease_held_by_another_run_skips_this_one(world: World) -> None:
    world.connect("t1")
    run = world.service.request_sync("t1", "manual")
    world.store.leases["t1"] = ("run_other", int((T0 + timedelta(minutes=5)).timestamp()))
    assert world.deliver() == ["busy"]
    assert world.service.get_run("t1", run.id).status == "skipped"


def test_a_duplicate_delivery_of_a_running_run_is_dropped_without_touching_the_run(world: World) -> None:
    """Another invocation holds the lease for this very run: it will finish it; this copy only steps aside."""
    connector = world.connect("t1")
    run = world.service.request_sync("t1", "manual")
    world.store.leases["t1"] = (f"{run.id}#other-invocation", int((T0 + timedelta(minutes=5)).timestamp()))
    assert world.deliver() == ["busy"]
    assert world.service.get_run("t1", run.id).status == "queued" and "t1" in world.store.actives
    assert connector.calls == []


def test_a_copy_that_gets_the_lease_after_another_copy_finished_the_run_does_not_run_it_again(
    world: World,
) -> None:
    """Copy B reads the run (still queued), copy A runs and finishes it, then B takes the free lease."""
    connector = world.connect("t1")
    run = world.service.request_sync("t1", "manual")
    message = world.queue.sent.pop()[0]
    acquire = world.store.acquire_lease
    other_copy: list[str] = []

    def after_the_other_copy(*args: Any) -> bool:
        if not other_copy:
            world.store.acquire_lease = acquire  # type: ignore[method-assign]
            other_copy.append(world.worker.handle(message, lambda: 300_000))
        return acquire(*args)

    world.store.acquire_lease = after_the_other_copy  # type: ignore[method-assign,assignment]
    assert world.worker.handle(message, lambda: 300_000) == "finished"
    assert other_copy == ["completed"]
    done = world.service.get_run("t1", run.id)
    assert done.status == "succeeded" and done.counts["customers"].created == 12
    assert connector.calls.count("list_customers") == 3  # one run: 12 customers, 5 a page


def test_a_continuation_is_queued_after_the_lease_is_released(world: World) -> None:
    """A continuation delivered at once must find the lease free, or it would be dropped as a duplicate."""
    world.connect("t1", customers=40)
    world.service.request_sync("t1", "manual")
    leases_when_sent = []
    send = world.queue.send

    def noting_the_lease(*args: Any, **kwargs: Any) -> None:
        leases_when_sent.append(world.store.leases.get("t1"))
        send(*args, **kwargs)

    world.queue.send = noting_the_lease  # type: ignore[method-assign]
    assert world.deliver(remaining_ms=1) == ["yielded"]
    assert leases_when_sent == [None]


def test_poison_body_is_a_value_error(world: World) -> None:
    with pytest.raises(ValueError):
        world.worker.handle_body("not json", lambda: 300_000)
    with pytest.raises(ValueError):
        world.worker.handle_body(json.dumps({"tenant_id": "t1"}), lambda: 300_000)


def test_handler_reports_exactly_the_failed_message_ids(world: World, monkeypatch: Any) -> None:
    from functions.sync_worker import app
    from local.lambda_context import LocalLambdaContext
    from tests.conftest import load_event

    world.connect("good")
    flaky = world.connect("flaky")
    flaky.before_call = lambda name: (_ for _ in ()).throw(
        AccountingError(QBO, ErrorCategory.PROVIDER_UNAVAILABLE, "Service Unavailable", http_status=503)
    )
    good = world.service.request_sync("good", "manual")
    bad = world.service.request_sync("flaky", "manual")
    template = load_event("sync_worker")["Records"][0]
    bodies = {
        "m-good": SyncMessage(tenant_id="good", run_id=good.id, trigger="manual").body(),
        "m-poison": "{not json",
        "m-flaky": SyncMessage(tenant_id="flaky", run_id=bad.id, trigger="manual").body(),
    }
    event = {"Records": [{**template, "messageId": mid, "body": body} for mid, body in bodies.items()]}
    monkeypatch.setattr(app, "get_worker", lambda: world.worker)
    response = app.lambda_handler(event, LocalLambdaContext(function_name="sync-worker", timeout_seconds=300))
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["m-flaky", "m-poison"]
    assert world.service.get_run("good", good.id).status == "succeeded"


def test_repeated_outages_open_the_circuit_then_one_probe_per_wait_until_recovery(world: World) -> None:
    """F6: a provider down for good costs at most one call per recovery wait; the message never reaches the DLQ
    (it is not failed once the circuit is open) and the account resumes by itself when the provider answers."""
    failing = world.connect("t1")
    healthy = world.connect("t2")
    down = {"on": True}

    def outage(name: str) -> None:
        if down["on"]:
            raise AccountingError(QBO, ErrorCategory.PROVIDER_UNAVAILABLE, "Service Unavailable", http_status=503)

    failing.before_call = outage
    run = world.service.request_sync("t1", "schedule")
    message = world.queue.sent.pop()[0]
    for _ in range(world.worker.breaker_threshold - 1):  # below the threshold SQS redelivers as before
        with pytest.raises(RetryableSyncError):
            world.worker.handle(message, lambda: 300_000)
    assert world.store.states["t1"].provider_failures == world.worker.breaker_threshold - 1

    assert world.worker.handle(message, lambda: 300_000) == "circuit_open"
    assert [d for _, d in world.queue.sent] == [301]  # the probe: one delayed continuation
    assert world.store.states["t1"].paused_until == T0 + timedelta(minutes=5)
    assert world.service.get_run("t1", run.id).errors[-1].message == "Service Unavailable"

    # Early deliveries (duplicates, sync-now) call nothing; another tenant is untouched meanwhile.
    calls = len(failing.calls)
    assert world.worker.handle(message, lambda: 300_000) == "waiting"
    assert len(failing.calls) == calls
    world.service.request_sync("t2", "manual")
    world.queue.sent = [(m, d) for m, d in world.queue.sent if m.tenant_id == "t2"]
    assert world.deliver() == ["completed"] and healthy.calls

    waits = []
    for _ in range(4):  # still down: one call per probe, the wait doubles up to the cap
        world.clock.now = world.store.states["t1"].paused_until + timedelta(seconds=1)
        calls = len(failing.calls)
        assert world.worker.handle(message, lambda: 300_000) == "circuit_open"
        assert len(failing.calls) == calls + 1
        waits.append(world.store.states["t1"].paused_until - world.clock.now)
    assert waits == [timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40), timedelta(hours=1)]

    down["on"] = False
    world.clock.now = world.store.states["t1"].paused_until + timedelta(seconds=1)
    assert world.worker.handle(message, lambda: 300_000) == "completed"
    state = world.store.states["t1"]
    assert state.provider_failures == 0 and state.paused_until is None
    assert world.service.get_run("t1", run.id).status == "succeeded"


def test_refusals_and_rate_limits_never_trip_the_circuit(world: World) -> None:
    connector = world.connect("t1")
    errors = iter(
        [AccountingError(QBO, ErrorCategory.RATE_LIMITED, "Too Many Requests", http_status=429)] * 5
        + [AccountingError(QBO, ErrorCategory.VALIDATION_FAILED, "Invalid query", http_status=400)]
    )

    def refuse(name: str) -> None:
        raise next(errors)

    connector.before_call = refuse
    world.service.request_sync("t1", "manual")
    message = world.queue.sent.pop()[0]
    for _ in range(5):
        with pytest.raises(RetryableSyncError):
            world.worker.handle(message, lambda: 300_000)
    assert world.worker.handle(message, lambda: 300_000) == "failed"
    state = world.store.get_state("t1")
    assert state.provider_failures == 0 and state.paused_until is None
