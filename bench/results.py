"""Rows of the benchmark table: a figure, its bound or baseline, and the ratio between them."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REQUIRED_KEYS = ("scenario", "metric", "value", "bound", "ratio")


def ceil_div(count: int, size: int) -> int:
    """Requests needed to move `count` things `size` at a time (0 things: 0 requests)."""
    if size <= 0:
        raise ValueError("size must be positive")
    return -(-max(count, 0) // size)


def ratio(value: float, bound: float) -> float | None:
    """value / bound; a zero bound is met exactly only by zero (ratio 1.0), otherwise there is no finite ratio."""
    if bound == 0:
        return 1.0 if value == 0 else None
    return value / bound


def paged_lower_bound(rows_per_endpoint: dict[str, int], page_size: int) -> int:
    """Protocol lower bound of a paged read: ceil(rows / page size) per endpoint, and at least one request
    per endpoint (an empty list still has to be asked for)."""
    return sum(max(1, ceil_div(rows, page_size)) for rows in rows_per_endpoint.values())


@dataclass
class Row:
    """One figure. `higher_is_better` flips the target test (throughput); `target` is the ratio to meet."""

    scenario: str
    metric: str
    value: float
    bound: float
    unit: str = ""
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return ratio(self.value, self.bound)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        r = self.ratio
        if r is None:
            return False
        return r >= self.target if self.higher_is_better else r <= self.target + 1e-9

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        r = self.ratio
        body["ratio"] = None if r is None else round(r, 4)
        body["met"] = self.met
        return body


def _fmt(number: float | None) -> str:
    if number is None:
        return "-"
    if isinstance(number, float) and math.isinf(number):
        return "inf"
    if abs(number) >= 100 or float(number).is_integer():
        return f"{number:,.0f}"
    return f"{number:,.3g}" if abs(number) < 1 else f"{number:,.2f}"


def format_table(rows: Sequence[Row]) -> str:
    headers = ("scenario", "metric", "value", "bound/baseline", "ratio", "target", "met")
    body = [
        (
            r.scenario,
            r.metric + (f" [{r.unit}]" if r.unit else ""),
            _fmt(r.value),
            _fmt(r.bound),
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            "-" if r.target is None else ("≥ " if r.higher_is_better else "≤ ") + f"{r.target:.2f}",
            {None: "", True: "yes", False: "NO"}[r.met],
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in body]
    return "\n".join(lines)


def write_results(rows: Iterable[Row], path: Path, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{"meta": ..., "rows": [...]}`; every row has at least the keys of REQUIRED_KEYS."""
    document = {"meta": meta or {}, "rows": [row.to_json() for row in rows]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return document
