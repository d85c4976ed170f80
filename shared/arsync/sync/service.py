"""Starting and reading sync runs: sync-now, the hourly dispatcher and webhooks all go through here (B5, B6).

A queued or running run is pointed at by the account's `SYNC#ACTIVE` item; a request while one stands
returns that run (coalescing). A pointer whose run went quiet for longer than `stale_after` (its worker
died and the message went to the DLQ) no longer blocks new runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from arsync.clock import Clock, time_ordered_id, utc_now
from arsync.errors import ConnectionNeedsReauth, NotConnected, SyncRunNotFound, VersionConflict
from arsync.observability import logger
from arsync.store.base import AccountRepository
from arsync.store.sync_store import DispatchTarget, SyncStore
from arsync.sync.models import ActiveRun, SyncMessage, SyncRun, Trigger
from arsync.sync.queue import SEND_BATCH_MAX, SyncQueue
from arsync.system_names import system_label

DEFAULT_STALE_AFTER = timedelta(hours=3)
DISPATCH_CHUNK = 100  # BatchGetItem maximum


@dataclass(frozen=True)
class DispatchResult:
    accounts: int
    queued: int
    coalesced: int


@dataclass
class SyncService:
    store: SyncStore
    queue: SyncQueue
    clock: Clock = utc_now
    stale_after: timedelta = DEFAULT_STALE_AFTER
    accounts: AccountRepository | None = None

    def sync_now(self, tenant_id: str) -> SyncRun:
        """Sync now (B5): only for a working connection, so the user is told why instead of a skipped run."""
        connection = self.accounts.get_connection(tenant_id) if self.accounts is not None else None
        if connection is None:
            raise NotConnected()
        if connection.status == "needs_reauth":
            raise ConnectionNeedsReauth(system_label(connection.system))
        return self.request_sync(tenant_id, "manual")

    def request_sync(self, tenant_id: str, trigger: Trigger) -> SyncRun:
        """The account's queued/running run, or a new queued run with exactly one queue message."""
        for _ in range(3):
            active = self.store.get_active(tenant_id)
            current = self._live_run(tenant_id, active)
            if current is not None:
                return current
            now = self.clock()
            run = SyncRun(
                tenant_id=tenant_id, id=time_ordered_id("run", now), trigger=trigger, created_at=now, updated_at=now
            )
            self.store.put_run(run)  # before the pointer, so whoever sees the pointer finds the run
            if not self.store.claim_active(
                tenant_id, ActiveRun(run_id=run.id, since=now), active.run_id if active else None
            ):
                run.status, run.finished_at = "skipped", now  # another request won the race: join its run
                self.store.put_run(run)
                continue
            self.queue.send([SyncMessage(tenant_id=tenant_id, run_id=run.id, trigger=trigger)])
            logger.info("sync run queued", tenant_id=tenant_id, run_id=run.id, trigger=trigger)
            return run
        raise RuntimeError("could not start or join a sync run")  # pragma: no cover - three lost races in a row

    def request_syncs(self, tenant_ids: Iterable[str], trigger: Trigger, tick: str | None = None) -> DispatchResult:
        """Bulk `request_sync` for the dispatcher: batch reads, batch writes, SendMessageBatch of 10.

        With a `tick`, an account already served for that tick (a retried schedule event) is left alone."""
        accounts = queued = coalesced = 0
        pending: list[SyncMessage] = []
        chunk: list[str] = []

        def flush_chunk() -> None:
            nonlocal queued, coalesced
            actives = self.store.get_actives(chunk)
            now = self.clock()
            runs: list[SyncRun] = []
            for tenant_id in dict.fromkeys(chunk):
                active = actives.get(tenant_id)
                served = active is not None and tick is not None and active.tick == tick
                live = active is not None and not active.finished and now - active.since < self.stale_after
                if served or live:
                    coalesced += 1
                    continue
                runs.append(
                    SyncRun(
                        tenant_id=tenant_id,
                        id=time_ordered_id("run", now),
                        trigger=trigger,
                        tick=tick,
                        created_at=now,
                        updated_at=now,
                    )
                )
            self.store.create_runs(runs)
            pending.extend(SyncMessage(tenant_id=r.tenant_id, run_id=r.id, trigger=trigger) for r in runs)
            queued += len(runs)
            full = len(pending) - len(pending) % SEND_BATCH_MAX
            if full:
                self.queue.send(pending[:full])
                del pending[:full]
            chunk.clear()

        for tenant_id in tenant_ids:
            accounts += 1
            chunk.append(tenant_id)
            if len(chunk) == DISPATCH_CHUNK:
                flush_chunk()
        if chunk:
            flush_chunk()
        if pending:
            self.queue.send(pending)
        return DispatchResult(accounts=accounts, queued=queued, coalesced=coalesced)

    def dispatch_scheduled(self, tick: str | None = None) -> DispatchResult:
        """Every connected account gets a scheduled (incremental) sync (B6), at most one per `tick`."""
        return self.request_syncs((target.tenant_id for target in self._targets()), "schedule", tick)

    def _targets(self) -> Iterable[DispatchTarget]:
        return self.store.dispatch_targets()

    def request_full_sync(self, tenant_id: str, trigger: Trigger) -> SyncRun:
        """A sync that reads everything again (e.g. inactive customers are now in scope, B3)."""
        for _ in range(3):
            state = self.store.get_state(tenant_id)
            try:
                self.store.save_state(tenant_id, state.model_copy(update={"full_requested_at": self.clock()}))
                break
            except VersionConflict:
                continue
        return self.request_sync(tenant_id, trigger)

    def list_runs(self, tenant_id: str, limit: int = 20, cursor: str | None = None) -> tuple[list[SyncRun], str | None]:
        """Newest first, with an opaque cursor for the next page."""
        return self.store.list_runs(tenant_id, max(1, min(limit, 100)), cursor)

    def get_run(self, tenant_id: str, run_id: str) -> SyncRun:
        run = self.store.get_run(tenant_id, run_id)
        if run is None:
            raise SyncRunNotFound(run_id)
        return run

    def _live_run(self, tenant_id: str, active: ActiveRun | None) -> SyncRun | None:
        if active is None or active.finished:
            return None
        run = self.store.get_run(tenant_id, active.run_id)
        if run is None or not run.active:
            return None
        quiet_since = max(run.updated_at, active.since)
        paused = run.paused_until is not None and run.paused_until > self.clock()
        if not paused and self.clock() - quiet_since >= self.stale_after:
            return None
        return run
