"""Measured figures (latencies, counts) the reliability tests record for docs/reliability.md.

Timings are never asserted in pass/fail tests; they are appended as JSON lines to the file named by
`ARSYNC_FIGURES` when it is set (e.g. `ARSYNC_FIGURES=build/figures.jsonl make soak`), and ignored otherwise.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any


def record(name: str, **figures: Any) -> None:
    target = os.environ.get("ARSYNC_FIGURES")
    if not target:
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps({"name": name, **figures}) + "\n")


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p50 = 0.5, p99 = 0.99); 0.0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 0.5) * 1000, 1),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 1),
        "max_ms": round(max(samples, default=0.0) * 1000, 1),
        "mean_ms": round(statistics.fmean(samples) * 1000, 1) if samples else 0.0,
    }
