from __future__ import annotations

from datetime import date

import pytest

from arsync.health.features import CustomerProfile, InvoiceFact, as_of_view, compute_features


def invoice(n: int, issued: date, settled: date | None, amount: float = 100.0, disputed: bool | None = None):
    return InvoiceFact(
        invoice_id=f"{n:010d}",
        issue_date=issued,
        due_date=date.fromordinal(issued.toordinal() + 30),
        amount=amount,
        settled_date=settled,
        disputed=disputed,
    )


LEDGER = [
    invoice(1, date(2024, 1, 1), date(2024, 2, 10), disputed=True),  # 10 days late
    invoice(2, date(2024, 2, 1), date(2024, 2, 21)),  # 10 days early
    invoice(3, date(2024, 3, 1), date(2024, 4, 20), disputed=True),  # settles after as_of below
    invoice(4, date(2024, 4, 1), date(2024, 4, 25)),  # settles after as_of
    invoice(5, date(2024, 4, 20), date(2024, 5, 1)),  # issued after as_of
]
AS_OF = date(2024, 4, 15)


def test_as_of_view_hides_future_invoices_settlements_and_disputes() -> None:
    visible = {inv.invoice_id: inv for inv in as_of_view(LEDGER, AS_OF)}
    assert "0000000005" not in visible
    assert visible["0000000003"].settled_date is None and visible["0000000003"].disputed is None
    assert visible["0000000004"].settled_date is None
    assert visible["0000000001"].disputed is True


def test_settlement_on_the_as_of_day_is_not_yet_known() -> None:
    snapshot = compute_features(LEDGER, CustomerProfile(), date(2024, 2, 21))
    assert snapshot.closed_count == 1  # invoice 2 settles on 2024-02-21 itself


def test_history_open_and_overdue_features() -> None:
    snapshot = compute_features(LEDGER, CustomerProfile(paperless_since=date(2024, 3, 1)), AS_OF)
    values = snapshot.values
    assert snapshot.closed_count == 2 and snapshot.open_count == 2
    assert values["late_share"] == pytest.approx(0.5)
    assert values["average_days_late"] == pytest.approx(5.0)
    assert values["weighted_days_beyond_terms"] == pytest.approx(0.0)
    assert values["paydex"] == pytest.approx(80.0)
    assert values["overdue_count"] == 1  # invoice 3 was due 2024-03-31
    assert values["max_days_overdue"] == 15
    assert values["overdue_amount_ratio"] == pytest.approx(1.0)
    # invoice 2 records no dispute flag (unknown) and invoice 3 is still open, so only invoice 1 counts
    assert values["dispute_share"] == pytest.approx(1.0)
    assert values["electronic_billing"] == 1.0
    assert values["last_invoice_late"] == 0.0


def test_future_facts_cannot_change_features() -> None:
    """Later settlements, later disputes and later invoices must leave the as-of features untouched."""
    rewritten = [
        *LEDGER[:2],
        invoice(3, date(2024, 3, 1), date(2024, 9, 1), disputed=False),
        invoice(4, date(2024, 4, 1), date(2024, 4, 15)),  # settles on the as_of day: still unknown
        invoice(5, date(2024, 4, 20), None, amount=99999.0, disputed=True),
        invoice(6, date(2024, 4, 15), date(2024, 4, 16), amount=1.0),
    ]
    before = compute_features(LEDGER, CustomerProfile(), AS_OF)
    after = compute_features(rewritten, CustomerProfile(), AS_OF)
    assert after.values == before.values
    assert (after.closed_count, after.open_count) == (before.closed_count, before.open_count)


def test_no_history_customer_has_no_history_features() -> None:
    snapshot = compute_features([invoice(1, date(2024, 1, 1), None)], CustomerProfile(country="GB"), date(2024, 3, 1))
    assert not snapshot.has_history
    assert snapshot.values["late_share"] is None and snapshot.values["paydex"] is None
    assert snapshot.values["overdue_count"] == 1
    assert snapshot.values["electronic_billing"] is None  # unknown, not "paper"
