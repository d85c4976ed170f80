"""No-leakage guard: perturbing anything that happens after an invoice's issue date must not move its prediction."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from arsync.health.benchmark import BenchmarkRun, run_benchmark
from arsync.health.dataset import LabelledInvoice, ReceivablesDataset
from arsync.health.training import Example, build_examples

CUTOFF = date(2012, 10, 1)
PERTURB_FROM = date(2012, 12, 1)


def perturb_after(dataset: ReceivablesDataset, moment: date, seed: int = 11) -> ReceivablesDataset:
    """Rewrite every fact dated on/after ``moment``: settlements (and hence DaysLate), disputes, later invoices."""
    rng = random.Random(seed)
    rows: list[LabelledInvoice] = []
    for row in dataset.invoices:
        fact = row.fact
        if fact.issue_date >= moment:
            fact = replace(fact, amount=round(rng.uniform(1, 500), 2), disputed=rng.random() < 0.5)
        if fact.settled_date is not None and fact.settled_date >= moment:
            # any new settlement date that is still on/after the perturbation moment
            earliest = max(moment, fact.issue_date)
            fact = replace(fact, settled_date=earliest + timedelta(days=rng.randint(0, 80)))
        days_late = max(0, (fact.settled_date - fact.due_date).days) if fact.settled_date else row.days_late
        rows.append(LabelledInvoice(customer_id=row.customer_id, fact=fact, days_late=days_late))
    return ReceivablesDataset(invoices=rows, profiles=dataset.profiles)


@pytest.fixture(scope="module")
def original(examples: list[Example]) -> BenchmarkRun:
    return run_benchmark(examples, CUTOFF)


@pytest.fixture(scope="module")
def perturbed(dataset: ReceivablesDataset) -> BenchmarkRun:
    return run_benchmark(build_examples(perturb_after(dataset, PERTURB_FROM)), CUTOFF)


def test_perturbation_really_changes_the_future(dataset: ReceivablesDataset) -> None:
    changed = perturb_after(dataset, PERTURB_FROM)
    flips = sum(a.is_late != b.is_late for a, b in zip(dataset.invoices, changed.invoices, strict=True))
    assert flips > 50


def test_predictions_for_invoices_issued_before_the_perturbation_do_not_change(
    original: BenchmarkRun, perturbed: BenchmarkRun
) -> None:
    before = {p.invoice_id: p.probability_late for p in original.predictions}
    after = {p.invoice_id: p.probability_late for p in perturbed.predictions}
    assert before.keys() == after.keys()
    protected = [p.invoice_id for p in original.predictions if p.issue_date <= PERTURB_FROM]
    assert len(protected) > 100
    assert all(before[i] == after[i] for i in protected)
    # the check is not vacuous: invoices issued later do see the rewritten history
    later = [p.invoice_id for p in original.predictions if p.issue_date > PERTURB_FROM + timedelta(days=40)]
    assert sum(before[i] != after[i] for i in later) > 10


def test_training_ignores_labels_settled_after_the_cutoff(dataset: ReceivablesDataset, original: BenchmarkRun) -> None:
    retrained = run_benchmark(build_examples(perturb_after(dataset, CUTOFF)), CUTOFF)
    assert retrained.params["intercept"] == original.params["intercept"]
    assert retrained.params["features"] == original.params["features"]
    assert retrained.params["prior"] == original.params["prior"]
    first_day = {p.invoice_id: p.probability_late for p in retrained.predictions if p.issue_date == CUTOFF}
    assert first_day and all(
        first_day[p.invoice_id] == p.probability_late for p in original.predictions if p.issue_date == CUTOFF
    )
