"""Pure-Python training of the health model (no numpy/scikit-learn, so the benchmark CLI runs on the layer alone).

Recipe, fixed before looking at any test fold:

* one example per invoice whose outcome is known before the label cutoff (``SettledDate < cutoff``), with the
  customer's as-of features at that invoice's issue date; examples without settled history feed the prior;
* L2-regularised logistic regression (Newton/IRLS) on standardised features; the PAYDEX-style score is an
  unpenalised anchor, so heavy regularisation falls back to a monotone recalibration of the baseline;
* the fitted model is stacked with the calibrated PAYDEX-only fit in logit space,
  ``log_odds = (1 - w) * paydex_only + w * model``; because both are linear in the same standardised inputs the
  blend folds back into one set of coefficients (same parameter format, same pure-Python scoring and factors);
* the feature set, L2 strength and blend weight ``w`` are chosen together by inner time-based validation inside the
  training period only (validation invoices issued in the last quarter/half-year before the cutoff, labels also
  known before it). Among candidates within ``SELECTION_TOLERANCE`` AUC of the best inner AUC the one with the most
  baseline wins (smallest ``w``, ``w = 0`` being the PAYDEX-only fit), then the most regularised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import repeat
from operator import add, mul
from typing import Any, cast

from arsync.health.dataset import LabelledInvoice, ReceivablesDataset
from arsync.health.features import FEATURE_LABELS, FeatureSnapshot, compute_features
from arsync.health.metrics import roc_auc
from arsync.health.model import PROFILE_FEATURE, PROFILE_FEATURE_LABEL, HealthModel, logit, normalise_category


def _sum_of_products(left: Sequence[float], right: Sequence[float]) -> float:
    """Dot product; math.sumprod (3.12+) is several times faster than the 3.11 fallback."""
    return sum(map(mul, left, right))


_sumprod = getattr(math, "sumprod", None)
dot = cast(Callable[[Sequence[float], Sequence[float]], float], _sumprod) if _sumprod else _sum_of_products

ANCHOR_FEATURE = "paydex"
CORE_FEATURES: tuple[str, ...] = (
    "paydex",
    "late_share",
    "average_days_late",
    "recent_late_share",
    "lateness_trend",
    "closed_count_log",
    "overdue_count",
    "max_days_overdue",
)
FULL_FEATURES: tuple[str, ...] = (*FEATURE_LABELS, PROFILE_FEATURE)
BASELINE_SET = "paydex_only"
BASELINE_CANDIDATE_L2 = 0.0
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    BASELINE_SET: (ANCHOR_FEATURE,),
    "core": CORE_FEATURES,
    "full": FULL_FEATURES,
}
L2_GRID: tuple[float, ...] = (10000.0, 3000.0, 1000.0, 300.0, 100.0, 30.0, 10.0, 3.0)
# Direction each input must push P(late) for its factor explanation to read sensibly (+1 = more late risk as the
# value grows, -1 = less). Fixed from domain meaning, not from data; inputs that violate it are dropped and refit.
EXPECTED_SIGNS: dict[str, int] = {
    "paydex": -1,
    "weighted_days_beyond_terms": 1,
    "late_share": 1,
    "late_amount_share": 1,
    "average_days_late": 1,
    "max_days_late": 1,
    "recent_late_share": 1,
    "recent_days_late": 1,
    "lateness_trend": 1,
    "last_invoice_late": 1,
    "overdue_count": 1,
    "overdue_amount_ratio": 1,
    "max_days_overdue": 1,
    "dispute_share": 1,
    PROFILE_FEATURE: 1,
}
# Weight on the fitted model in the logit-space stack with the PAYDEX-only fit (0 = baseline alone, which is the
# ``paydex_only`` candidate; 1 = the model alone).
BLEND_WEIGHTS: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
INNER_VALIDATION_OFFSETS_DAYS: tuple[int, ...] = (91, 182)
SELECTION_TOLERANCE = 0.001
MIN_INNER_TRAIN = 150
MIN_INNER_VALIDATION = 60
PRIOR_BASE_PSEUDOCOUNT = 20.0
PRIOR_CATEGORY_PSEUDOCOUNT = 100.0
MODEL_FAMILY = "l2-logistic-paydex-anchor-stacked"


@dataclass(frozen=True, slots=True)
class Example:
    """One invoice seen at its issue date: as-of features plus the outcome."""

    customer_id: str
    invoice_id: str
    issue_date: date
    settled_date: date | None
    is_late: bool
    snapshot: FeatureSnapshot


@dataclass(frozen=True, slots=True)
class Candidate:
    """A design: feature set, L2 strength and the blend weight on the model (1 - blend goes to PAYDEX-only)."""

    feature_set: str
    l2: float
    blend: float = 1.0

    @property
    def key(self) -> str:
        if self.feature_set == BASELINE_SET:
            return f"{self.feature_set}@l2={self.l2:g}"
        return f"{self.feature_set}@l2={self.l2:g}*w={self.blend:g}"


@dataclass
class SelectionReport:
    """What inner validation saw; stored in the parameter file so the choice can be audited."""

    inner_cutoffs: list[str] = field(default_factory=list)
    inner_auc: dict[str, float] = field(default_factory=dict)
    chosen: str = ""
    note: str = ""


def build_examples(dataset: ReceivablesDataset) -> list[Example]:
    """As-of features for every invoice at its own issue date (each customer's full ledger is masked per date)."""
    examples: list[Example] = []
    for customer_id, rows in dataset.by_customer().items():
        facts = [row.fact for row in rows]
        profile = dataset.profiles[customer_id]
        for row in rows:
            examples.append(_example(customer_id, row, compute_features(facts, profile, row.fact.issue_date)))
    examples.sort(key=lambda example: (example.issue_date, example.invoice_id))
    return examples


def _example(customer_id: str, row: LabelledInvoice, snapshot: FeatureSnapshot) -> Example:
    return Example(
        customer_id=customer_id,
        invoice_id=row.fact.invoice_id,
        issue_date=row.fact.issue_date,
        settled_date=row.fact.settled_date,
        is_late=row.is_late,
        snapshot=snapshot,
    )


def labelled_before(examples: Sequence[Example], cutoff: date) -> list[Example]:
    """Examples whose outcome was observable before ``cutoff`` (the only legal training labels)."""
    return [ex for ex in examples if ex.settled_date is not None and ex.settled_date < cutoff]


# --- prior for customers without history -------------------------------------------------------------------


def estimate_prior(examples: Sequence[Example]) -> dict[str, Any]:
    """First-invoice base rate plus shrunk log-odds adjustments per profile category seen in training."""
    total = len(examples)
    late = sum(1 for ex in examples if ex.is_late)
    overall_rate = (late + 1.0) / (total + 2.0)
    no_history = [ex for ex in examples if not ex.snapshot.has_history]
    base_rate = (sum(1 for ex in no_history if ex.is_late) + PRIOR_BASE_PSEUDOCOUNT * overall_rate) / (
        len(no_history) + PRIOR_BASE_PSEUDOCOUNT
    )
    adjustments: dict[str, dict[str, float]] = {}
    for attribute in ("company_type", "country", "industry", "size"):
        counts: dict[str, list[int]] = {}
        for ex in examples:
            key = normalise_category(getattr(ex.snapshot.profile, attribute))
            if key is not None:
                tally = counts.setdefault(key, [0, 0])
                tally[0] += 1
                tally[1] += 1 if ex.is_late else 0
        adjustments[attribute] = {
            key: round(
                logit((hits + PRIOR_CATEGORY_PSEUDOCOUNT * overall_rate) / (n + PRIOR_CATEGORY_PSEUDOCOUNT))
                - logit(overall_rate),
                6,
            )
            for key, (n, hits) in sorted(counts.items())
        }
    return {
        "base_log_odds": round(logit(base_rate), 6),
        "overall_log_odds": round(logit(overall_rate), 6),
        "base_rate": round(base_rate, 6),
        "overall_rate": round(overall_rate, 6),
        "no_history_examples": len(no_history),
        "examples": total,
        "adjustments": adjustments,
        "pseudocounts": {"base": PRIOR_BASE_PSEUDOCOUNT, "category": PRIOR_CATEGORY_PSEUDOCOUNT},
    }


# --- logistic regression -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Standardiser:
    names: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]


