"""The import engine against in-memory fakes: what is written, how often, and resumption after a crash."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arsync.connectors.base import RemoteCustomer, RemoteInvoice
from arsync.models.account import AccountSettings
from arsync.models.common import CompanyType
from arsync.models.customer import Customer
from arsync.models.documents import DocKind
from arsync.store import keys
from arsync.sync.balances import imported_customer_id
from arsync.sync.engine import SyncEngine
from arsync.sync.models import Checkpoint, SyncRun, SyncState
from tests.unit.sync.fakes import FakeConnector, FixedClock, InMemorySyncStore, Killed, seed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TENANT, SYSTEM = "t1", "quickbooks_online"
SETTINGS = AccountSettings()
PHASE_KIND: dict[str, DocKind] = {"invoices": "invoice", "payments": "payment", "credits": "credit"}


def new_run(run_id: str, started_at: datetime) -> SyncRun:
    return SyncRun(
        tenant_id=TENANT, id=run_id, trigger="manual", status="running", created_at=started_at,
        updated_at=started_at, started_at=started_at,
    )  # fmt: skip


def sync(store: InMemorySyncStore, connector: FakeConnector, clock: FixedClock, run_id: str) -> SyncRun:
    run = new_run(run_id, clock())
    assert SyncEngine(store, clock=clock).run(run, SYSTEM, connector, SETTINGS) == "completed"
    return run


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def test_full_import_writes_customers_docs_and_balances(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector(page_size=7)
    seed(connector, 30, T0 - timedelta(days=1))
    run = sync(store, connector, clock, "run_1")

    customers = {c.external.id: c for c in store.customers(TENANT) if c.external}
    assert len(customers) == 30
    assert run.counts["customers"].created == 30 and run.counts["invoices"].created == 30
    assert run.counts["payments"].created == 10 and run.counts["credits"].created == 6
    c0 = customers["C00000"]
    assert c0.id == imported_customer_id(TENANT, SYSTEM, "C00000")
    assert c0.balance is not None and c0.balance.source == "accounting_system"
    assert (c0.balance.outstanding, c0.balance.total_due, c0.balance.unapplied_credit) == (
        Decimal(100), Decimal(100), Decimal(15)
    )  # fmt: skip
    assert store.states[TENANT].bookmark == T0 and store.states[TENANT].checkpoint is None
    assert connector.calls[:1] == ["list_invoices"] and connector.calls[-1] == "list_customers"
    doc = store.items[(keys.tenant_pk(TENANT), keys.doc_sk("invoice", "I00001"))]
    assert doc["GSI1PK"]["S"] == keys.customer_docs_pk(TENANT, SYSTEM, "C00001")
    assert doc["GSI1SK"]["S"] == keys.customer_docs_sk("invoice", "I00001")
    # new items go in batch writes of 25
    assert store.batch_write_requests <= 2 * 5 + 4 * 2


def test_unchanged_second_sync_writes_nothing(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector(page_size=7)
    seed(connector, 30, T0 - timedelta(minutes=2))  # inside the overlap window: re-read by the next sync
    sync(store, connector, clock, "run_1")
    before, writes = store.snapshot(), (store.customer_writes, store.doc_writes)

    clock.now = T0 + timedelta(hours=1)
    run = sync(store, connector, clock, "run_2")
    assert run.mode == "incremental"
    assert (store.customer_writes, store.doc_writes) == writes
    assert store.snapshot() == before
    assert run.counts["customers"].unchanged == 30 and run.total.created == run.total.updated == 0
    assert "list_customers" not in connector.calls[-3:]


def test_one_percent_change_writes_exactly_the_changed_items(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector(page_size=50)
    seed(connector, 200, T0 - timedelta(days=1))
    sync(store, connector, clock, "run_1")
    writes = store.customer_writes

    changed_at = T0 + timedelta(minutes=30)
    for cid in ("C00010", "C00020"):
        remote = connector.customers[cid]
        connector.customers[cid] = remote.model_copy(
            update={"email": f"new-{cid}@example.com", "updated_at": changed_at}
        )
    clock.now = T0 + timedelta(hours=1)
    run = sync(store, connector, clock, "run_2")
    assert store.customer_writes - writes == 2
    assert run.counts["customers"].updated == 2 and run.counts["customers"].unchanged == 0
    assert store.states[TENANT].bookmark == clock.now


def test_changed_invoice_recomputes_its_customers_balance(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector()
    seed(connector, 5, T0 - timedelta(days=1))
    sync(store, connector, clock, "run_1")
    later = T0 + timedelta(minutes=10)
    connector.invoices["I00002"] = connector.invoices["I00002"].model_copy(
        update={"amount_due": Decimal(0), "status": "paid", "updated_at": later}
    )
    connector.customers["C00002"] = connector.customers["C00002"].model_copy(update={"balance": Decimal(0)})
    clock.now = T0 + timedelta(hours=1)
    run = sync(store, connector, clock, "run_2")
    c2 = store.get_customer(TENANT, imported_customer_id(TENANT, SYSTEM, "C00002"))
    assert c2 is not None and c2.balance is not None
    assert (c2.balance.outstanding, c2.balance.total_due) == (Decimal(0), Decimal(0))
    assert "get_customer" in connector.calls  # the batch carried only the invoice: its customer was re-read
    assert run.counts["invoices"].updated == 1 and run.counts["customers"].updated == 1


def _kill_after_each_page(connector: FakeConnector) -> Callable[[], None]:
    """Every invocation may read one page; the next page read kills the process. Returns the reset."""
    state = {"reads": 0}

    def before(name: str) -> None:
        if name == "get_customer":
            return  # a single-record read inside a page, not a page
        state["reads"] += 1
        if state["reads"] > 1:
            raise Killed()

    connector.before_call = before
    return lambda: state.update(reads=0)


@pytest.mark.parametrize("incremental", [False, True])
def test_killed_after_every_page_resumes_to_the_same_table(clock: FixedClock, incremental: bool) -> None:
    def world() -> tuple[InMemorySyncStore, FakeConnector]:
        store, connector = InMemorySyncStore(), FakeConnector(page_size=4)
        seed(connector, 23, T0 - timedelta(days=1), inactive_every=7)
        if incremental:
            sync(store, connector, FixedClock(T0 - timedelta(hours=1)), "run_0")
            for n in range(0, 23, 3):
                cid = f"C{n:05d}"
                connector.customers[cid] = connector.customers[cid].model_copy(
                    update={"phone": "555", "updated_at": T0 - timedelta(minutes=20)}
                )
                connector.invoices[f"I{n:05d}"] = connector.invoices[f"I{n:05d}"].model_copy(
                    update={"amount_due": Decimal(1), "updated_at": T0 - timedelta(minutes=20)}
                )
        return store, connector

    expected_store, expected_connector = world()
    sync(expected_store, expected_connector, clock, "run_1")

    store, connector = world()
    reset = _kill_after_each_page(connector)
    invocations = 0
    while True:
        invocations += 1
        reset()
        try:
            run = store.get_run(TENANT, "run_1") or new_run("run_1", clock())
            outcome = SyncEngine(store, clock=clock).run(run, SYSTEM, connector, SETTINGS)
        except Killed:
            continue
        assert outcome == "completed"
        break
    assert invocations >= 4
    assert store.snapshot() == expected_store.snapshot()
    assert store.states[TENANT].bookmark == expected_store.states[TENANT].bookmark


def test_killed_between_apply_and_checkpoint_resumes_to_the_same_table(clock: FixedClock) -> None:
    expected_store, connector = InMemorySyncStore(), FakeConnector(page_size=4)
    seed(connector, 17, T0 - timedelta(days=1))
    sync(expected_store, connector, clock, "run_1")

    store = InMemorySyncStore()
    saves = {"n": 0}

    def die_on_every_other_save() -> None:
        saves["n"] += 1
        if saves["n"] % 2 == 1:
            raise Killed()

    store.before_save_state = die_on_every_other_save
    for _ in range(200):
        try:
            run = store.get_run(TENANT, "run_1") or new_run("run_1", clock())
            SyncEngine(store, clock=clock).run(run, SYSTEM, connector, SETTINGS)
            break
        except Killed:
            continue
    assert store.snapshot() == expected_store.snapshot()


def test_writes_are_batched_across_pages(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector(page_size=7)
    seed(connector, 100, T0 - timedelta(days=1))
    sync(store, connector, clock, "run_1")
    items = store.doc_writes + store.customer_writes
    assert items == 100 + 100 + 34 + 20
    # one partial batch for the invocation's first page (flushed so a crash-looping worker still progresses),
    # then only full batches of 25 until the final flush: not a partial batch per page
    assert store.batch_write_requests <= -(-items // 25) + 1


def test_a_checkpoint_never_passes_items_that_are_not_durable(clock: FixedClock) -> None:
    """The fake pages by list offset, so a checkpoint's cursor says how many rows of its phase come before it."""
    store, connector = InMemorySyncStore(), FakeConnector(page_size=6)
    seed(connector, 40, T0 - timedelta(days=1))
    lists: dict[DocKind, Iterable[str]] = {
        "invoice": connector.invoices,
        "payment": connector.payments,
        "credit": connector.credits,
    }
    original, checked = store.save_state, list[Checkpoint]()

    def save_state(tenant_id: str, state: SyncState) -> SyncState:
        checkpoint = state.checkpoint
        if checkpoint is not None and checkpoint.phase in PHASE_KIND:
            kind = PHASE_KIND[checkpoint.phase]
            for ext_id in list(lists[kind])[: int(checkpoint.cursor or 0)]:
                assert (keys.tenant_pk(TENANT), keys.doc_sk(kind, ext_id)) in store.items
            checked.append(checkpoint)
        return original(tenant_id, state)

    store.save_state = save_state  # type: ignore[method-assign]
    sync(store, connector, clock, "run_1")
    assert len(checked) >= 3


