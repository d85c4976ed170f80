"""The import engine (architecture §5): full import and incremental sync, checkpointed after every page.

A run reads one page (or one change batch), applies it, then checkpoints `(phase, cursor)` of the next page,
so a run cut off anywhere resumes from its checkpoint and ends in the same table state as an uninterrupted
run: every write is an idempotent put of what the provider holds, new customers get deterministic ids, and
only items whose content hash changed are written at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from arsync.clock import SYNC_OVERLAP, Clock, utc_now
from arsync.connectors.base import AccountingConnector, RemoteCustomer
from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.errors import VersionConflict
from arsync.models.account import AccountSettings
from arsync.models.common import SyncState as CustomerSyncState
from arsync.models.customer import Balance, Customer, ExternalRef, SyncStatus
from arsync.models.documents import DocKind, RemoteDoc, doc_hash, doc_kind
from arsync.models.records import content_hash
from arsync.observability import logger
from arsync.store.sync_store import BATCH_WRITE_MAX, IndexedCustomer, SyncStore
from arsync.sync.balances import Aggregate, Aggregates, aggregate, balance_for, imported_customer_id
from arsync.sync.models import FULL_PHASES, Checkpoint, Counts, SyncRun, SyncState

Outcome = Literal["completed", "yielded"]
MAX_MERGE_ATTEMPTS = 5
PROGRESS_INTERVAL = timedelta(seconds=10)  # how often a long run's counts are written to its run record
_ENTITY: dict[str, str] = {"invoice": "invoices", "payment": "payments", "credit": "credits"}
_KEEP_LOCAL_CONTACT = (CustomerSyncState.PENDING, CustomerSyncState.FAILED)


class _WriteBuffer:
    """Unconditional puts (documents, new customers) waiting for a full BatchWriteItem.

    A page rarely yields a multiple of 25 items; writing each page on its own would cost a partial batch per
    page. Full batches go out as soon as they fill and the remainder waits for the next page, so the checkpoint
    lags until the items it passes are durable (`durable`, `queued`: item counts since the invocation began).
    Items still here when the process dies are simply re-read from the provider on resume."""

    def __init__(self, store: SyncStore, tenant_id: str, system: str) -> None:
        self.store, self.tenant_id, self.system = store, tenant_id, system
        self.pending: list[RemoteDoc | Customer] = []
        self.queued = 0
        self.durable = 0

    def add(self, records: Sequence[RemoteDoc | Customer]) -> None:
        self.pending.extend(records)
        self.queued += len(records)
        self._write(len(self.pending) - len(self.pending) % BATCH_WRITE_MAX)

    def flush(self) -> None:
        """Before anything reads the table, and before a run yields or completes."""
        self._write(len(self.pending))

    def _write(self, count: int) -> None:
        if count:
            self.store.put_items(self.tenant_id, self.system, self.pending[:count])
            del self.pending[:count]
            self.durable += count


@dataclass
class _RunScope:
    """What one invocation of a run keeps in memory; all of it can be rebuilt from the table on resume."""

    tenant_id: str
    system: str
    run: SyncRun
    connector: AccountingConnector
    import_inactive: bool
    now: datetime
    aggregates: Aggregates | None
    writes: _WriteBuffer
    state: SyncState = field(default_factory=SyncState)
    index: dict[str, IndexedCustomer] | None = None
    doc_hashes: dict[str, dict[str, str]] = field(default_factory=dict)

    def counts(self, entity: str) -> Counts:
        return self.run.counts.setdefault(entity, Counts())


def _written(run: SyncRun) -> int:
    """Items this run has written so far (created, updated or deactivated, over every entity)."""
    return sum(c.created + c.updated + c.deactivated for c in run.counts.values())


class SyncEngine:
    def __init__(self, store: SyncStore, *, clock: Clock = utc_now, overlap: timedelta = SYNC_OVERLAP) -> None:
        self.store = store
        self.clock = clock
        self.overlap = overlap

    # --- the run loop --------------------------------------------------------------------------------------------

    def run(
        self,
        run: SyncRun,
        system: str,
        connector: AccountingConnector,
        settings: AccountSettings,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Outcome:
        """Run (or resume) `run` until it completes or `should_stop()` says the invocation is nearly out of time.

        Provider errors propagate with the checkpoint of the last page whose items are all durable intact."""
        tenant = run.tenant_id
        state = self.store.get_state(tenant)
        checkpoint = state.checkpoint if state.checkpoint and state.checkpoint.run_id == run.id else None
        if checkpoint is None:
            if state.bookmark is None or state.full_requested_at is not None:
                checkpoint = Checkpoint(run_id=run.id, mode="full", phase=FULL_PHASES[0])
            else:
                checkpoint = Checkpoint(
                    run_id=run.id, mode="incremental", phase="changes", since=state.bookmark - self.overlap
                )
        run.mode = checkpoint.mode
        fresh_full = checkpoint.mode == "full" and checkpoint.phase == FULL_PHASES[0] and checkpoint.cursor is None
        now = self.clock()
        if run.started_at is None:
            run.started_at = now  # the bookmark-to-be: taken before the first read, so nothing read later is missed
        scope = _RunScope(
            tenant_id=tenant,
            system=system,
            run=run,
            connector=connector,
            import_inactive=settings.import_inactive_customers,
            now=now,
            aggregates=Aggregates() if fresh_full else None,
            writes=_WriteBuffer(self.store, tenant, system),
            state=state,
        )
        stored = initial = checkpoint  # the checkpoint the table holds (or would resume from)
        written_at_store = _written(run)  # items the run had written when `stored` was saved
        # Pages applied since `stored`: (checkpoint after the page, items queued up to and including it).
        applied: deque[tuple[Checkpoint, int]] = deque()
        last_progress = scope.now
        while True:
            if should_stop():
                scope.writes.flush()
                if checkpoint != stored:
                    scope.state = self.store.save_state(
                        tenant, scope.state.model_copy(update={"checkpoint": checkpoint})
                    )
                logger.info("sync run yielding", run_id=run.id, phase=checkpoint.phase)
                return "yielded"
            scope.now = self.clock()
            next_checkpoint = self._step(scope, checkpoint)
            if next_checkpoint is None:
                break
            checkpoint = next_checkpoint
            applied.append((checkpoint, scope.writes.queued))
            if stored is initial:
                # Until this invocation has moved the checkpoint once, nothing waits in the buffer: a process
                # that keeps dying one page after it (re)started still makes a page of progress each time.
                scope.writes.flush()
            durable: Checkpoint | None = None  # the furthest checkpoint whose pages' items are all durable
            while applied and applied[0][1] <= scope.writes.durable:
                durable = applied.popleft()[0]
            if durable is None or _written(run) == written_at_store:
                # Nothing new is durable: resuming from `stored` re-reads only pages whose items were not
                # written yet or that had nothing to write (a no-change sync writes only its bookmark).
                continue
            scope.state = self.store.save_state(tenant, scope.state.model_copy(update={"checkpoint": durable}))
            stored, written_at_store = durable, _written(run)
            if scope.now - last_progress >= PROGRESS_INTERVAL:
                run.updated_at = last_progress = scope.now  # progress for GET /sync/runs; the worker writes the end
                self.store.put_run(run)
        scope.writes.flush()
        bookmark = run.started_at
        full_request = scope.state.full_requested_at
        if checkpoint.mode == "full" and full_request is not None and full_request <= bookmark:
            full_request = None  # this run read everything after the request was made
        self.store.save_state(
            tenant,
            scope.state.model_copy(
                update={
                    "bookmark": bookmark,
                    "checkpoint": None,
                    "paused_until": None,
                    "full_requested_at": full_request,
                }
            ),
        )
        return "completed"

    def _step(self, scope: _RunScope, checkpoint: Checkpoint) -> Checkpoint | None:
        """Read and apply one page; return the checkpoint of the next one (None: the run is done)."""
        connector, cursor = scope.connector, checkpoint.cursor
        if checkpoint.mode == "incremental":
            assert checkpoint.since is not None
            batch = connector.changes_since(checkpoint.since, cursor)
            touched = list(checkpoint.touched)

            def remember(changed: list[RemoteDoc]) -> None:
                new = [d.customer_id for d in changed if d.customer_id and d.customer_id not in touched]
                if new:
                    touched.extend(dict.fromkeys(new))
                    marked = checkpoint.model_copy(update={"touched": touched})
                    scope.state = self.store.save_state(
                        scope.tenant_id, scope.state.model_copy(update={"checkpoint": marked})
                    )

            self._apply_docs(scope, [*batch.invoices, *batch.payments, *batch.credits], full=False, before=remember)
            customers = list(batch.customers)
            self._add_doc_touched(scope, customers, touched)
            self._apply_customers(scope, customers, self._totals_from_table(scope))
            scope.writes.flush()  # change batches are small: no point holding them back
            if batch.next_cursor is None:
                return None
            return checkpoint.model_copy(update={"cursor": batch.next_cursor, "touched": []})

        next_cursor: str | None
        if checkpoint.phase == "customers":
            page = connector.list_customers(include_inactive=True, cursor=cursor)
            aggregates = scope.aggregates
            totals = aggregates.get if aggregates is not None else self._totals_from_table(scope)
            self._apply_customers(scope, list(page.items), totals)
            next_cursor = page.next_cursor
        else:
            docs: Sequence[RemoteDoc]
            if checkpoint.phase == "invoices":
                invoices = connector.list_invoices(cursor)
                docs, next_cursor = invoices.items, invoices.next_cursor
            elif checkpoint.phase == "payments":
                payments = connector.list_payments(cursor)
                docs, next_cursor = payments.items, payments.next_cursor
            else:
                credits = connector.list_credits(cursor)
                docs, next_cursor = credits.items, credits.next_cursor
            self._apply_docs(scope, docs, full=True)
            if scope.aggregates is not None:
                for doc in docs:
                    scope.aggregates.add(doc)
        if next_cursor is not None:
            return checkpoint.model_copy(update={"cursor": next_cursor})
        position = FULL_PHASES.index(checkpoint.phase)
        if position + 1 == len(FULL_PHASES):
            return None
        return checkpoint.model_copy(update={"phase": FULL_PHASES[position + 1], "cursor": None})

    # --- documents -----------------------------------------------------------------------------------------------

    def _apply_docs(
        self,
        scope: _RunScope,
        docs: Iterable[RemoteDoc],
        *,
        full: bool,
        before: Callable[[list[RemoteDoc]], None] | None = None,
    ) -> list[RemoteDoc]:
        """Write new or changed documents (batch writes); `before` sees them first. Return what was written."""
        by_kind: dict[DocKind, dict[str, RemoteDoc]] = {}
        for doc in docs:
            by_kind.setdefault(doc_kind(doc), {})[doc.id] = doc  # a document twice in one page: the last wins
        written: list[RemoteDoc] = []
        for kind, page in by_kind.items():
            if full:
                if kind not in scope.doc_hashes:
                    scope.doc_hashes[kind] = self.store.doc_hashes(scope.tenant_id, kind)
                existing = scope.doc_hashes[kind]
            else:
                existing = self.store.doc_hashes(scope.tenant_id, kind, page.keys())
            counts = scope.counts(_ENTITY[kind])
            changed: list[RemoteDoc] = []
            for doc in page.values():
                stored = existing.get(doc.id)
                if stored is None and doc.deleted:
                    counts.skipped += 1
                elif stored is None:
                    counts.created += 1
                    changed.append(doc)
                elif stored != doc_hash(doc):
                    counts.updated += 1
                    changed.append(doc)
                else:
                    counts.unchanged += 1
            if changed:
                if before is not None:
                    before(changed)
                scope.writes.add(changed)
                if full:
                    existing.update({doc.id: doc_hash(doc) for doc in changed})
            written.extend(changed)
        return written

    def _totals_from_table(self, scope: _RunScope) -> Callable[[str], Aggregate]:
        """Per-customer totals from the stored documents (GSI1): the same figures the in-memory pass yields."""

        def totals(external_id: str) -> Aggregate:
            scope.writes.flush()  # documents still buffered count too
            return aggregate(self.store.customer_docs(scope.tenant_id, scope.system, external_id))

        return totals

    def _add_doc_touched(self, scope: _RunScope, customers: list[RemoteCustomer], touched: list[str]) -> None:
        """A changed document changes its customer's balance: re-read customers the batch did not carry."""
        if not touched:
            return
        present = {c.id for c in customers}
        index = self._index(scope)
        for external_id in touched:
            if external_id in present or external_id not in index:
                continue
            try:
                customers.append(scope.connector.get_customer(external_id))
            except AccountingError as exc:
                if exc.category is not ErrorCategory.NOT_FOUND:
                    raise
            present.add(external_id)

    # --- customers -----------------------------------------------------------------------------------------------

    def _index(self, scope: _RunScope) -> dict[str, IndexedCustomer]:
        if scope.index is None:
            scope.index = self.store.customer_index(scope.tenant_id, scope.system)
        return scope.index

    def _apply_customers(
        self, scope: _RunScope, remotes: Iterable[RemoteCustomer], totals: Callable[[str], Aggregate]
    ) -> None:
        unique = {remote.id: remote for remote in remotes}
        if not unique:
            return
        index = self._index(scope)
        counts = scope.counts("customers")
        new: list[Customer] = []
        for remote in unique.values():
            entry = index.get(remote.id)
            if entry is None:
                if remote.deleted or (not remote.active and not scope.import_inactive):
                    counts.skipped += 1  # B3: inactive customers we do not have are not imported
                    continue
                customer = self._new_customer(scope, remote, balance_for(remote, totals(remote.id), scope.now))
                new.append(customer)
                index[remote.id] = IndexedCustomer(customer.id, content_hash(customer), customer.version)
                counts.created += 1
                continue
            balance = None if remote.deleted else balance_for(remote, totals(remote.id), scope.now)
            if balance is not None and entry.content_hash == content_hash(self._probe(scope, remote, balance)):
                counts.unchanged += 1
                continue
            self._update_existing(scope, entry, remote, balance, counts)
        scope.writes.add(new)

    def _external(self, scope: _RunScope, remote: RemoteCustomer) -> ExternalRef:
        return ExternalRef.model_validate(
            {
                "system": scope.system,
                "id": remote.id,
                "active": remote.active and not remote.deleted,
                "sync_token": remote.sync_token,
                "updated_at": remote.updated_at,
            }
        )

    def _probe(self, scope: _RunScope, remote: RemoteCustomer, balance: Balance) -> Customer:
        """Only the provider-owned parts: enough for `content_hash`, no read of the stored customer needed."""
        return Customer(
            tenant_id=scope.tenant_id,
            id="probe",
            contact=remote.to_contact(),
            external=self._external(scope, remote),
            balance=balance,
            created_at=scope.now,
            updated_at=scope.now,
        )

    def _new_customer(self, scope: _RunScope, remote: RemoteCustomer, balance: Balance) -> Customer:
        return self._probe(scope, remote, balance).model_copy(
            update={
                "id": imported_customer_id(scope.tenant_id, scope.system, remote.id),
                "sync": SyncStatus(state=CustomerSyncState.SYNCED, last_synced_at=scope.now),
            }
        )

    def _merge(self, scope: _RunScope, existing: Customer, remote: RemoteCustomer, balance: Balance | None) -> Customer:
        """Provider owns contact, external and balance; AR owns archived, notes, company data and health."""
        if remote.deleted:  # QBO delete/merge stub: never delete, just mark inactive (B3)
            assert existing.external is not None
            return existing.model_copy(update={"external": existing.external.model_copy(update={"active": False})})
        keep_local = existing.sync.state in _KEEP_LOCAL_CONTACT  # an unpushed AR edit waits for its push (B7)
        return existing.model_copy(
            update={
                "contact": existing.contact if keep_local else remote.to_contact(),
                "external": self._external(scope, remote),
                "balance": balance,
                "sync": existing.sync
                if keep_local
                else SyncStatus(state=CustomerSyncState.SYNCED, last_synced_at=scope.now),
            }
        )

    def _update_existing(
        self,
        scope: _RunScope,
        entry: IndexedCustomer,
        remote: RemoteCustomer,
        balance: Balance | None,
        counts: Counts,
    ) -> None:
        """Conditional on version: a concurrent API edit makes us re-read and merge again, never overwrite it."""
        index = self._index(scope)
        scope.writes.flush()  # the stored customer may still be in the buffer (listed twice across pages)
        for _ in range(MAX_MERGE_ATTEMPTS):
            existing = self.store.get_customer(scope.tenant_id, entry.id)
            if existing is None:  # deleted under us (or index lagging): it is gone, nothing to update
                counts.skipped += 1
                index.pop(remote.id, None)
                return
            merged = self._merge(scope, existing, remote, balance)
            if merged.model_dump(exclude={"balance"}) == existing.model_dump(exclude={"balance"}) and content_hash(
                merged
            ) == content_hash(existing):
                counts.unchanged += 1
                return
            was_active = existing.external.active if existing.external else True
            stored = merged.model_copy(update={"version": existing.version + 1, "updated_at": scope.now})
            try:
                self.store.save_customer(stored, existing.version)
            except VersionConflict:
                continue
            index[remote.id] = IndexedCustomer(stored.id, content_hash(stored), stored.version)
            if was_active and stored.external is not None and not stored.external.active:
                counts.deactivated += 1
            else:
                counts.updated += 1
            return
        logger.warning("customer kept changing during sync", customer_id=entry.id)
        counts.failed += 1
