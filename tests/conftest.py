"""Shared test setup: fake AWS credentials (never real ones), Powertools settings, events and contexts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "arsync",
        "POWERTOOLS_METRICS_NAMESPACE": "arsync",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """The same JSON events `sam local invoke -e events/<name>.json` uses."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


@pytest.fixture
def lambda_context() -> Any:
    from local.lambda_context import LocalLambdaContext

    return LocalLambdaContext(function_name="test-function", timeout_seconds=15)


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    from arsync.config import get_settings

    get_settings.cache_clear()
