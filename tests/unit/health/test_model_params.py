"""The shipped parameter file loads, is versioned, and reproduces the predictions made at training time."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from arsync.health.features import FEATURE_NAMES
from arsync.health.model import PROFILE_FEATURE, HealthModel, default_model, load_params
from arsync.health.training import Candidate, Example, estimate_prior, fit_candidate, labelled_before

PARAMS_FILE = Path(__file__).resolve().parents[3] / "shared" / "arsync" / "health" / "params" / "health_model_v1.json"


def test_params_file_is_small_versioned_and_complete() -> None:
    params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))
    assert PARAMS_FILE.stat().st_size < 64_000
    assert params["model_version"].startswith("health-v")
    assert params["trained_on"]["sha256"] == "f5d488eaa4c1cc843b478b6f1068c553c5394aab4b64d587e4b9ad811d845c19"
    names = [term["name"] for term in params["features"]]
    assert set(names) <= {*FEATURE_NAMES, PROFILE_FEATURE}
    assert all(term["scale"] > 0 for term in params["features"])
    assert params["metrics"]["main_split"]["cutoff"] == "2013-07-01"
    assert len(params["metrics"]["rolling_quarters"]) == 6


def test_packaged_params_are_what_default_model_loads() -> None:
    model = default_model()
    assert model.version == load_params(PARAMS_FILE)["model_version"]
    assert model.feature_names[0] == "paydex"


def test_reference_predictions_reproduce_from_the_file_alone() -> None:
    params = load_params(PARAMS_FILE)
    model = HealthModel(params)
    assert len(params["reference_predictions"]) >= 5
    for reference in params["reference_predictions"]:
        vector = [reference["vector"][name] for name in model.feature_names]
        assert model.probability_late(vector) == pytest.approx(reference["probability_late"], abs=1e-12)


def test_refitting_the_chosen_design_on_the_project_csv_gives_the_shipped_coefficients(
    examples: list[Example],
) -> None:
    """Guards against a stale params file: same data + same recipe must give the same numbers."""
    params = load_params(PARAMS_FILE)
    training = labelled_before(examples, date.fromisoformat(params["trained_on"]["label_cutoff"]))
    prior = estimate_prior(training)
    assert prior == params["prior"]
    design = Candidate(params["training"]["feature_set"], params["training"]["l2"], params["training"]["blend"])
    assert design.key == params["training"]["selection"]["chosen"]
    refit = fit_candidate(training, design, prior)
    assert refit["intercept"] == pytest.approx(params["intercept"], abs=1e-6)
    for ours, shipped in zip(refit["features"], params["features"], strict=True):
        assert ours["name"] == shipped["name"]
        assert ours["coefficient"] == pytest.approx(shipped["coefficient"], abs=1e-6)
        assert ours["mean"] == pytest.approx(shipped["mean"])
