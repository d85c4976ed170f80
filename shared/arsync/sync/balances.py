"""Customer balances while connected (B8): the provider's figure plus Total Due and unapplied credit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from arsync.connectors.base import RemoteCustomer
from arsync.models.customer import Balance
from arsync.models.documents import RemoteDoc, doc_kind, open_amount


@dataclass(frozen=True)
class Aggregate:
    total_due: Decimal = Decimal(0)
    unapplied_credit: Decimal = Decimal(0)


def aggregate(docs: Iterable[RemoteDoc]) -> Aggregate:
    total_due, unapplied = Decimal(0), Decimal(0)
    for doc in docs:
        due, credit = open_amount(doc)
        total_due += due
        unapplied += credit
    return Aggregate(total_due, unapplied)


class Aggregates:
    """Per-customer document totals built in memory while the document phases stream past.

    Keyed by (kind, id) per customer, so a document seen twice (offset paging shifts, overlap) counts once."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[tuple[str, str], RemoteDoc]] = {}

    def add(self, doc: RemoteDoc) -> None:
        if doc.customer_id:
            self._docs.setdefault(doc.customer_id, {})[(doc_kind(doc), doc.id)] = doc

    def get(self, external_customer_id: str) -> Aggregate:
        return aggregate(self._docs.get(external_customer_id, {}).values())


def balance_for(remote: RemoteCustomer, totals: Aggregate, now: datetime) -> Balance:
    """The provider's outstanding balance is never computed by us while connected (B8)."""
    outstanding = remote.balance if remote.balance is not None else totals.total_due - totals.unapplied_credit
    return Balance(
        outstanding=outstanding,
        total_due=totals.total_due,
        unapplied_credit=totals.unapplied_credit,
        currency=remote.currency,
        source="accounting_system",
        as_of=now,
    )


def imported_customer_id(tenant_id: str, system: str, external_id: str) -> str:
    """Deterministic, so a re-run (or a resumed run) of an import never duplicates a customer."""
    digest = hashlib.sha256(f"{tenant_id}|{system}|{external_id}".encode()).hexdigest()
    return f"cus_{digest[:20]}"