def test_the_bookmark_is_the_run_start_so_rows_changed_during_an_import_come_with_the_next_sync() -> None:
    store, connector = InMemorySyncStore(), FakeConnector(page_size=5)
    seed(connector, 12, T0 - timedelta(days=1))
    ticks = iter(T0 + timedelta(minutes=n) for n in range(10_000))
    run = SyncRun(tenant_id=TENANT, id="run_1", trigger="manual", status="running", created_at=T0, updated_at=T0)
    engine = SyncEngine(store, clock=lambda: next(ticks))  # every clock read a minute later: a long import
    assert engine.run(run, SYSTEM, connector, SETTINGS) == "completed"
    assert store.states[TENANT].bookmark == run.started_at == T0  # taken before the first read
    # created a minute into the import, after the import had read past where it lands (QBO: after the count)
    connector.customers["C99999"] = RemoteCustomer(
        id="C99999", display_name="Late", updated_at=T0 + timedelta(minutes=1)
    )
    second = new_run("run_2", T0 + timedelta(hours=1))
    assert engine.run(second, SYSTEM, connector, SETTINGS) == "completed" and second.mode == "incremental"
    assert "C99999" in {c.external.id for c in store.customers(TENANT) if c.external}


def test_b3_inactive_customers_are_skipped_unless_the_setting_is_on(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector()
    seed(connector, 10, T0 - timedelta(days=1), inactive_every=5)
    run = sync(store, connector, clock, "run_1")
    assert run.counts["customers"].created == 8 and run.counts["customers"].skipped == 2
    assert all(c.external and c.external.active for c in store.customers(TENANT))

    store2 = InMemorySyncStore()
    run2 = new_run("run_2", clock())
    SyncEngine(store2, clock=clock).run(run2, SYSTEM, connector, AccountSettings(import_inactive_customers=True))
    assert run2.counts["customers"].created == 10
    assert sum(1 for c in store2.customers(TENANT) if c.external and not c.external.active) == 2


def test_b3_customer_that_becomes_inactive_is_kept_and_marked(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector()
    seed(connector, 4, T0 - timedelta(days=1))
    sync(store, connector, clock, "run_1")
    later = T0 + timedelta(minutes=5)
    connector.customers["C00001"] = connector.customers["C00001"].model_copy(
        update={"active": False, "updated_at": later}
    )
    connector.customers["C00002"] = RemoteCustomer(id="C00002", deleted=True, updated_at=later)  # QBO delete stub
    clock.now = T0 + timedelta(hours=1)
    run = sync(store, connector, clock, "run_2")
    assert run.counts["customers"].deactivated == 2
    by_ext = {c.external.id: c for c in store.customers(TENANT) if c.external}
    assert len(by_ext) == 4
    assert by_ext["C00001"].external is not None and not by_ext["C00001"].external.active
    assert by_ext["C00002"].external is not None and not by_ext["C00002"].external.active
    assert by_ext["C00002"].contact.display_name == "Customer 00002"  # the stub did not blank the contact


def test_merge_keeps_ar_only_fields_and_survives_a_concurrent_edit(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector()
    seed(connector, 3, T0 - timedelta(days=1))
    sync(store, connector, clock, "run_1")
    cid = imported_customer_id(TENANT, SYSTEM, "C00001")
    stored = store.get_customer(TENANT, cid)
    assert stored is not None
    edited = stored.model_copy(
        update={"archived": True, "notes": "call first", "company_type": CompanyType.NONPROFIT, "version": 2}
    )
    store.put_customer(edited)

    connector.customers["C00001"] = connector.customers["C00001"].model_copy(
        update={"display_name": "Renamed Ltd", "updated_at": T0 + timedelta(minutes=1)}
    )
    # A user archives-and-notes again between our read and our conditional write: we must re-read and re-merge.
    original_get = store.get_customer
    raced = {"done": False}

    def racing_get(tenant_id: str, customer_id: str) -> Customer | None:
        current = original_get(tenant_id, customer_id)
        if customer_id == cid and not raced["done"] and current is not None:
            raced["done"] = True
            store.put_customer(current.model_copy(update={"notes": "edited meanwhile", "version": current.version + 1}))
        return current

    store.get_customer = racing_get  # type: ignore[method-assign]
    clock.now = T0 + timedelta(hours=1)
    sync(store, connector, clock, "run_2")
    final = original_get(TENANT, cid)
    assert final is not None
    assert final.contact.display_name == "Renamed Ltd"
    assert final.archived and final.notes == "edited meanwhile" and final.company_type is CompanyType.NONPROFIT
    assert final.version == 4


def test_documents_of_unknown_deleted_kind_are_not_written(clock: FixedClock) -> None:
    store, connector = InMemorySyncStore(), FakeConnector()
    connector.invoices["X"] = RemoteInvoice(id="X", customer_id="C1", deleted=True, updated_at=T0)
    run = sync(store, connector, clock, "run_1")
    assert run.counts["invoices"].skipped == 1 and store.doc_writes == 0
