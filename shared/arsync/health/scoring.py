"""Customer-level health assessment: score 0-100 (high = healthy), band, explained factors.

score = round(100 * (1 - probability_late)), where probability_late is the chance that the customer's next
invoice is paid after its due date. Bands: healthy >= 70, watch 40-69, at risk < 40 (see docs/health-model.md
for the evidence). Factor impacts are in score points relative to an average customer of the training data.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from arsync.health.features import CustomerProfile, FeatureSnapshot, InvoiceFact, compute_features
from arsync.health.model import PROFILE_LABELS, HealthModel, default_model, sigmoid

HEALTHY_MIN_SCORE = 70
WATCH_MIN_SCORE = 40
TOP_FACTOR_COUNT = 3

Band = Literal["healthy", "watch", "at_risk"]
Source = Literal["model", "prior"]
Direction = Literal["improves", "worsens"]


@dataclass(frozen=True, slots=True)
class HealthFactor:
    """One reason behind a score. ``impact`` is signed score points (negative = pulls the score down)."""

    name: str
    label: str
    value: float | str | None
    direction: Direction
    impact: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "value": self.value,
            "direction": self.direction,
            "impact": self.impact,
        }


@dataclass(frozen=True, slots=True)
class HealthAssessment:
    """What the product stores and shows for a customer's model score."""

    score: int
    band: Band
    probability_late: float
    source: Source
    model_version: str
    computed_at: datetime
    factors: list[HealthFactor] = field(default_factory=list)
    paydex: float | None = None
    settled_invoice_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "probability_late": self.probability_late,
            "source": self.source,
            "model_version": self.model_version,
            "computed_at": self.computed_at.isoformat(),
            "factors": [factor.to_dict() for factor in self.factors],
            "paydex": self.paydex,
            "settled_invoice_count": self.settled_invoice_count,
        }


def band_for(score: int) -> Band:
    if score >= HEALTHY_MIN_SCORE:
        return "healthy"
    if score >= WATCH_MIN_SCORE:
        return "watch"
    return "at_risk"


def score_for(probability_late: float) -> int:
    return round(100.0 * (1.0 - probability_late))


def as_of_for(computed_at: datetime) -> date:
    """Features at scoring time see the ledger as at the end of that day (same as 'before the next day')."""
    return computed_at.date() + timedelta(days=1)


def assess_customer(
    invoices: Iterable[InvoiceFact],
    profile: CustomerProfile,
    computed_at: datetime,
    model: HealthModel | None = None,
) -> HealthAssessment:
    """Score one customer from its ledger; the entry point for the scoring service."""
    snapshot = compute_features(invoices, profile, as_of_for(computed_at))
    return assess_snapshot(snapshot, computed_at, model)


def assess_snapshot(
    snapshot: FeatureSnapshot, computed_at: datetime, model: HealthModel | None = None
) -> HealthAssessment:
    """Score precomputed features: the model with payment history, the documented prior without."""
    model = model or default_model()
    if not snapshot.has_history:
        return assess_prior(snapshot.profile, computed_at, model, snapshot.open_count)
    paydex = snapshot.values.get("paydex")
    return assess_vector(model, model.vector(snapshot), computed_at, paydex, snapshot.closed_count)


def assess_vector(
    model: HealthModel,
    vector: Sequence[float | None],
    computed_at: datetime,
    paydex: float | None = None,
    settled_invoice_count: int = 0,
) -> HealthAssessment:
    """Hot path (measured by arsync.health.throughput): log-odds, score, band and the top factors."""
    log_odds = model.intercept
    contributions: list[tuple[float, int, float]] = []
    for index, (weight, mean, value) in enumerate(zip(model.weights, model.means, vector, strict=True)):
        if value is None:
            continue
        contribution = weight * (value - mean)
        log_odds += contribution
        if contribution:
            contributions.append((abs(contribution), index, contribution))
    probability = sigmoid(log_odds)
    score = score_for(probability)
    factors: list[HealthFactor] = []
    for _, index, contribution in heapq.nlargest(TOP_FACTOR_COUNT, contributions):
        term = model.terms[index]
        impact = round(100.0 * (sigmoid(log_odds - contribution) - probability), 1)
        value = vector[index]
        factors.append(
            HealthFactor(
                name=term.name,
                label=term.label,
                value=round(value, 3) if value is not None else None,
                direction="worsens" if contribution > 0 else "improves",
                impact=impact,
            )
        )
    return HealthAssessment(
        score=score,
        band=band_for(score),
        probability_late=round(probability, 4),
        source="model",
        model_version=model.version,
        computed_at=computed_at,
        factors=factors,
        paydex=round(paydex, 1) if paydex is not None else None,
        settled_invoice_count=settled_invoice_count,
    )


def assess_prior(
    profile: CustomerProfile, computed_at: datetime, model: HealthModel | None = None, open_count: int = 0
) -> HealthAssessment:
    """No settled invoices yet: first-invoice base rate adjusted by known profile categories (source='prior')."""
    model = model or default_model()
    probability = model.prior_probability_late(profile)
    log_odds = model.prior_base_log_odds + model.profile_log_odds(profile)
    factors = [
        HealthFactor(
            name=attribute,
            label=PROFILE_LABELS[attribute],
            value=value,
            direction="worsens" if adjustment > 0 else "improves",
            impact=round(100.0 * (sigmoid(log_odds - adjustment) - probability), 1),
        )
        for attribute, value, adjustment in model.profile_terms(profile)
        if adjustment
    ]
    factors.sort(key=lambda factor: abs(factor.impact), reverse=True)
    score = score_for(probability)
    return HealthAssessment(
        score=score,
        band=band_for(score),
        probability_late=round(probability, 4),
        source="prior",
        model_version=model.version,
        computed_at=computed_at,
        factors=factors[:TOP_FACTOR_COUNT],
        paydex=None,
        settled_invoice_count=0,
    )