def raw_matrix(examples: Sequence[Example], names: Sequence[str], prior: dict[str, Any]) -> list[list[float | None]]:
    """Column-major raw values (None = unknown) for the named features."""
    scratch = HealthModel(_params_shell(names, prior))
    rows = [scratch.vector(ex.snapshot) for ex in examples]
    return [[row[j] for row in rows] for j in range(len(names))]


def fit_standardiser(columns: Sequence[Sequence[float | None]], names: Sequence[str]) -> Standardiser:
    means: list[float] = []
    scales: list[float] = []
    for column in columns:
        known = [value for value in column if value is not None]
        mean = sum(known) / len(known) if known else 0.0
        variance = sum((value - mean) ** 2 for value in known) / len(known) if known else 0.0
        means.append(mean)
        scales.append(math.sqrt(variance) if variance > 1e-12 else 1.0)
    return Standardiser(tuple(names), tuple(means), tuple(scales))


def standardise(columns: Sequence[Sequence[float | None]], standardiser: Standardiser) -> list[list[float]]:
    """Unknown values become 0 after standardising, i.e. they are imputed with the training mean."""
    return [
        [0.0 if value is None else (value - mean) / scale for value in column]
        for column, mean, scale in zip(columns, standardiser.means, standardiser.scales, strict=True)
    ]


