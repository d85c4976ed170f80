from __future__ import annotations

from itertools import pairwise

import pytest

from arsync.health.paydex import (
    PAYDEX_ANCHORS,
    amount_weighted_days_beyond_terms,
    paydex_band,
    paydex_from_days_beyond_terms,
)


@pytest.mark.parametrize(
    ("days", "expected"),
    [(-30, 100), (-20, 90), (0, 80), (15, 70), (22, 60), (30, 50), (60, 40), (90, 30), (120, 20)],
)
def test_official_dnb_anchors_are_exact(days: float, expected: float) -> None:
    assert paydex_from_days_beyond_terms(days) == pytest.approx(expected)


@pytest.mark.parametrize(("days", "expected"), [(-10, 85), (26, 55), (45, 45)])
def test_interpolation_reproduces_readable_value_chart_points(days: float, expected: float) -> None:
    assert paydex_from_days_beyond_terms(days) == pytest.approx(expected)


def test_clamps_outside_the_anchor_range() -> None:
    assert paydex_from_days_beyond_terms(-400) == 100
    assert paydex_from_days_beyond_terms(365) == 20


def test_mapping_is_monotone_non_increasing() -> None:
    values = [paydex_from_days_beyond_terms(days / 2) for days in range(-100, 300)]
    assert all(a >= b for a, b in pairwise(values))
    assert PAYDEX_ANCHORS[0] == (-30.0, 100.0)


def test_lateness_is_dollar_weighted() -> None:
    # a big invoice paid 20 days late outweighs a small one paid 10 days early
    assert amount_weighted_days_beyond_terms([(20.0, 900.0), (-10.0, 100.0)]) == pytest.approx(17.0)
    assert amount_weighted_days_beyond_terms([]) is None


def test_dnb_risk_reading() -> None:
    assert [paydex_band(v) for v in (80, 79.9, 50, 49.9)] == ["low", "medium", "medium", "high"]
