"""Shared fixtures: the project copy of the IBM file (never /work/shared) and its as-of examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from arsync.health.dataset import ReceivablesDataset, load_ibm_receivables
from arsync.health.training import Example, build_examples

DATA_FILE = Path(__file__).resolve().parents[3] / "data" / "ibm-accounts-receivable.csv"


@pytest.fixture(scope="session")
def dataset() -> ReceivablesDataset:
    return load_ibm_receivables(DATA_FILE)


@pytest.fixture(scope="session")
def examples(dataset: ReceivablesDataset) -> list[Example]:
    return build_examples(dataset)
