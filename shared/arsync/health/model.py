"""Pure-Python inference for the health model: loads the versioned parameter file shipped in the layer.

The model is an L2-regularised logistic regression on standardised as-of features with the PAYDEX-style score
as an unpenalised anchor input, stacked in logit space with a PAYDEX-only fit (the stack is folded into one
intercept and one coefficient per input at training time). Customers without settled invoices get a prior from
their profile instead.
No numpy/scikit-learn here: Lambda imports this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from arsync.health.features import CustomerProfile, FeatureSnapshot

DEFAULT_PARAMS_FILE = "health_model_v1.json"
PROFILE_FEATURE = "profile_prior"
PROFILE_FEATURE_LABEL = "Company type and country (prior log-odds)"
PROFILE_ATTRIBUTES: tuple[str, ...] = ("company_type", "country", "industry", "size")
PROFILE_LABELS: dict[str, str] = {
    "company_type": "Company type",
    "country": "Country",
    "industry": "Industry",
    "size": "Company size",
}


@dataclass(frozen=True, slots=True)
class ModelTerm:
    """One model input. ``weight`` is the coefficient per raw unit (coefficient / scale)."""

    name: str
    label: str
    mean: float
    scale: float
    coefficient: float

    @property
    def weight(self) -> float:
        return self.coefficient / self.scale


def sigmoid(log_odds: float) -> float:
    """Logistic function, safe for large magnitudes."""
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    exp_value = math.exp(log_odds)
    return exp_value / (1.0 + exp_value)


def logit(probability: float) -> float:
    clipped = min(max(probability, 1e-9), 1.0 - 1e-9)
    return math.log(clipped / (1.0 - clipped))


def normalise_category(value: str | None) -> str | None:
    """Profile categories are matched case- and whitespace-insensitively."""
    if value is None:
        return None
    cleaned = value.strip().casefold()
    return cleaned or None


class HealthModel:
    """A loaded parameter file: logistic terms for customers with history, a prior for those without."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self.version: str = str(params["model_version"])
        self.intercept: float = float(params["intercept"])
        self.terms: tuple[ModelTerm, ...] = tuple(
            ModelTerm(
                name=str(term["name"]),
                label=str(term["label"]),
                mean=float(term["mean"]),
                scale=float(term["scale"]),
                coefficient=float(term["coefficient"]),
            )
            for term in params["features"]
        )
        self.feature_names: tuple[str, ...] = tuple(term.name for term in self.terms)
        # Precomputed (weight, mean) pairs keep the scoring loop tight.
        self.weights: tuple[float, ...] = tuple(term.weight for term in self.terms)
        self.means: tuple[float, ...] = tuple(term.mean for term in self.terms)
        prior = params["prior"]
        self.prior_base_log_odds: float = float(prior["base_log_odds"])
        self.profile_adjustments: dict[str, dict[str, float]] = {
            attribute: {
                str(key).casefold(): float(value) for key, value in prior["adjustments"].get(attribute, {}).items()
            }
            for attribute in PROFILE_ATTRIBUTES
        }
        self.overall_log_odds: float = float(prior.get("overall_log_odds", self.prior_base_log_odds))

    def profile_terms(self, profile: CustomerProfile) -> list[tuple[str, str, float]]:
        """(attribute, value, log-odds adjustment) for each profile attribute the prior table knows."""
        found: list[tuple[str, str, float]] = []
        for attribute in PROFILE_ATTRIBUTES:
            key = normalise_category(getattr(profile, attribute))
            if key is None:
                continue
            adjustment = self.profile_adjustments[attribute].get(key)
            if adjustment is not None:
                found.append((attribute, key, adjustment))
        return found

    def profile_log_odds(self, profile: CustomerProfile) -> float:
        """Sum of the profile's log-odds adjustments (0 for unknown or unseen categories)."""
        return sum(adjustment for _, _, adjustment in self.profile_terms(profile))

    def vector(self, snapshot: FeatureSnapshot) -> list[float | None]:
        """Model inputs in parameter-file order; None means unknown (mean-imputed, contributes nothing)."""
        values = snapshot.values
        vector: list[float | None] = []
        for name in self.feature_names:
            if name == PROFILE_FEATURE:
                vector.append(self.profile_log_odds(snapshot.profile))
            else:
                vector.append(values.get(name))
        return vector

    def log_odds(self, vector: Sequence[float | None]) -> float:
        total = self.intercept
        for weight, mean, value in zip(self.weights, self.means, vector, strict=True):
            if value is not None:
                total += weight * (value - mean)
        return total

    def probability_late(self, vector: Sequence[float | None]) -> float:
        """P(next invoice is paid after its due date) for a customer with payment history."""
        return sigmoid(self.log_odds(vector))

    def prior_probability_late(self, profile: CustomerProfile) -> float:
        """P(late) for a customer with no settled invoices: first-invoice base rate adjusted by profile."""
        return sigmoid(self.prior_base_log_odds + self.profile_log_odds(profile))

    def predict(self, snapshot: FeatureSnapshot) -> float:
        """The probability used everywhere: the model with history, the prior without."""
        if snapshot.has_history:
            return self.probability_late(self.vector(snapshot))
        return self.prior_probability_late(snapshot.profile)


def load_params(path: str | Path | None = None) -> dict[str, Any]:
    """Read a parameter file; the default is the one shipped inside the layer."""
    if path is None:
        text = resources.files("arsync.health").joinpath("params", DEFAULT_PARAMS_FILE).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    params: dict[str, Any] = json.loads(text)
    return params


@lru_cache(maxsize=1)
def default_model() -> HealthModel:
    """The shipped model, loaded once per Lambda container."""
    return HealthModel(load_params())
