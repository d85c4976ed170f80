"""Health overrides survive re-scoring (B11); the balance check explains the difference item by item (B9)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from arsync.connectors.base import PaymentApplication, RemoteCredit, RemoteInvoice, RemotePayment
from arsync.errors import NotLinked
from arsync.models.common import AccountingSystem, ArchivedFilter, HealthBand
from arsync.models.customer import Balance, Customer, CustomerContact, ExternalRef
from arsync.models.documents import RemoteDoc
from arsync.services.balances import explain
from arsync.services.health import HealthService, invoice_facts
from arsync.store.base import CustomerQuery
from tests.fakes import InMemoryCustomerRepository

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def customer(external_id: str | None = "C1", outstanding: str = "0") -> Customer:
    return Customer(
        tenant_id="t1",
        id=f"cus_{external_id or 'local'}",
        contact=CustomerContact(display_name=f"Customer {external_id}"),
        external=ExternalRef(system=AccountingSystem.QUICKBOOKS_ONLINE, id=external_id) if external_id else None,
        balance=Balance(
            outstanding=Decimal(outstanding),
            total_due=Decimal(0),
            unapplied_credit=Decimal(0),
            currency="USD",
            source="accounting_system",
            as_of=NOW,
        ),
        created_at=NOW,
        updated_at=NOW,
    )


def invoice(i: int, *, issued: date, due_days: int = 30, total: str = "100", due: str = "0", paid: date | None = None):
    return RemoteInvoice(
        id=f"I{i}",
        customer_id="C1",
        number=f"100{i}",
        issue_date=issued,
        due_date=issued + timedelta(days=due_days),
        total=Decimal(total),
        amount_due=Decimal(due),
        fully_paid_on=paid,
    )


class Docs:
    def __init__(self, docs: list[RemoteDoc]) -> None:
        self.docs = docs

    def by_customer(self, tenant_id: str) -> dict[str, list[RemoteDoc]]:
        return {"C1": self.docs}

    def for_customer(self, tenant_id: str, system: str, external_customer_id: str) -> list[RemoteDoc]:
        return self.docs


def late_payer_history() -> list[RemoteDoc]:
    start = date(2025, 6, 1)
    return [
        invoice(i, issued=start + timedelta(days=20 * i), paid=start + timedelta(days=20 * i + 55)) for i in range(8)
    ]


def test_override_survives_rescoring_and_drives_the_band_filter() -> None:
    repo = InMemoryCustomerRepository()
    repo.add(customer())
    service = HealthService(customers=repo, documents=Docs(late_payer_history()), clock=lambda: NOW)
    first = service.score_account("t1")
    scored = repo.get("t1", "cus_C1")
    assert first.changed == 1 and scored.health.model_score is not None and scored.health.basis == "history"
    assert scored.health.factors and scored.health.model_version
    service.set_override("t1", "cus_C1", 95, "Paid upfront for next year", "controller@example.com")
    service.score_account("t1")
    after = repo.get("t1", "cus_C1")
    assert after.health.override is not None and after.health.score == 95 and after.health.source == "override"
    assert after.health.model_score == scored.health.model_score  # the model's score stays visible beside it
    healthy = repo.list("t1", CustomerQuery(archived=ArchivedFilter.ALL, health_band=HealthBand.HEALTHY))
    assert [c.id for c in healthy.items] == ["cus_C1"]
    cleared = service.clear_override("t1", "cus_C1")
    assert cleared.health.override is None and cleared.health.score == scored.health.model_score


def test_unchanged_rescoring_writes_nothing() -> None:
    repo = InMemoryCustomerRepository()
    repo.add(customer())
    service = HealthService(customers=repo, documents=Docs(late_payer_history()), clock=lambda: NOW)
    service.score_account("t1")
    writes = repo.writes
    later = HealthService(customers=repo, documents=Docs(late_payer_history()), clock=lambda: NOW + timedelta(hours=1))
    assert later.score_account("t1").changed == 0
    assert repo.writes == writes


def test_customer_without_history_gets_a_flagged_prior() -> None:
    repo = InMemoryCustomerRepository()
    repo.add(customer())
    HealthService(customers=repo, documents=Docs([]), clock=lambda: NOW).score_account("t1")
    assert repo.get("t1", "cus_C1").health.basis == "prior"


def test_settlement_dates_come_from_xero_or_from_qbo_payments() -> None:
    qbo_paid = invoice(1, issued=date(2025, 1, 1))
    payment = RemotePayment(
        id="P1",
        customer_id="C1",
        date=date(2025, 2, 20),
        amount=Decimal(100),
        applications=(PaymentApplication(invoice_id="I1", amount=Decimal(100)),),
    )
    xero_paid = invoice(2, issued=date(2025, 1, 5), paid=date(2025, 1, 30))
    still_open = invoice(3, issued=date(2025, 2, 1), due="100")
    facts = {f.invoice_id: f for f in invoice_facts([qbo_paid, payment, xero_paid, still_open])}
    assert facts["I1"].settled_date == date(2025, 2, 20)
    assert facts["I2"].settled_date == date(2025, 1, 30)
    assert facts["I3"].settled_date is None


def test_balance_check_lists_each_unapplied_item_and_the_unexplained_rest() -> None:
    docs: list[RemoteDoc] = [
        invoice(1, issued=date(2026, 1, 1), due="300"),
        invoice(2, issued=date(2026, 1, 15), due="200"),
        RemotePayment(
            id="P9", customer_id="C1", date=date(2026, 2, 1), amount=Decimal(80), unapplied_amount=Decimal(80)
        ),
        RemoteCredit(id="CM4", kind="credit_memo", customer_id="C1", number="CM-4", remaining_credit=Decimal(50)),
    ]
    check = explain(customer(outstanding="360.00"), docs)
    assert check.total_due == Decimal(500) and check.difference == Decimal(140)
    assert [(i.kind, i.amount) for i in check.items] == [
        ("credit_memo", Decimal(50)),
        ("unapplied_payment", Decimal(80)),
    ]
    assert check.explained == Decimal(130) and check.unexplained == Decimal(10)
    assert "Apply them" in check.summary and "not explained" in check.summary


def test_balance_check_needs_a_linked_customer() -> None:
    with pytest.raises(NotLinked):
        explain(customer(external_id=None), [])
