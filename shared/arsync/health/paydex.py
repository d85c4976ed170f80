"""PAYDEX-style baseline: D&B's days-beyond-terms key mapped to a 0-100 score.

D&B publishes anchor points (docs.dnb.com PAYDEX key); piecewise-linear interpolation between them reproduces
every readable point of their value chart, so we use it as the interpretable baseline and as a model input.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

# (days beyond terms, PAYDEX) – negative days = paid before the due date.
PAYDEX_ANCHORS: tuple[tuple[float, float], ...] = (
    (-30.0, 100.0),
    (-20.0, 90.0),
    (0.0, 80.0),
    (15.0, 70.0),
    (22.0, 60.0),
    (30.0, 50.0),
    (60.0, 40.0),
    (90.0, 30.0),
    (120.0, 20.0),
)

# D&B weights payment experiences from the last 24 months only.
PAYDEX_WINDOW_DAYS = 730


def paydex_from_days_beyond_terms(days_beyond_terms: float) -> float:
    """Map amount-weighted days beyond terms to PAYDEX, clamped to the outermost anchors (100 and 20)."""
    first_days, first_score = PAYDEX_ANCHORS[0]
    if days_beyond_terms <= first_days:
        return first_score
    for (left_days, left_score), (right_days, right_score) in pairwise(PAYDEX_ANCHORS):
        if days_beyond_terms <= right_days:
            fraction = (days_beyond_terms - left_days) / (right_days - left_days)
            return left_score + fraction * (right_score - left_score)
    return PAYDEX_ANCHORS[-1][1]


def amount_weighted_days_beyond_terms(payments: Iterable[tuple[float, float]]) -> float | None:
    """Dollar-weighted mean of (days beyond terms, amount) pairs; None when there is nothing to weigh."""
    weighted_sum = 0.0
    total_amount = 0.0
    for days_beyond_terms, amount in payments:
        weight = abs(amount)
        weighted_sum += days_beyond_terms * weight
        total_amount += weight
    if total_amount <= 0.0:
        return None
    return weighted_sum / total_amount


def paydex_band(paydex: float) -> str:
    """D&B's own risk reading of a PAYDEX: 80-100 low, 50-79 medium, 0-49 high."""
    if paydex >= 80.0:
        return "low"
    if paydex >= 50.0:
        return "medium"
    return "high"
