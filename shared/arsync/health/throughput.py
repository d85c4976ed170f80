"""Scoring throughput from precomputed features, callable by the benchmark suite (``measure(n)``)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from arsync.health.model import HealthModel, default_model
from arsync.health.scoring import assess_vector

TARGET_CUSTOMERS_PER_SECOND = 20_000


@dataclass(frozen=True, slots=True)
class ThroughputResult:
    customers: int
    seconds: float

    @property
    def customers_per_second(self) -> float:
        return self.customers / self.seconds if self.seconds > 0 else float("inf")


def synthetic_vectors(model: HealthModel, count: int, seed: int = 7) -> list[list[float | None]]:
    """Feature vectors spread like the training data (mean +/- 1.5 sd), so factor ranking does real work."""
    rng = random.Random(seed)  # noqa: S311 - synthetic benchmark inputs, not security
    return [[term.mean + term.scale * rng.uniform(-1.5, 1.5) for term in model.terms] for _ in range(count)]


def measure(customers: int = 50_000, model: HealthModel | None = None, repeats: int = 3) -> ThroughputResult:
    """Best of ``repeats`` timed passes of the full assessment (score, band, top factors) over ``customers``."""
    model = model or default_model()
    vectors = synthetic_vectors(model, customers)
    computed_at = datetime.now(UTC)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for vector in vectors:
            assess_vector(model, vector, computed_at)
        best = min(best, time.perf_counter() - started)
    return ThroughputResult(customers=customers, seconds=best)


if __name__ == "__main__":
    result = measure()
    print(f"{result.customers_per_second:,.0f} customers/s ({result.customers} in {result.seconds:.3f} s)")
