"""B1 - contract fuzzing: schemathesis generates valid and invalid requests from /openapi.json and checks
every response against the document (status codes, content types, headers, bodies), that nothing is a
server error, and that invalid input is refused with a 4xx.

Runs against the local gateway with a fresh tenant's bearer token per operation. The CI variant is bounded
(`CI_EXAMPLES` per operation); `make soak` runs the soak variant with `SOAK_EXAMPLES`.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from local.auth import issue_token
from local.stack import LocalStack

pytestmark = pytest.mark.integration

CI_EXAMPLES = 25
SOAK_EXAMPLES = 400


@pytest.fixture(scope="module")
def api_schema(stack: LocalStack) -> Any:
    document = requests.get(f"{stack.api_url}/openapi.json", timeout=30)
    assert document.status_code == 200, document.text
    loaded = schemathesis.openapi.from_dict(document.json())
    loaded.config.update(base_url=stack.api_url)
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(f't-fuzz-{uuid.uuid4().hex[:10]}')}"}


def _check(case: Any) -> None:
    response = case.call_and_validate(headers=_headers(), timeout=30)
    assert response.status_code < 500, (case.operation.label, response.status_code, response.text)


@schema.parametrize()
@settings(max_examples=CI_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_openapi_document(case: Any) -> None:
    _check(case)


@pytest.mark.soak
@schema.parametrize()
@settings(max_examples=SOAK_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document_soak(case: Any) -> None:
    _check(case)


assert not_a_server_error  # the default checks include it; imported to make the intent explicit
