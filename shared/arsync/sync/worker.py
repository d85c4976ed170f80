"""The sync worker: one queue message = one slice of one account's run (lease, run/resume, release).

Outcomes per message, so the queue never turns provider trouble into a retry storm:
- done, yielded (continuation sent), paused by a day limit (delayed continuation), needs_reauth, not
  connected, already finished, lease held by another run: the message succeeds (it is deleted);
- a retryable provider error or an unexpected failure: the message fails and is redelivered later, resuming
  from the last checkpoint; after the queue's maxReceiveCount it goes to the DLQ;
- the account's provider failing again and again (outage, not refusal): after `breaker_threshold` consecutive
  outages the circuit opens: the account pauses like a day limit, one delayed continuation probes after the
  wait (doubling up to `breaker_max_wait`), and no other worker calls that provider meanwhile.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from arsync.clock import Clock, utc_now
from arsync.connectors.base import AccountingConnector
from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.errors import VersionConflict
from arsync.models.account import Connection
from arsync.observability import logger
from arsync.store.base import AccountRepository
from arsync.store.sync_store import SyncStore
from arsync.sync.engine import SyncEngine
from arsync.sync.models import ActiveRun, RunError, RunStatus, SyncMessage, SyncRun
from arsync.sync.queue import MAX_DELAY_SECONDS, SyncQueue

WorkerOutcome = Literal[
    "completed", "yielded", "paused", "circuit_open", "waiting", "failed", "skipped", "not_found", "finished", "busy"
]
DEFAULT_TIME_MARGIN_MS = 60_000
DEFAULT_DAY_LIMIT_WAIT = timedelta(hours=1)
OUTAGE = ErrorCategory.PROVIDER_UNAVAILABLE
"""Only outages trip the breaker: a refusal (4xx) is about our request, a 429 is handled by waiting."""


class ConnectorProvider(Protocol):
    def connector(self, tenant_id: str, connection: Connection) -> AccountingConnector: ...


NeedsReauthCallback = Callable[[str, AccountingError], None]


def lease_token(run_id: str) -> str:
    """Unique per invocation: two deliveries of one message must not both hold the account's lease."""
    return f"{run_id}#{uuid.uuid4().hex}"


def run_of_lease(token: str) -> str:
    return token.partition("#")[0]


class RetryableSyncError(Exception):
    """A transient provider failure: the message is retried; the run resumes from its checkpoint."""


def _run_error(error: AccountingError, now: datetime) -> RunError:
    return RunError(
        category=error.category.value,
        message=error.message,
        system=error.system.value,
        http_status=error.http_status,
        code=error.code,
        occurred_at=now,
    )


