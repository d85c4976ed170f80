"""Time-split benchmark CLI: ``python -m arsync.health.benchmark --data CSV --cutoff YYYY-MM-DD --out FILE``.

Trains with labels known before the cutoff only (``SettledDate < cutoff``) and, for every invoice issued on or
after the cutoff, writes ``invoiceNumber,probability_late`` using only the history known at that invoice's issue
date. Pure Python: runs with the layer's runtime dependencies alone.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from arsync.health.dataset import load_ibm_receivables
from arsync.health.model import HealthModel
from arsync.health.training import Example, build_examples, labelled_before, train


@dataclass(frozen=True, slots=True)
class Prediction:
    invoice_id: str
    customer_id: str
    issue_date: date
    is_late: bool
    probability_late: float
    paydex: float | None
    source: str


@dataclass(frozen=True, slots=True)
class BenchmarkRun:
    cutoff: date
    params: dict[str, Any]
    predictions: list[Prediction]
    training_paydex_mean: float

    def paydex_risk(self, prediction: Prediction) -> float:
        """Baseline ranking score (100 - PAYDEX); no history ('UN') gets the training mean PAYDEX."""
        paydex = prediction.paydex if prediction.paydex is not None else self.training_paydex_mean
        return 100.0 - paydex


def run_benchmark(examples: Sequence[Example], cutoff: date, model_version: str = "benchmark") -> BenchmarkRun:
    """Train on labels known before ``cutoff``; predict every invoice issued on or after it."""
    params = train(examples, cutoff, model_version=model_version)
    model = HealthModel(params)
    predictions = [
        Prediction(
            invoice_id=ex.invoice_id,
            customer_id=ex.customer_id,
            issue_date=ex.issue_date,
            is_late=ex.is_late,
            probability_late=model.predict(ex.snapshot),
            paydex=ex.snapshot.values.get("paydex"),
            source="model" if ex.snapshot.has_history else "prior",
        )
        for ex in examples
        if ex.issue_date >= cutoff
    ]
    known_paydex = [
        value for ex in labelled_before(examples, cutoff) if (value := ex.snapshot.values.get("paydex")) is not None
    ]
    paydex_mean = sum(known_paydex) / len(known_paydex) if known_paydex else 80.0
    return BenchmarkRun(cutoff=cutoff, params=params, predictions=predictions, training_paydex_mean=paydex_mean)


def write_predictions(predictions: Sequence[Prediction], out: str | Path) -> None:
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["invoiceNumber", "probability_late"])
        for prediction in predictions:
            writer.writerow([prediction.invoice_id, f"{prediction.probability_late:.6f}"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", required=True, help="IBM accounts-receivable CSV")
    parser.add_argument("--cutoff", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--out", required=True, help="output CSV: invoiceNumber,probability_late")
    args = parser.parse_args(argv)
    examples = build_examples(load_ibm_receivables(args.data))
    run = run_benchmark(examples, args.cutoff)
    if not run.predictions:
        print(f"no invoices issued on or after {args.cutoff}", file=sys.stderr)
    write_predictions(run.predictions, args.out)
    selection = run.params["training"]["selection"]["chosen"]
    print(
        f"trained on {run.params['training']['examples']} labels settled before {args.cutoff} ({selection}); "
        f"wrote {len(run.predictions)} predictions to {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
