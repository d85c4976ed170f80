"""Small pure-Python metrics used for model selection inside training (the report uses numpy for the rest)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def roc_auc(labels: Sequence[bool | int], scores: Sequence[float]) -> float:
    """Mann-Whitney ROC-AUC with tied scores counted as half; NaN when only one class is present."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    positives = sum(1 for _, label in pairs if label)
    negatives = len(pairs) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    rank_sum = 0.0
    index = 0
    while index < len(pairs):
        end = index
        while end + 1 < len(pairs) and pairs[end + 1][0] == pairs[index][0]:
            end += 1
        average_rank = (index + end) / 2.0 + 1.0
        rank_sum += average_rank * sum(1 for _, label in pairs[index : end + 1] if label)
        index = end + 1
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def log_loss(labels: Sequence[bool | int], probabilities: Sequence[float]) -> float:
    total = 0.0
    for label, probability in zip(labels, probabilities, strict=True):
        clipped = min(max(probability, 1e-12), 1.0 - 1e-12)
        total -= math.log(clipped) if label else math.log(1.0 - clipped)
    return total / len(labels)


def expected_calibration_error(labels: Sequence[bool | int], probabilities: Sequence[float], bins: int = 10) -> float:
    """ECE with equal-width probability bins: the count-weighted mean |observed rate - mean prediction|."""
    sums = [0.0] * bins
    hits = [0.0] * bins
    counts = [0] * bins
    for label, probability in zip(labels, probabilities, strict=True):
        index = min(int(probability * bins), bins - 1)
        sums[index] += probability
        hits[index] += 1.0 if label else 0.0
        counts[index] += 1
    total = len(labels)
    return sum(abs(hits[i] - sums[i]) for i in range(bins) if counts[i]) / total if total else math.nan
