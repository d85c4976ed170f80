"""`make health-model`: fit the shipped health model on every label in the project CSV and write the params file.

The fit is the same pure-Python recipe the benchmark CLI uses (arsync.health.training); scikit-learn is used
here only to cross-check the coefficients, and the main/rolling split metrics are stored as a summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from arsync.health.model import HealthModel
from arsync.health.training import (
    ANCHOR_FEATURE,
    BASELINE_CANDIDATE_L2,
    BASELINE_SET,
    Example,
    blend_params,
    fit_candidates,
    fit_standardiser,
    labelled_before,
    raw_matrix,
    standardise,
    train,
)
from tools.health.evaluation import (
    DATA_FILE,
    DATA_SHA256,
    MAIN_CUTOFF,
    PROJECT_ROOT,
    ROLLING_CUTOFFS,
    evaluate_split,
    load_examples,
    next_quarter,
)

# v1.1: same parameter format as v1.0; the coefficients are now a stack of the model and the PAYDEX-only fit.
MODEL_VERSION = "health-v1.1.0"
PARAMS_FILE = PROJECT_ROOT / "shared" / "arsync" / "health" / "params" / "health_model_v1.json"
REFERENCE_PREDICTION_COUNT = 8


def shipped_label_cutoff(examples: list[Example]) -> date:
    """The day after the last settlement in the file: every label is known."""
    return max(ex.settled_date for ex in examples if ex.settled_date is not None) + timedelta(days=1)


def _sklearn_gap(with_history: list[Example], component: dict[str, Any]) -> float:
    """Refit one unblended component with scikit-learn; the largest coefficient gap (standardised units).

    The PAYDEX anchor is unpenalised in our fit; sklearn penalises every column, so the anchor column is scaled up
    by 1e4 which makes its penalty negligible (the coefficient is scaled back afterwards).
    """
    # Inputs dropped by the sign constraint carry a zero coefficient; refit only the active ones.
    active_terms = [term for term in component["features"] if term["coefficient"] != 0.0]
    names = [term["name"] for term in active_terms]
    l2 = float(component["training"]["l2"])
    raw = raw_matrix(with_history, names, component["prior"])
    columns = np.array(standardise(raw, fit_standardiser(raw, names))).T
    boost = np.array([1e4 if name == ANCHOR_FEATURE else 1.0 for name in names])
    labels = np.array([ex.is_late for ex in with_history])
    if l2 == 0.0:
        reference = LogisticRegression(C=np.inf, solver="newton-cholesky", max_iter=10_000, tol=1e-12)
    else:
        reference = LogisticRegression(C=1.0 / l2, solver="newton-cholesky", max_iter=10_000, tol=1e-12)
    reference.fit(columns * boost, labels)
    sklearn_coefficients = reference.coef_[0] * boost
    ours = np.array([term["coefficient"] for term in active_terms])
    gap = np.max(np.abs(sklearn_coefficients - ours))
    return float(max(gap, abs(reference.intercept_[0] - component["intercept"])))


def sklearn_cross_check(examples: list[Example], params: dict[str, Any]) -> float:
    """Cross-check both stacked components against scikit-learn and the blend folding against the shipped numbers.

    Returns the largest gap found (coefficients in standardised units, or intercept).
    """
    label_cutoff = date.fromisoformat(params["training"]["label_cutoff"])
    training = labelled_before(examples, label_cutoff)
    with_history = [ex for ex in training if ex.snapshot.has_history]
    prior = params["prior"]
    baseline = fit_candidates(training, BASELINE_SET, [BASELINE_CANDIDATE_L2], prior)[0]
    gaps = [_sklearn_gap(with_history, baseline)]
    if params["training"]["feature_set"] == BASELINE_SET:
        stacked = baseline
    else:
        component = fit_candidates(training, params["training"]["feature_set"], [params["training"]["l2"]], prior)[0]
        gaps.append(_sklearn_gap(with_history, component))
        stacked = blend_params(component, baseline, float(params["training"]["blend"]))
    gaps.append(abs(stacked["intercept"] - params["intercept"]))
    gaps.extend(
        abs(ours["coefficient"] - shipped["coefficient"])
        for ours, shipped in zip(stacked["features"], params["features"], strict=True)
    )
    return max(gaps)


def reference_predictions(model: HealthModel, examples: list[Example]) -> list[dict[str, Any]]:
    """A few training-time predictions the tests reproduce from the file alone."""
    with_history = [ex for ex in examples if ex.snapshot.has_history]
    step = max(1, len(with_history) // REFERENCE_PREDICTION_COUNT)
    chosen = with_history[::step][:REFERENCE_PREDICTION_COUNT]
    return [
        {
            "invoice_id": ex.invoice_id,
            "as_of": ex.issue_date.isoformat(),
            "vector": dict(zip(model.feature_names, model.vector(ex.snapshot), strict=True)),
            "probability_late": model.predict(ex.snapshot),
        }
        for ex in chosen
    ]


def split_summary(dataset, examples) -> dict[str, Any]:
    main = evaluate_split("main", MAIN_CUTOFF, None, dataset, examples, resamples=500)
    rolling = [
        evaluate_split(f"rolling {cutoff}", cutoff, next_quarter(cutoff), dataset, examples, resamples=0)
        for cutoff in ROLLING_CUTOFFS
    ]

    def rounded(value: float) -> float:
        return round(value, 4)

    return {
        "main_split": {
            "cutoff": MAIN_CUTOFF.isoformat(),
            "test_invoices": main.metrics["n"],
            "auc_model": rounded(main.metrics["auc"]["model"]),
            "auc_paydex": rounded(main.metrics["auc"]["paydex"]),
            "auc_model_ci95_customer_bootstrap": [rounded(v) for v in main.metrics["auc_ci"]["model"]],
            "auc_paydex_ci95_customer_bootstrap": [rounded(v) for v in main.metrics["auc_ci"]["paydex"]],
            "ece": rounded(main.metrics["ece"]),
            "brier": rounded(main.metrics["brier"]),
        },
        "rolling_quarters": [
            {
                "cutoff": split.cutoff.isoformat(),
                "auc_model": rounded(split.metrics["auc"]["model"]),
                "auc_paydex": rounded(split.metrics["auc"]["paydex"]),
                "chosen": split.metrics["chosen"],
                "ece": rounded(split.metrics["ece"]),
            }
            for split in rolling
        ],
        "note": "each split retrains the same recipe on labels settled before its cutoff; see docs/health-model.md",
    }


def build_params(with_metrics: bool = True) -> dict[str, Any]:
    dataset, examples = load_examples(DATA_FILE)
    cutoff = shipped_label_cutoff(examples)
    params = train(examples, cutoff, model_version=MODEL_VERSION)
    model = HealthModel(params)
    digest = hashlib.sha256(Path(DATA_FILE).read_bytes()).hexdigest()
    if digest != DATA_SHA256:
        raise SystemExit(f"data file checksum {digest} does not match the documented {DATA_SHA256}")
    gap = sklearn_cross_check(examples, params)
    if not math.isfinite(gap) or gap > 1e-4:
        raise SystemExit(f"pure-Python fit disagrees with scikit-learn by {gap:.2e}")
    ordered: dict[str, Any] = {
        "schema_version": 1,
        "model_version": MODEL_VERSION,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "trained_on": {
            "dataset": "IBM Watson Analytics sample WA_Fn-UseC_-Accounts-Receivable",
            "path": "data/ibm-accounts-receivable.csv",
            "sha256": DATA_SHA256,
            "label_cutoff": cutoff.isoformat(),
            "examples": params["training"]["examples"],
            "target": "DaysLate > 0 (settled after the due date)",
        },
        "score": {
            "formula": "score = round(100 * (1 - probability_late))",
            "bands": {"healthy": ">= 70", "watch": "40-69", "at_risk": "< 40"},
        },
        "intercept": params["intercept"],
        "features": params["features"],
        "prior": params["prior"],
        "training": {**params["training"], "sklearn_max_coefficient_gap": gap},
        "metrics": split_summary(dataset, examples) if with_metrics else {},
        "reference_predictions": reference_predictions(model, examples),
    }
    return ordered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=PARAMS_FILE)
    args = parser.parse_args()
    params = build_params()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    chosen = params["training"]["selection"]["chosen"]
    print(f"wrote {args.out} ({params['model_version']}, {chosen}, {len(params['features'])} features)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
