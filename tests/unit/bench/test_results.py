"""The results writer emits the required keys and the bound/ratio arithmetic is right (no timing here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.results import REQUIRED_KEYS, Row, ceil_div, format_table, paged_lower_bound, ratio, write_results


def test_ceil_div_and_paged_lower_bound() -> None:
    assert ceil_div(0, 25) == 0 and ceil_div(1, 25) == 1 and ceil_div(25, 25) == 1 and ceil_div(26, 25) == 2
    assert ceil_div(10_000, 10) == 1_000
    # at least one request per endpoint, even for an empty list
    assert paged_lower_bound({"Customer": 10_000, "Invoice": 20_001, "CreditMemo": 0}, 1000) == 10 + 21 + 1
    with pytest.raises(ValueError):
        ceil_div(1, 0)


def test_ratio_including_zero_bounds() -> None:
    assert ratio(105, 100) == pytest.approx(1.05)
    assert ratio(0, 0) == 1.0  # zero writes against a bound of zero meets it exactly
    assert ratio(3, 0) is None


def test_targets_lower_and_higher_is_better() -> None:
    assert Row("s", "m", 105, 100, target=1.05).met is True
    assert Row("s", "m", 106, 100, target=1.05).met is False
    assert Row("s", "m", 3, 0, target=1.0).met is False
    assert Row("s", "m", 30_000, 20_000, target=1.0, higher_is_better=True).met is True
    assert Row("s", "m", 10_000, 20_000, target=1.0, higher_is_better=True).met is False
    assert Row("s", "m", 1, 2).met is None


def test_write_results_has_every_required_key(tmp_path: Path) -> None:
    rows = [Row("full import", "provider requests", 51, 50, target=1.0), Row("fan-out", "sqs", 0, 0)]
    path = tmp_path / "results.json"
    write_results(rows, path, {"customers": 10})
    document = json.loads(path.read_text())
    assert document["meta"] == {"customers": 10}
    for row in document["rows"]:
        assert set(REQUIRED_KEYS) <= set(row)
    assert document["rows"][0]["ratio"] == pytest.approx(1.02)
    assert document["rows"][1]["ratio"] == 1.0
    table = format_table(rows)
    assert "provider requests" in table and "1.02" in table
