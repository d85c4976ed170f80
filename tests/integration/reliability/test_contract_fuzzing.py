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
import re
import uuid
from typing import Any

import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from arsync.api.openapi import build_docs_resolver, schema_options
from arsync.models import api as api_models
from arsync.models import common
from local.auth import issue_token
from local.stack import LocalStack

pytestmark = pytest.mark.integration

CI_EXAMPLES = 25
SOAK_EXAMPLES = 400


def generated_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(build_docs_resolver().get_openapi_json_schema(**schema_options()))
    return document


schema = schemathesis.openapi.from_dict(generated_document())
schema.config.generation.update(
    # Unknown query parameters are ignored, as API Gateway and most HTTP APIs do (cache-busters, tracking
    # parameters); unknown body fields are still refused (extra="forbid") and fuzzed.
    allow_extra_parameters=False,
    # Every example carries a fresh tenant's valid token (below), which would override a generated "missing
    # Authorization" case; missing and invalid auth are still checked here (ignored_auth,
    # missing_required_header) and token by token in test_tenant_matrix.py.
    with_security_parameters=False,
)


def test_served_document_is_the_generated_one(stack: LocalStack) -> None:
    served = requests.get(f"{stack.api_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == generated_document()


OPAQUE_SERVER_VALUES = {"cursor", "state", "code"}
"""Query parameters whose only valid values are ones the server (or the provider) issued: a signed OAuth
`state` and its `code`, a page `cursor`. A schema-valid random string is still refused (400), so
`positive_data_acceptance` cannot apply to a case that sends one; every other check still runs on it."""


def _is_public(case: Any) -> bool:
    return bool(case.operation.definition.raw.get("security") == [{}])


def _excluded_checks(case: Any) -> list[Any]:
    excluded: list[Any] = []
    if OPAQUE_SERVER_VALUES & set(case.query or {}):
        excluded.append(positive_data_acceptance)
    if _is_public(case):
        # API Gateway (REST) answers a method a resource does not declare with 403 "Missing Authentication
        # Token", never 405; the function is not invoked, so the app cannot change it. On authorised routes
        # schemathesis accepts that 403 as an auth refusal; on public ones it expects 405.
        excluded.append(unsupported_method)
    return excluded


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


TEXT_TYPES = {
    "DisplayName": (common.DisplayName, api_models.SINGLE_LINE_PATTERN),
    "ShortText": (common.ShortText, api_models.SINGLE_LINE_PATTERN),
    "PostalCode": (common.PostalCode, api_models.SINGLE_LINE_PATTERN),
    "Notes": (common.Notes, api_models.MULTI_LINE_PATTERN),
    "Email": (common.Email, api_models.EMAIL_PATTERN),
    "Phone": (common.Phone, api_models.PHONE_PATTERN),
}
# Letters, digits, phone and e-mail punctuation, every kind of whitespace, controls, bidi marks, a BOM, a
# non-character, lone surrogates, combining marks, CJK, Arabic and an emoji.
ALPHABET = (
    "aZ09+().-/xX#*@. \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000"
    "\x00\x07\x7f\x9f\u200e\u202e\u2066\ufeff\uffff\ud800\udfff\u0301\u4e2d\u0639\U0001f600"
)


@pytest.mark.parametrize("name", sorted(TEXT_TYPES))
@given(text=st.text(alphabet=ALPHABET, max_size=12))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_documented_text_patterns_match_the_validators(name: str, text: str) -> None:
    """The patterns in the OpenAPI document accept exactly what the validators accept (so positive and
    negative fuzzing mean what they say), and every validator in the toolchain can compile them."""
    jsonschema_rs.validator_for({"type": "string", "pattern": TEXT_TYPES[name][1]})
    annotated, pattern = TEXT_TYPES[name]
    try:
        TypeAdapter(annotated).validate_python(text)
        accepted = True
    except ValidationError:
        accepted = False
    lone_surrogate = any("\ud800" <= char <= "\udfff" for char in text)  # refused, not expressible in a pattern
    assert (bool(re.fullmatch(pattern, text)) and not lone_surrogate) == accepted, (name, text)
