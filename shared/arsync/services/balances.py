"""Why a balance differs from Total Due (B9): the unapplied items that explain it, and any remainder."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from arsync.connectors.base import RemoteCredit, RemoteInvoice, RemotePayment
from arsync.errors import NotLinked
from arsync.models.customer import Customer
from arsync.models.documents import RemoteDoc, open_amount
from arsync.store.base import CustomerRepository
from arsync.system_names import system_label

CENT = Decimal("0.01")


class CustomerDocuments(Protocol):
    def for_customer(self, tenant_id: str, system: str, external_customer_id: str) -> list[RemoteDoc]: ...


@dataclass(frozen=True)
class ExplainingItem:
    kind: str  # unapplied_payment | credit_memo | credit_note | overpayment | prepayment
    id: str
    number: str | None
    date: date | None
    amount: Decimal


@dataclass(frozen=True)
class OpenInvoice:
    id: str
    number: str | None
    issue_date: date | None
    due_date: date | None
    amount_due: Decimal


@dataclass(frozen=True)
class BalanceCheck:
    customer_id: str
    currency: str | None
    outstanding: Decimal
    total_due: Decimal
    difference: Decimal
    explained: Decimal
    unexplained: Decimal
    items: list[ExplainingItem] = field(default_factory=list)
    open_invoices: list[OpenInvoice] = field(default_factory=list)
    summary: str = ""
    as_of: datetime | None = None


def _money(value: Decimal, currency: str | None) -> str:
    return f"{value.quantize(CENT):,} {currency}".strip() if currency else f"{value.quantize(CENT):,}"


def explain(customer: Customer, docs: list[RemoteDoc]) -> BalanceCheck:
    """Total Due is the sum of open invoice balances; the provider's balance is lower by whatever
    unapplied payments and credits the customer holds. Anything else is reported as unexplained."""
    if customer.external is None or customer.balance is None:
        raise NotLinked()
    label = system_label(customer.external.system)
    currency = customer.balance.currency
    open_invoices: list[OpenInvoice] = []
    items: list[ExplainingItem] = []
    for doc in docs:
        due, credit = open_amount(doc)
        if isinstance(doc, RemoteInvoice) and due > 0:
            open_invoices.append(OpenInvoice(doc.id, doc.number, doc.issue_date, doc.due_date, due))
        elif isinstance(doc, RemotePayment) and credit > 0:
            items.append(ExplainingItem("unapplied_payment", doc.id, None, doc.date, credit))
        elif isinstance(doc, RemoteCredit) and credit > 0:
            items.append(ExplainingItem(doc.kind, doc.id, doc.number, doc.date, credit))
    items.sort(key=lambda item: (item.date or date.min, item.id))
    open_invoices.sort(key=lambda inv: (inv.due_date or date.min, inv.id))
    total_due = sum((inv.amount_due for inv in open_invoices), Decimal(0))
    outstanding = customer.balance.outstanding
    difference = total_due - outstanding
    explained = sum((item.amount for item in items), Decimal(0))
    unexplained = difference - explained
    if difference.quantize(CENT) == 0 and unexplained.quantize(CENT) == 0:
        summary = f"Total Due matches the balance in {label}."
    else:
        parts = [
            f"Total Due ({_money(total_due, currency)}) differs from the balance in {label} "
            f"({_money(outstanding, currency)}) by {_money(difference, currency)}."
        ]
        if items:
            parts.append(
                f"{len(items)} unapplied payment(s)/credit(s) totalling {_money(explained, currency)} lower the "
                f"balance. Apply them to the open invoices in {label} and the balance will match Total Due."
            )
        if unexplained.quantize(CENT) != 0:
            parts.append(
                f"{_money(unexplained, currency)} is not explained by unapplied items: use Re-Sync to refresh "
                f"the customer; if it remains, look in {label} for journal entries or other adjustments."
            )
        summary = " ".join(parts)
    return BalanceCheck(
        customer_id=customer.id,
        currency=currency,
        outstanding=outstanding,
        total_due=total_due,
        difference=difference,
        explained=explained,
        unexplained=unexplained,
        items=items,
        open_invoices=open_invoices,
        summary=summary,
        as_of=customer.balance.as_of,
    )


@dataclass
class BalanceCheckService:
    customers: CustomerRepository
    documents: CustomerDocuments

    def check(self, tenant_id: str, customer_id: str) -> BalanceCheck:
        customer = self.customers.get(tenant_id, customer_id)
        if customer.external is None:
            raise NotLinked()
        docs = self.documents.for_customer(tenant_id, customer.external.system.value, customer.external.id)
        return explain(customer, docs)
