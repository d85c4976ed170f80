"""End-to-end: the benchmark CLI on a cutoff, and proof that it needs only the layer's runtime dependencies."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date

from arsync.health.benchmark import main
from arsync.health.dataset import ReceivablesDataset

from .conftest import DATA_FILE

CUTOFF = "2013-01-01"


def test_cli_writes_one_probability_per_invoice_issued_on_or_after_the_cutoff(tmp_path, dataset: ReceivablesDataset):
    out = tmp_path / "predictions.csv"
    assert main(["--data", str(DATA_FILE), "--cutoff", CUTOFF, "--out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["invoiceNumber", "probability_late"]
    expected = {row.fact.invoice_id for row in dataset.invoices if row.fact.issue_date >= date.fromisoformat(CUTOFF)}
    assert {row[0] for row in rows[1:]} == expected and len(rows) - 1 == len(expected)
    probabilities = [float(row[1]) for row in rows[1:]]
    assert all(0.0 < p < 1.0 for p in probabilities)
    assert len({round(p, 3) for p in probabilities}) > 20  # a ranking, not a constant


def test_cli_runs_without_numpy_or_sklearn(tmp_path) -> None:
    out = tmp_path / "p.csv"
    script = (
        "import sys\n"
        "for name in ('numpy', 'sklearn', 'scipy', 'pandas', 'matplotlib'):\n"
        "    sys.modules[name] = None  # any import of them now raises ImportError\n"
        "from arsync.health.benchmark import main\n"
        f"raise SystemExit(main(['--data', {str(DATA_FILE)!r}, '--cutoff', '2012-10-01', '--out', {str(out)!r}]))\n"
    )
    command = [sys.executable, "-c", script]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert completed.returncode == 0, completed.stderr
    assert out.read_text(encoding="utf-8").startswith("invoiceNumber,probability_late\n")