def fit_logistic(
    columns: Sequence[Sequence[float]],
    labels: Sequence[float],
    l2: float,
    penalised: Sequence[bool],
    start: Sequence[float] | None = None,
    max_iterations: int = 100,
    tolerance: float = 1e-5,
) -> list[float]:
    """Newton/IRLS for L2-penalised logistic regression; returns [intercept, *coefficients].

    Column-major arithmetic with ``sum(map(mul, ...))`` keeps a fit on ~2k rows x ~20 features well under 0.1 s.
    """
    n = len(labels)
    ones = [1.0] * n
    design = [ones, *columns]
    size = len(design)
    penalty = [0.0] + [l2 if flag else 0.0 for flag in penalised]
    beta = list(start) if start is not None else [0.0] * size

    def objective(coefficients: Sequence[float]) -> tuple[float, list[float]]:
        log_odds = _linear(design, coefficients, n)
        loss = 0.0
        for z, y in zip(log_odds, labels, strict=True):
            # log(1 + e^z) - y z, computed stably
            loss += (z if z > 0 else 0.0) + math.log1p(math.exp(-abs(z))) - y * z
        loss += 0.5 * sum(p * b * b for p, b in zip(penalty, coefficients, strict=True))
        return loss, log_odds

    loss, log_odds = objective(beta)
    for _ in range(max_iterations):
        probabilities = [_sigmoid(z) for z in log_odds]
        residuals = [p - y for p, y in zip(probabilities, labels, strict=True)]
        weights = [p * (1.0 - p) for p in probabilities]
        gradient = [dot(column, residuals) + pen * b for column, pen, b in zip(design, penalty, beta, strict=True)]
        weighted = [list(map(mul, column, weights)) for column in design]
        hessian = [[0.0] * size for _ in range(size)]
        for j in range(size):
            for k in range(j, size):
                value = dot(weighted[j], design[k])
                hessian[j][k] = value
                hessian[k][j] = value
            hessian[j][j] += penalty[j] + 1e-10
        step = _solve(hessian, gradient)
        scale = 1.0
        while True:
            candidate = [b - scale * s for b, s in zip(beta, step, strict=True)]
            candidate_loss, candidate_log_odds = objective(candidate)
            if candidate_loss <= loss + 1e-12 or scale < 1e-6:
                break
            scale *= 0.5
        converged = max(abs(scale * s) for s in step) < tolerance
        beta, loss, log_odds = candidate, candidate_loss, candidate_log_odds
        if converged:
            break
    return beta


