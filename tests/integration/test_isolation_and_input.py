"""Tenant isolation on every customer route, authentication, and bad input that writes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from local.auth import AUDIENCE, ISSUER, issue_token
from local.template import api_routes
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/customers/{customer_id}"): {"version": 1, "notes": "cross-tenant write"},
    ("POST", "/customers/{customer_id}/link"): {"external_id": "1", "reactivate": True},
    ("PUT", "/customers/{customer_id}/health"): {"score": 5, "reason": "cross-tenant override"},
}
"""A valid body for routes that take one, so the only thing wrong is whose customer it is."""


def customer_routes() -> list[tuple[str, str]]:
    """Every authorised route with a customer id, read from template.yaml so new routes are covered."""
    return sorted({(r.method, r.path) for r in api_routes() if r.authorized and "{customer_id}" in r.path})


@pytest.mark.parametrize(("method", "path"), customer_routes())
def test_cross_tenant_calls_get_404_and_no_data(api: Api, other_api: Api, method: str, path: str) -> None:
    # Given a customer that belongs to the other tenant
    theirs = other_api.create_customer("Their Secret Customer", email="secret@theirs.example")
    # When this tenant calls the route with their id
    response = api.request(method, path.replace("{customer_id}", theirs["id"]), json=BODIES.get((method, path)))
    # Then it is not found, leaks nothing, and changed nothing
    assert response.status_code == 404
    assert "Their Secret" not in response.text and "secret@theirs" not in response.text
    unchanged = other_api.get(f"/customers/{theirs['id']}").json()
    assert unchanged["version"] == 1 and unchanged["archived"] is False and unchanged["notes"] is None


def test_lists_only_show_own_customers(api: Api, other_api: Api) -> None:
    other_api.create_customer("Not Yours")
    api.create_customer("Yours")
    assert [c["display_name"] for c in api.get("/customers", params={"archived": "all"}).json()["items"]] == ["Yours"]


def _forged_tokens(tenant: str) -> dict[str, str]:
    import time

    import jwt

    now = int(time.time())
    claims = {
        "custom:tenant_id": tenant,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "token_use": "id",
    }
    return {
        "wrong secret": jwt.encode(claims, "not-the-secret", algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": now - 10}, "local-dev-secret", algorithm="HS256"),
        "alg none": jwt.encode(claims, key=None, algorithm="none"),  # type: ignore[arg-type]
        "no tenant": jwt.encode({k: v for k, v in claims.items() if k != "custom:tenant_id"}, "local-dev-secret"),
        "garbage": "not.a.jwt",
    }


@pytest.mark.parametrize("kind", ["missing", "wrong secret", "expired", "alg none", "no tenant", "garbage"])
def test_missing_or_forged_token_is_401(stack: Any, kind: str) -> None:
    headers = {} if kind == "missing" else {"Authorization": f"Bearer {_forged_tokens('t-forged')[kind]}"}
    for method, path in sorted({(r.method, r.path) for r in api_routes() if r.authorized}):
        url = stack.api_url + re.sub(r"\{[a-z_]+\}", "cus_0123456789abcdef0123", path)
        response = requests.request(method, url, headers=headers, json={}, timeout=10)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json() == {"message": "Unauthorized"}


BAD_CREATES = [
    ({"display_name": "Ok", "tenant_id": "someone-else"}, "body.tenant_id"),
    ({"display_name": 42}, "body.display_name"),
    ({"display_name": "x" * 501}, "body.display_name"),
    ({"display_name": "Evil\u202eName"}, "body.display_name"),
    ({"display_name": "Bell\u0007"}, "body.display_name"),
    ({"display_name": ""}, "body.display_name"),
    ({"display_name": "   "}, "body.display_name"),
    ({"display_name": "Ok", "email": "not-an-email"}, "body.email"),
    ({"display_name": "Ok", "billing_address": {"line1": "a" * 501}}, "body.billing_address.line1"),
    ({"display_name": "Ok", "billing_address": {"street": "1 Main"}}, "body.billing_address.street"),
    ({"display_name": "Ok", "currency": "usd"}, "body.currency"),
    ({}, "body.display_name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATES)
def test_bad_create_names_the_field_and_writes_nothing(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/customers", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in problem["errors"]]
    assert "\u202e" not in response.text and "someone-else" not in response.text  # nothing echoed
    assert api.get("/customers", params={"archived": "all"}).json()["items"] == []


@pytest.mark.parametrize(
    "params", [{"limit": "101"}, {"limit": "0"}, {"limit": "ten"}, {"archived": "maybe"}, {"health_band": "great"}]
)
def test_bad_list_parameters_are_422(api: Api, params: dict[str, str]) -> None:
    response = api.get("/customers", params=params)
    assert response.status_code == 422
    assert f"query.{next(iter(params))}" in [e["field"] for e in response.json()["errors"]]


def test_bad_patch_changes_nothing(api: Api) -> None:
    customer = api.create_customer("Patch Target", email="keep@target.example")
    for body in (
        {"email": "x@y.example"},
        {"version": 1, "email": "x@y.example", "balance": 5},
        {"version": 1, "display_name": ""},
    ):
        assert api.patch(f"/customers/{customer['id']}", json=body).status_code == 422
    after = api.get(f"/customers/{customer['id']}").json()
    assert after["email"] == "keep@target.example" and after["version"] == 1


def test_malformed_json_and_oversized_body(api: Api) -> None:
    broken = api.post("/customers", data="{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    huge = api.post("/customers", json={"display_name": "Big", "notes": "n" * 70_000})
    assert huge.status_code in (413, 422)
    assert api.get("/customers").json()["items"] == []


def test_unknown_route_answers_like_api_gateway(api: Api) -> None:
    response = api.get("/nope")
    assert response.status_code == 403 and response.json() == {"message": "Missing Authentication Token"}


def test_token_with_tenant_claim_only_sees_that_tenant(stack: Any) -> None:
    token = issue_token("t-claims-only")
    response = requests.get(
        stack.api_url + "/customers", headers={"Authorization": f"Bearer {token}", "X-Tenant-Id": "t-other"}, timeout=10
    )
    assert response.status_code == 200 and response.json()["items"] == []