@dataclass
class SyncWorker:
    store: SyncStore
    accounts: AccountRepository
    queue: SyncQueue
    connectors: ConnectorProvider
    on_needs_reauth: NeedsReauthCallback
    engine: SyncEngine | None = None
    on_changed: Callable[[str], object] | None = None
    """Called after a run that changed anything (the health scores of the account are refreshed)."""
    clock: Clock = utc_now
    lease_seconds: int = 900
    time_margin_ms: int = DEFAULT_TIME_MARGIN_MS
    breaker_threshold: int = 3
    breaker_base_wait: timedelta = timedelta(minutes=5)
    breaker_max_wait: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.engine is None:
            self.engine = SyncEngine(self.store, clock=self.clock)

    def handle_body(self, body: str, remaining_ms: Callable[[], int]) -> WorkerOutcome:
        """Raises ValueError for a poison body and RetryableSyncError (or anything unexpected) to be retried."""
        return self.handle(SyncMessage.parse(body), remaining_ms)

    def handle(self, message: SyncMessage, remaining_ms: Callable[[], int]) -> WorkerOutcome:
        tenant, now = message.tenant_id, self.clock()
        run = self.store.get_run(tenant, message.run_id)
        if run is None:
            logger.warning("sync message for an unknown run; dropped", tenant_id=tenant, run_id=message.run_id)
            return "not_found"
        if not run.active:
            return "finished"  # a redelivery of a run that already ended
        state = self.store.get_state(tenant)
        if state.paused_until is not None and state.paused_until > now:
            # Early delivery during a pause (day limit, open circuit): no provider call; bridge the wait.
            self.store.claim_active(
                tenant, ActiveRun(run_id=run.id, since=now, tick=run.tick), run.id
            )  # still alive: coalesce
            self._continue(message, state.paused_until - now)
            return "waiting"
        connection = self.accounts.get_connection(tenant)
        if connection is None or connection.status != "connected":
            reason = "not connected" if connection is None else connection.status
            self._finish(run, "skipped", now, note=f"account is {reason}")
            return "skipped"
        lease = lease_token(run.id)
        if not self.store.acquire_lease(tenant, lease, now, self.lease_seconds):
            holder = self.store.lease_holder(tenant, now)
            if holder is not None and run_of_lease(holder) == run.id:
                # A duplicate delivery of a message being handled right now: the holder finishes the run, and
                # its own message stays in the queue until then (redelivered if that invocation dies).
                logger.info("duplicate delivery of a running run; dropped", tenant_id=tenant, run_id=run.id)
                return "busy"
            logger.info("another run holds the account's lease; skipping", tenant_id=tenant, run_id=run.id)
            self._finish(run, "skipped", now, note="another sync run was in progress")
            return "busy"
        try:
            current = self.store.get_run(tenant, run.id)  # a copy that held the lease may have finished it since
            if current is None or not current.active:
                return "finished"
            return self._run(message, current, connection, remaining_ms, lease, recovering=state.provider_failures > 0)
        finally:
            self.store.release_lease(tenant, lease)

    def _run(
        self,
        message: SyncMessage,
        run: SyncRun,
        connection: Connection,
        remaining_ms: Callable[[], int],
        lease: str,
        recovering: bool,
    ) -> WorkerOutcome:
        tenant, now = run.tenant_id, self.clock()
        if run.status == "queued" or run.started_at is None:
            run.started_at = run.started_at or now  # the bookmark-to-be: taken before the first read
        run.status, run.paused_until, run.updated_at = "running", None, now
        self.store.put_run(run)
        self.store.claim_active(
            tenant, ActiveRun(run_id=run.id, since=now, tick=run.tick), run.id
        )  # heartbeat for coalescing
        settings = self.accounts.get_settings(tenant)
        assert self.engine is not None
        try:
            connector = self.connectors.connector(tenant, connection)
            outcome = self.engine.run(
                run,
                connection.system.value,
                connector,
                settings,
                should_stop=lambda: remaining_ms() < self.time_margin_ms,
            )
        except AccountingError as error:
            return self._provider_error(message, run, error, lease)
        if recovering:
            self._update_state(tenant, provider_failures=0)
            logger.info("provider answering again; circuit closed", tenant_id=tenant, run_id=run.id)
        if outcome == "yielded":
            run.updated_at = self.clock()
            self.store.put_run(run)
            self._continue(message, timedelta(0), lease)
            return "yielded"
        self._finish(run, "succeeded", self.clock())
        self._touch_connection(tenant, run)
        total = run.total
        if self.on_changed is not None and total.created + total.updated + total.deactivated > 0:
            try:
                self.on_changed(tenant)
            except Exception:  # the sync succeeded; scores are refreshed again tonight
                logger.exception("re-scoring after sync failed", tenant_id=tenant, run_id=run.id)
        return "completed"

    def _provider_error(self, message: SyncMessage, run: SyncRun, error: AccountingError, lease: str) -> WorkerOutcome:
        now, tenant = self.clock(), run.tenant_id
        run.errors.append(_run_error(error, now))
        if error.category is ErrorCategory.DAILY_LIMIT_REACHED:
            reset_at = error.reset_at or now + DEFAULT_DAY_LIMIT_WAIT
            run.paused_until, run.updated_at = reset_at, now
            self.store.put_run(run)
            self._update_state(tenant, paused_until=reset_at)
            self._continue(message, reset_at - now, lease)
            logger.warning("provider day limit reached; account paused", tenant_id=tenant, run_id=run.id)
            return "paused"
        if error.category is OUTAGE and self._open_circuit(message, run, now, lease):
            return "circuit_open"
        if error.needs_reauth:
            self.on_needs_reauth(tenant, error)
            self._finish(run, "failed", now)
            logger.warning("connection needs re-authorisation; run failed", tenant_id=tenant, run_id=run.id)
            return "failed"
        if error.retryable:
            run.updated_at = now
            self.store.put_run(run)
            raise RetryableSyncError(f"{error.category.value}: {error.message}") from error
        self._finish(run, "failed", now)
        logger.warning("provider refused the sync; run failed", tenant_id=tenant, category=error.category.value)
        return "failed"

    def _open_circuit(self, message: SyncMessage, run: SyncRun, now: datetime, lease: str) -> bool:
        """Count the outage; from the threshold on, pause the account instead of burning the message's retries."""
        state = self.store.get_state(run.tenant_id)
        failures = state.provider_failures + 1
        if failures < self.breaker_threshold:
            self._update_state(run.tenant_id, provider_failures=failures)
            return False
        wait = min(self.breaker_base_wait * 2 ** (failures - self.breaker_threshold), self.breaker_max_wait)
        self._update_state(run.tenant_id, provider_failures=failures, paused_until=now + wait)
        run.paused_until, run.updated_at = now + wait, now
        self.store.put_run(run)
        self._continue(message, wait, lease)
        logger.warning(
            "provider keeps failing; circuit open",
            tenant_id=run.tenant_id,
            run_id=run.id,
            failures=failures,
            probe_in_seconds=int(wait.total_seconds()),
        )
        return True

    def _update_state(self, tenant_id: str, **changes: object) -> None:
        for _ in range(3):
            state = self.store.get_state(tenant_id)
            try:
                self.store.save_state(tenant_id, state.model_copy(update=changes))
                return
            except VersionConflict:
                continue

    def _continue(self, message: SyncMessage, wait: timedelta, lease: str | None = None) -> None:
        """Queue the run's next slice; the lease goes first, or a fast continuation would find it held."""
        if lease is not None:
            self.store.release_lease(message.tenant_id, lease)
        delay = 0 if wait <= timedelta(0) else max(0, min(MAX_DELAY_SECONDS, int(wait.total_seconds()) + 1))
        self.queue.send([message.model_copy(update={"continuation": True})], delay_seconds=delay)

    def _finish(self, run: SyncRun, status: RunStatus, now: datetime, note: str | None = None) -> None:
        run.status, run.finished_at, run.updated_at = status, now, now
        if note:
            run.errors.append(RunError(category="skipped", message=note, occurred_at=now))
        self.store.put_run(run)
        self.store.clear_active(run.tenant_id, run.id, tick=run.tick)

    def _touch_connection(self, tenant_id: str, run: SyncRun) -> None:
        """Best effort: GET /connection shows the last sync; a concurrent connection change wins."""
        connection = self.accounts.get_connection(tenant_id)
        if connection is None:
            return
        updated = connection.model_copy(
            update={"last_sync_at": run.finished_at, "last_sync_run_id": run.id, "version": connection.version + 1}
        )
        try:
            self.accounts.save_connection(tenant_id, updated, expected_version=connection.version)
        except VersionConflict:
            logger.info("connection changed during sync; last_sync_at not recorded", tenant_id=tenant_id)
