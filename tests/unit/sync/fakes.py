"""In-memory fakes for the sync engine: an item-level store (same record mappings as DynamoDB, so table
snapshots compare like for like), a paging accounting connector and a recording queue."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from arsync.connectors.base import (
    AccountingConnector,
    ChangeBatch,
    Page,
    RemoteCredit,
    RemoteCustomer,
    RemoteInvoice,
    RemotePayment,
    TokenSet,
)
from arsync.errors import VersionConflict
from arsync.models.common import AccountingSystem
from arsync.models.customer import Customer, CustomerContact
from arsync.models.documents import DocKind, RemoteDoc, doc_from_item, doc_to_item
from arsync.models.records import customer_from_item, customer_to_item
from arsync.store import keys
from arsync.store.sync_store import DispatchTarget, IndexedCustomer, SyncStore
from arsync.sync.models import ActiveRun, SyncMessage, SyncRun, SyncState
from arsync.sync.queue import SyncQueue

Item = dict[str, Any]


class Killed(BaseException):
    """Simulates the process dying (Lambda timeout, crash): nothing in the code under test catches it."""


class InMemorySyncStore(SyncStore):
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self.states: dict[str, SyncState] = {}
        self.runs: dict[tuple[str, str], SyncRun] = {}
        self.actives: dict[str, ActiveRun] = {}
        self.leases: dict[str, tuple[str, int]] = {}
        self.targets: list[DispatchTarget] = []
        self.customer_writes = 0
        self.doc_writes = 0
        self.batch_write_requests = 0
        self.before_save_state: Callable[[], None] | None = None

    # --- helpers -------------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[tuple[str, str], Item]:
        return copy.deepcopy(self.items)

    def customers(self, tenant_id: str) -> list[Customer]:
        pk = keys.tenant_pk(tenant_id)
        return [
            customer_from_item(tenant_id, item)
            for (p, s), item in sorted(self.items.items())
            if p == pk and s.startswith(keys.CUSTOMER_PREFIX)
        ]

    def _count_batches(self, n: int) -> None:
        self.batch_write_requests += -(-n // 25)

    # --- state, lease, runs ------------------------------------------------------------------------------------
    def get_state(self, tenant_id: str) -> SyncState:
        return self.states.get(tenant_id, SyncState())

    def save_state(self, tenant_id: str, state: SyncState) -> SyncState:
        if self.before_save_state is not None:
            self.before_save_state()
        if self.get_state(tenant_id).version != state.version:
            raise VersionConflict("sync state", state.version, None)
        stored = state.model_copy(update={"version": state.version + 1}, deep=True)
        self.states[tenant_id] = stored
        return stored

    def acquire_lease(self, tenant_id: str, owner: str, now: datetime, ttl_seconds: int) -> bool:
        epoch = int(now.timestamp())
        current = self.leases.get(tenant_id)
        if current is None or current[1] < epoch or current[0] == owner:
            self.leases[tenant_id] = (owner, epoch + ttl_seconds)
            return True
        return False

    def lease_holder(self, tenant_id: str, now: datetime) -> str | None:
        current = self.leases.get(tenant_id)
        return current[0] if current is not None and current[1] >= int(now.timestamp()) else None

    def release_lease(self, tenant_id: str, owner: str) -> None:
        if self.leases.get(tenant_id, ("", 0))[0] == owner:
            del self.leases[tenant_id]

    def get_run(self, tenant_id: str, run_id: str) -> SyncRun | None:
        run = self.runs.get((tenant_id, run_id))
        return run.model_copy(deep=True) if run else None

    def put_run(self, run: SyncRun) -> None:
        self.runs[(run.tenant_id, run.id)] = run.model_copy(deep=True)

    def list_runs(self, tenant_id: str, limit: int, page_cursor: str | None) -> tuple[list[SyncRun], str | None]:
        runs = sorted((r for (t, _), r in self.runs.items() if t == tenant_id), key=lambda r: r.id, reverse=True)
        start = int(page_cursor or 0)
        more = start + limit < len(runs)
        return runs[start : start + limit], str(start + limit) if more else None

    def get_active(self, tenant_id: str) -> ActiveRun | None:
        return self.actives.get(tenant_id)

    def claim_active(self, tenant_id: str, active: ActiveRun, replacing: str | None) -> bool:
        current = self.actives.get(tenant_id)
        if current is not None and (replacing is None or current.run_id != replacing):
            return False
        self.actives[tenant_id] = active
        return True

    def clear_active(self, tenant_id: str, run_id: str, tick: str | None = None) -> None:
        if tenant_id in self.actives and self.actives[tenant_id].run_id == run_id:
            if tick is None:
                del self.actives[tenant_id]
            else:
                self.actives[tenant_id] = self.actives[tenant_id].model_copy(update={"finished": True})

    def get_actives(self, tenant_ids: Sequence[str]) -> dict[str, ActiveRun]:
        return {t: self.actives[t] for t in tenant_ids if t in self.actives}

    def create_runs(self, runs: Sequence[SyncRun]) -> None:
        self._count_batches(2 * len(runs))
        for run in runs:
            self.put_run(run)
            self.actives[run.tenant_id] = ActiveRun(run_id=run.id, since=run.created_at, tick=run.tick)

    def dispatch_targets(self) -> Iterator[DispatchTarget]:
        yield from self.targets

    # --- documents -----------------------------------------------------------------------------------------------
    def doc_hashes(self, tenant_id: str, kind: DocKind, ids: Iterable[str] | None = None) -> dict[str, str]:
        pk, prefix = keys.tenant_pk(tenant_id), keys.doc_prefix(kind)
        found = {
            s[len(prefix) :]: item["content_hash"]["S"]
            for (p, s), item in self.items.items()
            if p == pk and s.startswith(prefix)
        }
        if ids is None:
            return found
        return {i: found[i] for i in ids if i in found}

    def put_items(self, tenant_id: str, system: str, records: Sequence[RemoteDoc | Customer]) -> None:
        self._count_batches(len(records))
        for record in records:
            if isinstance(record, Customer):
                self.put_customer(record)
                self.customer_writes += 1
            else:
                item = doc_to_item(tenant_id, system, record)
                self.items[(item["PK"]["S"], item["SK"]["S"])] = item
                self.doc_writes += 1

    def customer_docs(self, tenant_id: str, system: str, external_customer_id: str) -> list[RemoteDoc]:
        pk = keys.customer_docs_pk(tenant_id, system, external_customer_id)
        return [doc_from_item(i) for i in self.items.values() if i.get("GSI1PK", {}).get("S") == pk]

    # --- customers -----------------------------------------------------------------------------------------------
    def customer_index(self, tenant_id: str, system: str) -> dict[str, IndexedCustomer]:
        pk = keys.external_pk(tenant_id, system)
        return {
            item["GSI3SK"]["S"]: IndexedCustomer(
                id=item["SK"]["S"][len(keys.CUSTOMER_PREFIX) :],
                content_hash=item["content_hash"]["S"],
                version=int(item["version"]["N"]),
            )
            for item in self.items.values()
            if item.get("GSI3PK", {}).get("S") == pk
        }

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        item = self.items.get((keys.tenant_pk(tenant_id), keys.customer_sk(customer_id)))
        return customer_from_item(tenant_id, item) if item else None

    def put_customer(self, customer: Customer) -> None:
        """Test helper: a customer as the API would have stored it."""
        self.items[(keys.tenant_pk(customer.tenant_id), keys.customer_sk(customer.id))] = customer_to_item(customer)

    def delete_customer(self, customer: Customer) -> None:
        """Test helper: the API folding a duplicate away (conditional on its version, as in DynamoDB)."""
        stored = self.get_customer(customer.tenant_id, customer.id)
        if stored is None or stored.version != customer.version:
            raise VersionConflict(customer.id, customer.version, stored.version if stored else None)
        del self.items[(keys.tenant_pk(customer.tenant_id), keys.customer_sk(customer.id))]

    def save_customer(self, customer: Customer, expected_version: int) -> None:
        stored = self.get_customer(customer.tenant_id, customer.id)
        if stored is None or stored.version != expected_version:
            raise VersionConflict(customer.id, expected_version, stored.version if stored else None)
        self.put_customer(customer)
        self.customer_writes += 1


@dataclass
class RecordingQueue(SyncQueue):
    sent: list[tuple[SyncMessage, int]] = field(default_factory=list)
    requests: int = 0

    def send(self, messages: Sequence[SyncMessage], delay_seconds: int = 0) -> None:
        self.requests += -(-len(messages) // 10)
        self.sent.extend((m, delay_seconds) for m in messages)


class FakeConnector(AccountingConnector):
    """A provider with paging, an incremental change feed by `updated_at`, and fault hooks."""

    system = AccountingSystem.QUICKBOOKS_ONLINE

    def __init__(self, page_size: int = 10) -> None:
        self.page_size = page_size
        self.customers: dict[str, RemoteCustomer] = {}
        self.invoices: dict[str, RemoteInvoice] = {}
        self.payments: dict[str, RemotePayment] = {}
        self.credits: dict[str, RemoteCredit] = {}
        self.calls: list[str] = []
        self.before_call: Callable[[str], None] | None = None

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.before_call is not None:
            self.before_call(name)

    @staticmethod
    def _page(items: Sequence[Any], cursor: str | None, size: int) -> tuple[tuple[Any, ...], str | None]:
        start = int(cursor or 0)
        chunk = tuple(items[start : start + size])
        return chunk, str(start + size) if start + size < len(items) else None

    # --- data ----------------------------------------------------------------------------------------------------
    def list_customers(self, *, include_inactive: bool, cursor: str | None = None) -> Page[RemoteCustomer]:
        self._call("list_customers")
        rows = [c for c in self.customers.values() if include_inactive or c.active]
        items, nxt = self._page(rows, cursor, self.page_size)
        return Page[RemoteCustomer](items=items, next_cursor=nxt)

    def get_customer(self, customer_id: str) -> RemoteCustomer:
        self._call("get_customer")
        return self.customers[customer_id]

    def list_invoices(self, cursor: str | None = None) -> Page[RemoteInvoice]:
        self._call("list_invoices")
        items, nxt = self._page(list(self.invoices.values()), cursor, self.page_size)
        return Page[RemoteInvoice](items=items, next_cursor=nxt)

    def list_payments(self, cursor: str | None = None) -> Page[RemotePayment]:
        self._call("list_payments")
        items, nxt = self._page(list(self.payments.values()), cursor, self.page_size)
        return Page[RemotePayment](items=items, next_cursor=nxt)

    def list_credits(self, cursor: str | None = None) -> Page[RemoteCredit]:
        self._call("list_credits")
        items, nxt = self._page(list(self.credits.values()), cursor, self.page_size)
        return Page[RemoteCredit](items=items, next_cursor=nxt)

    def changes_since(self, since: datetime, cursor: str | None = None) -> ChangeBatch:
        self._call("changes_since")
        rows: list[Any] = [
            x
            for group in (self.customers, self.invoices, self.payments, self.credits)
            for x in group.values()
            if x.updated_at is not None and x.updated_at >= since
        ]
        items, nxt = self._page(rows, cursor, self.page_size)
        return ChangeBatch(
            customers=tuple(x for x in items if isinstance(x, RemoteCustomer)),
            invoices=tuple(x for x in items if isinstance(x, RemoteInvoice)),
            payments=tuple(x for x in items if isinstance(x, RemotePayment)),
            credits=tuple(x for x in items if isinstance(x, RemoteCredit)),
            next_cursor=nxt,
        )

    # --- not used by sync ----------------------------------------------------------------------------------------
    def authorization_url(self, state: str, redirect_uri: str) -> str:
        raise NotImplementedError

    def exchange_code(self, code: str, redirect_uri: str, company_id: str | None = None) -> TokenSet:
        raise NotImplementedError

    def refresh(self, refresh_token: str) -> TokenSet:
        raise NotImplementedError

    def revoke(self, tokens: TokenSet) -> None:
        raise NotImplementedError

    def find_customers_by_name(self, name: str) -> list[RemoteCustomer]:
        raise NotImplementedError

    def create_customer(self, contact: CustomerContact, *, idempotency_key: str) -> RemoteCustomer:
        raise NotImplementedError

    def update_customer(
        self,
        customer_id: str,
        changes: dict[str, Any],
        *,
        sync_token: str | None = None,
        expected_updated_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> RemoteCustomer:
        raise NotImplementedError

    def set_customer_active(self, customer_id: str, active: bool, *, sync_token: str | None = None) -> RemoteCustomer:
        raise NotImplementedError


def seed(connector: FakeConnector, customers: int, at: datetime, inactive_every: int = 0) -> None:
    """Deterministic data: each customer has an open invoice, every third a payment with unapplied cash,
    every fifth a credit note; every `inactive_every`-th customer is inactive."""
    for n in range(customers):
        cid = f"C{n:05d}"
        active = not (inactive_every and n % inactive_every == inactive_every - 1)
        connector.customers[cid] = RemoteCustomer(
            id=cid,
            display_name=f"Customer {n:05d}",
            email=f"c{n}@example.com",
            currency="USD",
            active=active,
            sync_token="0",
            updated_at=at,
            balance=Decimal(100 + n),
        )
        connector.invoices[f"I{n:05d}"] = RemoteInvoice(
            id=f"I{n:05d}",
            customer_id=cid,
            number=f"INV-{n}",
            total=Decimal(150 + n),
            amount_due=Decimal(100 + n),
            status="open",
            updated_at=at,
        )
        if n % 3 == 0:
            connector.payments[f"P{n:05d}"] = RemotePayment(
                id=f"P{n:05d}", customer_id=cid, amount=Decimal(60), unapplied_amount=Decimal(10), updated_at=at
            )
        if n % 5 == 0:
            connector.credits[f"K{n:05d}"] = RemoteCredit(
                id=f"K{n:05d}",
                kind="credit_memo",
                customer_id=cid,
                total=Decimal(20),
                remaining_credit=Decimal(5),
                updated_at=at,
            )


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
