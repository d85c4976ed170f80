from __future__ import annotations

from datetime import date

from arsync.health.dataset import ReceivablesDataset, parse_us_date


def test_loads_every_row_with_zero_padded_invoice_numbers(dataset: ReceivablesDataset) -> None:
    assert len(dataset.invoices) == 2466
    assert len(dataset.profiles) == 100
    ids = [row.fact.invoice_id for row in dataset.invoices]
    assert ids[0] == "0000611365" and len(set(ids)) == 2466
    assert all(len(i) == 10 for i in ids)


def test_us_dates_and_label_consistency(dataset: ReceivablesDataset) -> None:
    assert parse_us_date("2/1/2013") == date(2013, 2, 1)
    for row in dataset.invoices:
        settled = row.fact.settled_date
        assert settled is not None
        assert row.days_late == max(0, (settled - row.fact.due_date).days)
    late = sum(row.is_late for row in dataset.invoices)
    assert late == 877  # 35.56 % as documented in data/README.md's source notes