def fit_sign_constrained(
    names: Sequence[str],
    columns: Sequence[Sequence[float]],
    labels: Sequence[float],
    l2: float,
    penalised: Sequence[bool],
    start: Sequence[float] | None = None,
) -> list[float]:
    """Fit, then drop inputs whose coefficient contradicts EXPECTED_SIGNS and refit until none do.

    Correlated lateness measures otherwise split into opposite-signed pairs, which would show users factors such
    as "more days late improves the score". Dropped inputs keep a zero coefficient.
    """
    active = list(range(len(names)))
    current = list(start) if start is not None else None
    while True:
        initial = None if current is None else [current[0], *(current[1 + j] for j in active)]
        fitted = fit_logistic([columns[j] for j in active], labels, l2, [penalised[j] for j in active], start=initial)
        beta = [fitted[0]] + [0.0] * len(names)
        for position, j in enumerate(active):
            beta[1 + j] = fitted[1 + position]
        violating = [j for j in active if beta[1 + j] * EXPECTED_SIGNS.get(names[j], 0) < 0]
        if not violating:
            return beta
        active.remove(min(violating, key=lambda j: beta[1 + j] * EXPECTED_SIGNS[names[j]]))
        current = beta


def _linear(design: Sequence[Sequence[float]], beta: Sequence[float], n: int) -> list[float]:
    totals = [0.0] * n
    for column, coefficient in zip(design, beta, strict=True):
        if coefficient != 0.0:
            totals = list(map(add, totals, map(mul, column, repeat(coefficient, n))))
    return totals


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the Hessian is small and positive definite)."""
    size = len(vector)
    augmented = [[*row, value] for row, value in zip(matrix, vector, strict=True)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(augmented[r][col]))
        augmented[col], augmented[pivot] = augmented[pivot], augmented[col]
        pivot_value = augmented[col][col]
        for row in range(col + 1, size):
            factor = augmented[row][col] / pivot_value
            if factor:
                augmented[row] = [a - factor * b for a, b in zip(augmented[row], augmented[col], strict=True)]
    solution = [0.0] * size
    for row in range(size - 1, -1, -1):
        residual = augmented[row][size] - sum(augmented[row][k] * solution[k] for k in range(row + 1, size))
        solution[row] = residual / augmented[row][row]
    return solution


# --- candidates, selection, final fit ------------------------------------------------------------------------


def candidates() -> list[Candidate]:
    """Every design, in tie-break order: most baseline first (smallest blend weight), then most regularised.

    The first entry is the PAYDEX-only fit (blend weight 0); earlier candidates win ties.
    """
    ordered = [Candidate(BASELINE_SET, BASELINE_CANDIDATE_L2, 0.0)]
    for blend in BLEND_WEIGHTS:
        for name in ("core", "full"):
            ordered.extend(Candidate(name, l2, blend) for l2 in L2_GRID)
    return ordered


def _candidate_paths() -> list[tuple[str, list[float]]]:
    """Each stacked feature set with its L2 path (the baseline is fitted separately)."""
    paths: dict[str, list[float]] = {}
    for candidate in candidates():
        if candidate.feature_set != BASELINE_SET and candidate.l2 not in paths.get(candidate.feature_set, []):
            paths.setdefault(candidate.feature_set, []).append(candidate.l2)
    return list(paths.items())


def fit_candidates(
    examples: Sequence[Example], feature_set: str, l2_values: Sequence[float], prior: dict[str, Any]
) -> list[dict[str, Any]]:
    """Fit one feature set along an L2 path (warm-started, strongest penalty first); one parameter mapping each.

    These are the unblended components; :func:`blend_params` stacks one with the PAYDEX-only fit.
    """
    with_history = [ex for ex in examples if ex.snapshot.has_history]
    names = FEATURE_SETS[feature_set]
    raw = raw_matrix(with_history, names, prior)
    standardiser = fit_standardiser(raw, names)
    columns = standardise(raw, standardiser)
    labels = [1.0 if ex.is_late else 0.0 for ex in with_history]
    penalised = [name != ANCHOR_FEATURE for name in names]
    fitted: list[dict[str, Any]] = []
    beta: list[float] | None = None
    for l2 in l2_values:
        beta = fit_sign_constrained(names, columns, labels, l2, penalised, start=beta)
        params = _params_shell(names, prior)
        params["intercept"] = beta[0]
        params["features"] = [
            {"name": name, "label": _label(name), "mean": mean, "scale": scale, "coefficient": coefficient}
            for name, mean, scale, coefficient in zip(
                names, standardiser.means, standardiser.scales, beta[1:], strict=True
            )
        ]
        params["training"] = {
            "family": MODEL_FAMILY,
            "feature_set": feature_set,
            "l2": l2,
            "blend": 0.0 if feature_set == BASELINE_SET else 1.0,
            "examples_with_history": len(with_history),
            "late_share": sum(labels) / len(labels) if labels else None,
        }
        fitted.append(params)
    return fitted


def blend_params(model: dict[str, Any], baseline: dict[str, Any], blend: float) -> dict[str, Any]:
    """Fold ``(1 - blend) * baseline + blend * model`` (log-odds) into one parameter mapping.

    Both fits standardise the PAYDEX input with the same training rows, so the stack is again a logistic model on
    the model's inputs: every coefficient is scaled by ``blend`` and the baseline's PAYDEX weight and intercept are
    added with ``1 - blend``. Signs are preserved (both PAYDEX weights are negative), so explanations stay valid.
    """
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend weight {blend} outside [0, 1]")
    if [term["name"] for term in baseline["features"]] != [ANCHOR_FEATURE]:
        raise ValueError("the baseline must be the PAYDEX-only fit")
    anchor = baseline["features"][0]
    blended = dict(model)
    blended["intercept"] = blend * model["intercept"] + (1.0 - blend) * baseline["intercept"]
    features: list[dict[str, Any]] = []
    for term in model["features"]:
        coefficient = blend * term["coefficient"]
        if term["name"] == ANCHOR_FEATURE:
            if not (
                math.isclose(term["mean"], anchor["mean"], rel_tol=1e-12, abs_tol=1e-12)
                and math.isclose(term["scale"], anchor["scale"], rel_tol=1e-12)
            ):
                raise ValueError("model and baseline were standardised on different rows")
            coefficient += (1.0 - blend) * anchor["coefficient"]
        features.append({**term, "coefficient": coefficient})
    blended["features"] = features
    blended["training"] = {**model["training"], "blend": blend}
    return blended


def fit_candidate(examples: Sequence[Example], candidate: Candidate, prior: dict[str, Any]) -> dict[str, Any]:
    """Fit a single candidate (component and, unless it is the baseline itself, the stack) on ``examples``."""
    baseline = fit_candidates(examples, BASELINE_SET, [BASELINE_CANDIDATE_L2], prior)[0]
    if candidate.feature_set == BASELINE_SET:
        return baseline
    model = fit_candidates(examples, candidate.feature_set, [candidate.l2], prior)[0]
    return blend_params(model, baseline, candidate.blend)


def _validation_log_odds(params: dict[str, Any], validation: Sequence[Example]) -> list[float]:
    model = HealthModel(params)
    return [model.log_odds(model.vector(ex.snapshot)) for ex in validation]


def choose(
    inner_auc: dict[str, float], ordered: Sequence[Candidate], tolerance: float = SELECTION_TOLERANCE
) -> Candidate:
    """First candidate (most baseline, then most regularised) within ``tolerance`` of the best mean inner AUC."""
    best = max(inner_auc[c.key] for c in ordered)
    return next(c for c in ordered if inner_auc[c.key] >= best - tolerance)


def select_candidate(examples: Sequence[Example], cutoff: date) -> tuple[Candidate, SelectionReport]:
    """Inner time-based validation using only labels known before ``cutoff``."""
    report = SelectionReport()
    scores: dict[str, list[float]] = {}
    for offset in INNER_VALIDATION_OFFSETS_DAYS:
        inner_cutoff = cutoff - timedelta(days=offset)
        inner_train = labelled_before(examples, inner_cutoff)
        validation = [
            ex for ex in labelled_before(examples, cutoff) if inner_cutoff <= ex.issue_date and ex.snapshot.has_history
        ]
        positives = sum(1 for ex in validation if ex.is_late)
        if (
            sum(1 for ex in inner_train if ex.snapshot.has_history) < MIN_INNER_TRAIN
            or len(validation) < MIN_INNER_VALIDATION
            or positives in (0, len(validation))
        ):
            continue
        report.inner_cutoffs.append(inner_cutoff.isoformat())
        prior = estimate_prior(inner_train)
        labels = [ex.is_late for ex in validation]
        baseline = fit_candidates(inner_train, BASELINE_SET, [BASELINE_CANDIDATE_L2], prior)[0]
        baseline_log_odds = _validation_log_odds(baseline, validation)
        scores.setdefault(Candidate(BASELINE_SET, BASELINE_CANDIDATE_L2, 0.0).key, []).append(
            roc_auc(labels, baseline_log_odds)
        )
        for feature_set, l2_values in _candidate_paths():
            path = fit_candidates(inner_train, feature_set, l2_values, prior)
            for l2, params in zip(l2_values, path, strict=True):
                model_log_odds = _validation_log_odds(params, validation)
                for blend in BLEND_WEIGHTS:
                    stacked = [
                        (1.0 - blend) * b + blend * m for b, m in zip(baseline_log_odds, model_log_odds, strict=True)
                    ]
                    scores.setdefault(Candidate(feature_set, l2, blend).key, []).append(roc_auc(labels, stacked))
    ordered = candidates()
    if not scores:
        report.chosen = ordered[0].key
        report.note = "not enough labelled history for inner validation; fell back to the PAYDEX-only fit"
        return ordered[0], report
    report.inner_auc = {key: sum(values) / len(values) for key, values in scores.items()}
    chosen = choose(report.inner_auc, ordered)
    report.chosen = chosen.key
    best = max(report.inner_auc.values())
    report.note = (
        f"within {SELECTION_TOLERANCE} of the best inner AUC ({best:.4f}): most baseline (smallest blend weight), "
        "then most regularised"
    )
    return chosen, report


def train(examples: Sequence[Example], cutoff: date, model_version: str = "benchmark") -> dict[str, Any]:
    """Full recipe for one label cutoff: select on inner folds, then refit on every label known before it."""
    training_examples = labelled_before(examples, cutoff)
    candidate, report = select_candidate(examples, cutoff)
    prior = estimate_prior(training_examples)
    params = fit_candidate(training_examples, candidate, prior)
    params["model_version"] = model_version
    params["training"].update(
        {
            "label_cutoff": cutoff.isoformat(),
            "examples": len(training_examples),
            "selection": {
                "inner_cutoffs": report.inner_cutoffs,
                "chosen": report.chosen,
                "rule": report.note,
                "inner_auc": {key: round(value, 5) for key, value in report.inner_auc.items()},
            },
        }
    )
    return params


def _label(name: str) -> str:
    return PROFILE_FEATURE_LABEL if name == PROFILE_FEATURE else FEATURE_LABELS[name]


def _params_shell(names: Sequence[str], prior: dict[str, Any]) -> dict[str, Any]:
    """A parameter mapping with neutral coefficients: enough for HealthModel.vector() and the prior."""
    return {
        "model_version": "unfitted",
        "intercept": 0.0,
        "features": [
            {"name": name, "label": _label(name), "mean": 0.0, "scale": 1.0, "coefficient": 0.0} for name in names
        ],
        "prior": prior,
    }
