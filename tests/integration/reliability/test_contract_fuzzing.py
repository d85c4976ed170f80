"""B1 - contract fuzzing: schemathesis generates valid and invalid requests from the OpenAPI document and
checks every response against it (status codes, content types, headers, bodies), that nothing is a server
error, and that invalid input is refused with a 4xx.

The schema is loaded from the document the code generates (the same call `GET /openapi.json` makes; a test
below asserts the served document is identical). `schemathesis.pytest.from_fixture` would load it from the
running stack but does not work with pytest 9 (it writes `request.node._nodeid`). Requests go to the local
gateway with a fresh tenant's bearer token per example. The CI variant is bounded (`CI_EXAMPLES` per
operation); the soak variant (`make soak`) runs `SOAK_EXAMPLES`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from arsync.api.openapi import build_docs_resolver, schema_options
from local.auth import issue_token
from local.stack import LocalStack

pytestmark = pytest.mark.integration

CI_EXAMPLES = 25
SOAK_EXAMPLES = 400


def generated_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(build_docs_resolver().get_openapi_json_schema(**schema_options()))
    return document


schema = schemathesis.openapi.from_dict(generated_document())


def test_served_document_is_the_generated_one(stack: LocalStack) -> None:
    served = requests.get(f"{stack.api_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == generated_document()


OPAQUE_SERVER_VALUES = {"cursor", "state", "code"}
"""Query parameters whose only valid values are ones the server (or the provider) issued: a signed OAuth
`state` and its `code`, a page `cursor`. A schema-valid random string is still refused (400), so
`positive_data_acceptance` cannot apply to a case that sends one; every other check still runs on it."""


def _excluded_checks(case: Any) -> list[Any]:
    if OPAQUE_SERVER_VALUES & set(case.query or {}):
        return [positive_data_acceptance]
    return []


def _check(case: Any, base_url: str) -> None:
    headers = {"Authorization": f"Bearer {issue_token(f't-fuzz-{uuid.uuid4().hex[:10]}')}"}
    response = case.call_and_validate(
        base_url=base_url, headers=headers, excluded_checks=_excluded_checks(case), timeout=30
    )
    # call_and_validate raised already on any check failure; keep the server-error rule explicit.
    assert response.status_code < 500, (case.operation.label, response.status_code, response.text)


@schema.parametrize()
@settings(max_examples=CI_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_openapi_document(case: Any, stack: LocalStack) -> None:
    _check(case, stack.api_url)


@pytest.mark.soak
@schema.parametrize()
@settings(max_examples=SOAK_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document_soak(case: Any, stack: LocalStack) -> None:
    _check(case, stack.api_url)
