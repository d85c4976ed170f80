"""Evaluation protocol of health-score.md §7: time splits, baselines, metrics and customer-clustered bootstrap."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata, spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from arsync.health.benchmark import BenchmarkRun, run_benchmark
from arsync.health.dataset import ReceivablesDataset, load_ibm_receivables
from arsync.health.features import compute_features
from arsync.health.model import HealthModel
from arsync.health.scoring import assess_snapshot
from arsync.health.training import Example, build_examples, labelled_before

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_FILE = PROJECT_ROOT / "data" / "ibm-accounts-receivable.csv"
DATA_SHA256 = "f5d488eaa4c1cc843b478b6f1068c553c5394aab4b64d587e4b9ad811d845c19"
MAIN_CUTOFF = date(2013, 7, 1)
ROLLING_CUTOFFS = (
    date(2012, 7, 1),
    date(2012, 10, 1),
    date(2013, 1, 1),
    date(2013, 4, 1),
    date(2013, 7, 1),
    date(2013, 10, 1),
)
BOOTSTRAP_RESAMPLES = 2000
ECE_BINS = 10
SEED = 20240601


@dataclass
class SplitResult:
    """Everything the report needs about one split."""

    name: str
    cutoff: date
    test_end: date | None
    run: BenchmarkRun
    labels: np.ndarray
    model: np.ndarray
    paydex_risk: np.ndarray
    late_ratio: np.ndarray
    invoice_only: np.ndarray
    customers: np.ndarray
    metrics: dict[str, Any] = field(default_factory=dict)


def next_quarter(cutoff: date) -> date:
    month = cutoff.month + 3
    return date(cutoff.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def load_examples(path: Path = DATA_FILE) -> tuple[ReceivablesDataset, list[Example]]:
    dataset = load_ibm_receivables(path)
    return dataset, build_examples(dataset)


def fast_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    positives = labels.sum()
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> float:
    index = np.minimum((probabilities * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += abs(labels[mask].mean() - probabilities[mask].mean()) * mask.sum()
    return float(total / labels.size)


def reliability_table(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, Any]]:
    index = np.minimum((probabilities * bins).astype(int), bins - 1)
    rows: list[dict[str, Any]] = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                    "n": int(mask.sum()),
                    "mean_predicted": float(probabilities[mask].mean()),
                    "observed": float(labels[mask].mean()),
                }
            )
    return rows


def clustered_bootstrap(
    labels: np.ndarray, customers: np.ndarray, scores: dict[str, np.ndarray], resamples: int, seed: int
) -> dict[str, list[float]]:
    """Resample customers with replacement (whole payment histories), recompute AUC; also AUC differences."""
    rng = np.random.default_rng(seed)
    unique = np.unique(customers)
    rows_by_customer = [np.flatnonzero(customers == customer) for customer in unique]
    samples: dict[str, list[float]] = {name: [] for name in scores}
    samples["model_minus_paydex"] = []
    for _ in range(resamples):
        picked = rng.integers(0, unique.size, unique.size)
        rows = np.concatenate([rows_by_customer[i] for i in picked])
        y = labels[rows]
        values = {name: fast_auc(y, score[rows]) for name, score in scores.items()}
        for name, value in values.items():
            samples[name].append(value)
        if "model" in values and "paydex" in values:
            samples["model_minus_paydex"].append(values["model"] - values["paydex"])
    return samples


def interval(samples: list[float]) -> list[float]:
    values = np.array([s for s in samples if not np.isnan(s)])
    if values.size == 0:
        return [float("nan"), float("nan")]
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def invoice_only_scores(examples: list[Example], dataset: ReceivablesDataset, cutoff: date, test: list[Example]):
    """Protocol baseline: logistic regression on invoice fields known at issuance only (no history)."""
    facts = {row.fact.invoice_id: row for row in dataset.invoices}
    countries = sorted({profile.country or "" for profile in dataset.profiles.values()})

    def row(ex: Example) -> list[float]:
        fact = facts[ex.invoice_id].fact
        electronic = ex.snapshot.values.get("electronic_billing") or 0.0
        country = dataset.profiles[ex.customer_id].country or ""
        return [
            fact.amount / 100.0,
            electronic,
            *[1.0 if fact.issue_date.month == m else 0.0 for m in range(1, 12)],
            *[1.0 if fact.due_date.weekday() == d else 0.0 for d in range(6)],
            *[1.0 if country == c else 0.0 for c in countries[1:]],
        ]

    train_rows = labelled_before(examples, cutoff)
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(np.array([row(ex) for ex in train_rows]), np.array([ex.is_late for ex in train_rows]))
    return model.predict_proba(np.array([row(ex) for ex in test]))[:, 1]


def evaluate_split(
    name: str,
    cutoff: date,
    test_end: date | None,
    dataset: ReceivablesDataset,
    examples: list[Example],
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> SplitResult:
    run = run_benchmark(examples, cutoff)
    by_id = {ex.invoice_id: ex for ex in examples}
    predictions = [p for p in run.predictions if test_end is None or p.issue_date < test_end]
    test = [by_id[p.invoice_id] for p in predictions]
    labels = np.array([p.is_late for p in predictions], dtype=bool)
    model = np.array([p.probability_late for p in predictions])
    paydex = np.array([run.paydex_risk(p) for p in predictions])
    train_late = np.mean([ex.is_late for ex in labelled_before(examples, cutoff)])
    late_ratio = np.array(
        [
            ex.snapshot.values["late_share"] if ex.snapshot.values.get("late_share") is not None else train_late
            for ex in test
        ]
    )
    invoice_only = invoice_only_scores(examples, dataset, cutoff, test)
    customers = np.array([p.customer_id for p in predictions])
    result = SplitResult(name, cutoff, test_end, run, labels, model, paydex, late_ratio, invoice_only, customers)
    scores = {"model": model, "paydex": paydex, "late_ratio": late_ratio, "invoice_only": invoice_only}
    boot = clustered_bootstrap(labels, customers, scores, resamples, SEED + cutoff.toordinal())
    top = max(1, round(0.2 * labels.size))
    flagged = np.argsort(-model, kind="stable")[:top]
    flagged_paydex = np.argsort(-paydex, kind="stable")[:top]
    result.metrics = {
        "n": int(labels.size),
        "late_share": float(labels.mean()),
        "train_n": int(run.params["training"]["examples"]),
        "customers": int(np.unique(customers).size),
        "no_history": int(sum(1 for p in predictions if p.source == "prior")),
        "chosen": run.params["training"]["selection"]["chosen"],
        "auc": {key: fast_auc(labels, value) for key, value in scores.items()},
        "auc_ci": {key: interval(boot[key]) for key in scores},
        "auc_diff": float(fast_auc(labels, model) - fast_auc(labels, paydex)),
        "auc_diff_ci": interval(boot["model_minus_paydex"]),
        "pr_auc": {key: float(average_precision_score(labels, value)) for key, value in scores.items()},
        "brier": float(brier_score_loss(labels, model)),
        "log_loss": float(log_loss(labels, model, labels=[False, True])),
        "ece": expected_calibration_error(labels, model),
        "mean_predicted": float(model.mean()),
        "precision_top20": float(labels[flagged].mean()),
        "recall_top20": float(labels[flagged].sum() / max(1, labels.sum())),
        "precision_top20_paydex": float(labels[flagged_paydex].mean()),
        "recall_top20_paydex": float(labels[flagged_paydex].sum() / max(1, labels.sum())),
        "reliability": reliability_table(labels, model),
    }
    return result


def customer_level(split: SplitResult, examples: list[Example], dataset: ReceivablesDataset) -> dict[str, Any]:
    """Customer scores at the cutoff vs their late share over the test window (protocol §7.5)."""
    model = HealthModel(split.run.params)
    facts = dataset.by_customer()
    rows: list[dict[str, Any]] = []
    for customer_id, invoices in facts.items():
        snapshot = compute_features([row.fact for row in invoices], dataset.profiles[customer_id], split.cutoff)
        assessment = assess_snapshot(snapshot, datetime(split.cutoff.year, split.cutoff.month, 1, tzinfo=UTC), model)
        upcoming = [row for row in invoices if row.fact.issue_date >= split.cutoff]
        rows.append(
            {
                "customer_id": customer_id,
                "score": assessment.score,
                "band": assessment.band,
                "source": assessment.source,
                "paydex": snapshot.values.get("paydex"),
                "future_n": len(upcoming),
                "future_late_share": (sum(r.is_late for r in upcoming) / len(upcoming)) if upcoming else None,
            }
        )
    scored = [r for r in rows if r["future_n"] >= 3]
    scores = np.array([r["score"] for r in scored], dtype=float)
    paydex = np.array([r["paydex"] if r["paydex"] is not None else 80.0 for r in scored])
    future = np.array([r["future_late_share"] for r in scored], dtype=float)
    bad = future > 0.5
    bands: dict[str, dict[str, float]] = {}
    for band in ("healthy", "watch", "at_risk"):
        members = [r for r in scored if r["band"] == band]
        all_members = [r for r in rows if r["band"] == band]
        bands[band] = {
            "customers": len(all_members),
            "with_future": len(members),
            "future_late_share": float(np.mean([r["future_late_share"] for r in members])) if members else float("nan"),
        }
    return {
        "rows": rows,
        "evaluated": len(scored),
        "spearman_model": float(spearmanr(-scores, future).statistic),
        "spearman_paydex": float(spearmanr(-paydex, future).statistic),
        "bad_customers": int(bad.sum()),
        "bad_auc_model": float(roc_auc_score(bad, -scores)) if 0 < bad.sum() < bad.size else float("nan"),
        "bad_auc_paydex": float(roc_auc_score(bad, -paydex)) if 0 < bad.sum() < bad.size else float("nan"),
        "bands": bands,
    }
