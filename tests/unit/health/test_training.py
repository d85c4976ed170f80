from __future__ import annotations

import random

import pytest

from arsync.health.metrics import expected_calibration_error, roc_auc
from arsync.health.throughput import measure
from arsync.health.training import fit_logistic


def synthetic(n: int = 400, seed: int = 3) -> tuple[list[list[float]], list[float]]:
    rng = random.Random(seed)
    first = [rng.gauss(0, 1) for _ in range(n)]
    second = [rng.gauss(0, 1) for _ in range(n)]
    labels = [
        1.0 if rng.random() < 1 / (1 + 2.718281828 ** -(0.5 + 1.5 * a - b)) else 0.0
        for a, b in zip(first, second, strict=True)
    ]
    return [first, second], labels


def test_pure_python_fit_matches_scikit_learn() -> None:
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    np = pytest.importorskip("numpy")
    columns, labels = synthetic()
    ours = fit_logistic(columns, labels, l2=5.0, penalised=[True, True], tolerance=1e-10)
    reference = sklearn_linear.LogisticRegression(C=1 / 5.0, solver="newton-cholesky", tol=1e-12).fit(
        np.array(columns).T, np.array(labels)
    )
    assert ours[0] == pytest.approx(reference.intercept_[0], abs=1e-6)
    assert ours[1:] == pytest.approx(list(reference.coef_[0]), abs=1e-6)


def test_unpenalised_anchor_is_not_shrunk() -> None:
    columns, labels = synthetic()
    free = fit_logistic(columns, labels, l2=1e6, penalised=[False, True])
    assert abs(free[1]) > 1.0 and abs(free[2]) < 0.01


def test_auc_and_ece_on_known_cases() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0
    assert expected_calibration_error([0, 0], [0.95, 0.95]) == pytest.approx(0.95)


def test_throughput_measure_is_callable_and_fast() -> None:
    result = measure(5_000, repeats=1)
    assert result.customers == 5_000
    assert result.customers_per_second > 2_000  # the 20k/s target is measured by the report, not asserted here
