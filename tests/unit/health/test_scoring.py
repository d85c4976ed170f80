from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from arsync.health.features import CustomerProfile, InvoiceFact
from arsync.health.model import default_model, sigmoid
from arsync.health.scoring import assess_customer, assess_prior, band_for, score_for

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


def ledger(days_beyond_terms: list[int], open_overdue: int = 0) -> list[InvoiceFact]:
    """Monthly invoices, net 30, settled ``days_beyond_terms`` after due; plus some overdue open items."""
    facts = []
    start = date(2023, 1, 5)
    for index, beyond in enumerate(days_beyond_terms):
        issued = start + timedelta(days=30 * index)
        due = issued + timedelta(days=30)
        facts.append(InvoiceFact(f"INV-{index}", issued, due, 1000.0, due + timedelta(days=beyond), False))
    for extra in range(open_overdue):
        issued = NOW.date() - timedelta(days=70 + 10 * extra)
        facts.append(InvoiceFact(f"OPEN-{extra}", issued, issued + timedelta(days=30), 1000.0, None, None))
    return facts


def test_bands_follow_the_documented_thresholds() -> None:
    expected = ["healthy", "healthy", "watch", "watch", "at_risk", "at_risk"]
    assert [band_for(s) for s in (100, 70, 69, 40, 39, 0)] == expected
    assert score_for(0.3) == 70 and score_for(0.0) == 100 and score_for(1.0) == 0


def test_assessment_shape_and_json() -> None:
    assessment = assess_customer(ledger([-5, 3, 12, 8, 20]), CustomerProfile(country="US"), NOW)
    assert assessment.source == "model"
    assert 0 <= assessment.score <= 100
    assert assessment.score == round(100 * (1 - assessment.probability_late))
    assert assessment.band == band_for(assessment.score)
    assert assessment.model_version == default_model().version
    assert assessment.computed_at == NOW
    assert assessment.settled_invoice_count == 5
    assert 1 <= len(assessment.factors) <= 3
    for factor in assessment.factors:
        assert factor.direction in {"worsens", "improves"}
        assert (factor.impact < 0) == (factor.direction == "worsens") or factor.impact == 0
        assert factor.label
    payload = json.loads(json.dumps(assessment.to_dict()))
    assert set(payload) >= {"score", "band", "probability_late", "factors", "model_version", "computed_at", "source"}
    assert set(payload["factors"][0]) == {"name", "label", "value", "direction", "impact"}


def test_chronic_late_payer_scores_below_prompt_payer_and_is_told_why() -> None:
    prompt = assess_customer(ledger([-10] * 8), CustomerProfile(), NOW)
    late = assess_customer(ledger([25] * 8, open_overdue=2), CustomerProfile(), NOW)
    assert prompt.score > 70 > 40 > late.score
    assert prompt.band == "healthy" and late.band == "at_risk"
    assert late.factors[0].name == "paydex" and late.factors[0].direction == "worsens"
    assert prompt.factors[0].direction == "improves"
    assert all(f.direction == "worsens" for f in late.factors if f.name in {"late_share", "overdue_count"})


def test_customer_without_history_gets_the_documented_prior() -> None:
    model = default_model()
    open_only = [InvoiceFact("NEW-1", date(2024, 6, 1), date(2024, 7, 1), 500.0)]
    assessment = assess_customer(open_only, CustomerProfile(country="ZZ", company_type="llc"), NOW)
    assert assessment.source == "prior"
    assert assessment.probability_late == pytest.approx(sigmoid(model.prior_base_log_odds), abs=1e-4)
    assert assessment.factors == []  # unseen categories carry no adjustment
    assert assessment.paydex is None


def test_prior_uses_known_profile_categories() -> None:
    model = default_model()
    adjustments = model.profile_adjustments["country"]
    country, adjustment = max(adjustments.items(), key=lambda item: abs(item[1]))
    assessment = assess_prior(CustomerProfile(country=f"  {country} "), NOW)
    assert assessment.probability_late == pytest.approx(sigmoid(model.prior_base_log_odds + adjustment), abs=1e-4)
    assert assessment.factors[0].name == "country"
    assert assessment.factors[0].direction == ("worsens" if adjustment > 0 else "improves")
