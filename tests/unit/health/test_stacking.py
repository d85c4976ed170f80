"""The logit-space stack of the model with the PAYDEX-only fit, and the inner-validation choice of its weight."""

from __future__ import annotations

from datetime import date

import pytest

from arsync.health.metrics import roc_auc
from arsync.health.model import HealthModel
from arsync.health.training import (
    BASELINE_CANDIDATE_L2,
    BASELINE_SET,
    BLEND_WEIGHTS,
    EXPECTED_SIGNS,
    SELECTION_TOLERANCE,
    Candidate,
    Example,
    blend_params,
    candidates,
    choose,
    estimate_prior,
    fit_candidate,
    fit_candidates,
    labelled_before,
    select_candidate,
    train,
)

CUTOFF = date(2013, 1, 1)


@pytest.fixture(scope="module")
def fits(examples: list[Example]) -> tuple[list[Example], dict, dict]:
    training = labelled_before(examples, CUTOFF)
    prior = estimate_prior(training)
    baseline = fit_candidates(training, BASELINE_SET, [BASELINE_CANDIDATE_L2], prior)[0]
    model = fit_candidates(training, "full", [30.0], prior)[0]
    test = [ex for ex in examples if ex.issue_date >= CUTOFF and ex.snapshot.has_history]
    return test, baseline, model


def log_odds(params: dict, example: Example) -> float:
    scorer = HealthModel(params)
    return scorer.log_odds(scorer.vector(example.snapshot))


@pytest.mark.parametrize("blend", [0.0, 0.25, 0.6, 1.0])
def test_folded_stack_equals_the_weighted_sum_of_both_log_odds(fits, blend: float) -> None:
    test, baseline, model = fits
    stacked = blend_params(model, baseline, blend)
    assert [t["name"] for t in stacked["features"]] == [t["name"] for t in model["features"]]
    assert stacked["training"]["blend"] == blend
    for example in test[:200]:
        expected = (1.0 - blend) * log_odds(baseline, example) + blend * log_odds(model, example)
        assert log_odds(stacked, example) == pytest.approx(expected, abs=1e-9)


def test_zero_weight_is_the_baseline_and_ranks_exactly_like_paydex(fits) -> None:
    test, baseline, model = fits
    stacked = blend_params(model, baseline, 0.0)
    assert all(t["coefficient"] == 0.0 for t in stacked["features"] if t["name"] != "paydex")
    labels = [ex.is_late for ex in test]
    paydex_risk = [100.0 - ex.snapshot.values["paydex"] for ex in test]
    stacked_scores = [log_odds(stacked, ex) for ex in test]
    assert roc_auc(labels, stacked_scores) == pytest.approx(roc_auc(labels, paydex_risk), abs=1e-12)


def test_full_weight_is_the_model_alone(fits) -> None:
    _, baseline, model = fits
    stacked = blend_params(model, baseline, 1.0)
    assert stacked["intercept"] == pytest.approx(model["intercept"])
    for ours, theirs in zip(stacked["features"], model["features"], strict=True):
        assert ours["coefficient"] == pytest.approx(theirs["coefficient"])


def test_stacking_keeps_every_coefficient_on_its_explainable_side(fits) -> None:
    _, baseline, model = fits
    for blend in BLEND_WEIGHTS:
        for term in blend_params(model, baseline, blend)["features"]:
            assert term["coefficient"] * EXPECTED_SIGNS.get(term["name"], 0) >= 0.0, term


def test_blend_rejects_bad_weights_and_mismatched_baselines(fits) -> None:
    _, baseline, model = fits
    with pytest.raises(ValueError, match="outside"):
        blend_params(model, baseline, 1.5)
    shifted = {**baseline, "features": [{**baseline["features"][0], "mean": baseline["features"][0]["mean"] + 1.0}]}
    with pytest.raises(ValueError, match="standardised"):
        blend_params(model, shifted, 0.5)
    with pytest.raises(ValueError, match="PAYDEX-only"):
        blend_params(model, model, 0.5)


def test_candidate_order_puts_the_baseline_first_and_more_baseline_before_less() -> None:
    ordered = candidates()
    assert ordered[0] == Candidate(BASELINE_SET, BASELINE_CANDIDATE_L2, 0.0)
    weights = [c.blend for c in ordered[1:]]
    assert weights == sorted(weights) and set(weights) == set(BLEND_WEIGHTS)
    assert 0.0 not in BLEND_WEIGHTS  # weight 0 is the baseline candidate itself, listed once
    assert len({c.key for c in ordered}) == len(ordered)


def test_choose_prefers_more_baseline_within_tolerance_but_not_beyond_it() -> None:
    ordered = [Candidate(BASELINE_SET, 0.0, 0.0), Candidate("full", 100.0, 0.5), Candidate("full", 100.0, 1.0)]
    near = {ordered[0].key: 0.880, ordered[1].key: 0.8805, ordered[2].key: 0.880 + SELECTION_TOLERANCE}
    assert choose(near, ordered) == ordered[0]
    apart = {ordered[0].key: 0.870, ordered[1].key: 0.8795, ordered[2].key: 0.880}
    assert choose(apart, ordered) == ordered[1]
    clear = {ordered[0].key: 0.870, ordered[1].key: 0.875, ordered[2].key: 0.880}
    assert choose(clear, ordered) == ordered[2]


def test_selection_scores_every_design_and_the_final_fit_is_the_chosen_stack(examples: list[Example]) -> None:
    chosen, report = select_candidate(examples, CUTOFF)
    assert set(report.inner_auc) == {c.key for c in candidates()}
    assert report.chosen == chosen.key
    best = max(report.inner_auc.values())
    assert report.inner_auc[chosen.key] >= best - SELECTION_TOLERANCE
    earlier = candidates()[: candidates().index(chosen)]
    assert all(report.inner_auc[c.key] < best - SELECTION_TOLERANCE for c in earlier)
    params = train(examples, CUTOFF)
    training = labelled_before(examples, CUTOFF)
    refit = fit_candidate(training, chosen, estimate_prior(training))
    assert params["intercept"] == pytest.approx(refit["intercept"])
    assert params["training"]["blend"] == chosen.blend


def test_too_little_history_falls_back_to_the_paydex_only_fit(examples: list[Example]) -> None:
    chosen, report = select_candidate(examples, date(2012, 7, 1))
    assert chosen == Candidate(BASELINE_SET, BASELINE_CANDIDATE_L2, 0.0)
    assert not report.inner_auc and "fell back" in report.note
