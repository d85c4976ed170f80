"""S1/S5 - tenant isolation matrix and authentication, generated from the route table in template.yaml.

Every authorised route with a path parameter is called with tenant A's token and tenant B's real ids; every
authorised route is called with B's id smuggled into the query, the body and an `X-Tenant-Id` header; every
authorised route refuses forged tokens. A new route whose path parameter has no id builder below fails
`test_every_path_parameter_has_an_id_builder` with "add coverage for ...".
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import requests

from arsync.api.openapi import build_docs_resolver, schema_options
from local.auth import AUDIENCE, ISSUER, issue_token, jwt_secret
from local.stack import LocalStack
from local.template import ApiRoute, api_routes
from tests.integration.conftest import Api
from tests.integration.faq.conftest import ConnectedApi
from tests.integration.reliability.conftest import ours

pytestmark = pytest.mark.integration

PUBLIC_ROUTES = {
    ("GET", "/connection/callback"),  # OAuth redirect: the signed state names the tenant
    ("POST", "/webhooks/quickbooks_online"),  # HMAC signature over the raw body
    ("POST", "/webhooks/xero"),
    ("GET", "/openapi.json"),  # the API description
    ("GET", "/docs"),  # Swagger UI
}
NOT_OBJECT_IDS = {"system"}
"""Path parameters that name a provider, not an object any tenant owns: nothing of B's to put there."""

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/customers/{customer_id}"): {"version": 1, "notes": "cross-tenant write"},
    ("PUT", "/customers/{customer_id}/health"): {"score": 3, "reason": "cross-tenant override"},
    ("POST", "/customers/{customer_id}/link"): {"external_id": "1", "reactivate": True},
    ("POST", "/customers/{customer_id}/archive"): {"version": 1},
    ("POST", "/customers/{customer_id}/unarchive"): {"version": 1},
    ("PATCH", "/settings"): {"import_inactive_customers": False},
}


def authorised_routes() -> list[ApiRoute]:
    return sorted((r for r in api_routes() if r.authorized), key=lambda r: (r.path, r.method))


def path_parameters(route: ApiRoute) -> list[str]:
    return re.findall(r"\{([A-Za-z0-9_]+)\}", route.path)


@dataclass
class TenantB:
    api: ConnectedApi
    customer: dict[str, Any]
    run_id: str
    markers: tuple[str, ...]

    def ids(self) -> dict[str, str]:
        return {"customer_id": self.customer["id"], "run_id": self.run_id}


@pytest.fixture(scope="module")
def tenant_b(stack: LocalStack) -> Iterator[TenantB]:
    b = ConnectedApi(stack, "quickbooks_online")
    ours(b.tenant_id)
    b.connect()
    secret_name = f"Tenant B Secret {uuid.uuid4().hex[:6]}"
    created = b.create_customer(secret_name, email="b-only@tenant-b.example", notes="B private notes")
    customer = b.get(f"/customers/{created['id']}").json()  # as kept after the push
    run = b.post("/sync")
    assert run.status_code == 202, run.text
    assert b.patch("/settings", json={"import_inactive_customers": True}).status_code == 200
    yield TenantB(
        api=b,
        customer=customer,
        run_id=run.json()["id"],
        markers=(secret_name, "b-only@tenant-b.example", "B private notes", run.json()["id"], b.tenant_id),
    )


def test_every_path_parameter_has_an_id_builder() -> None:
    builders = {"customer_id", "run_id"} | NOT_OBJECT_IDS
    missing = sorted(
        f"{route.method} {route.path} ({name})"
        for route in authorised_routes()
        for name in path_parameters(route)
        if name not in builders
    )
    assert not missing, f"add coverage for {missing}: build tenant B's id for it in tests/integration/reliability"


def test_public_routes_are_exactly_the_documented_ones() -> None:
    assert {(r.method, r.path) for r in api_routes() if not r.authorized} == PUBLIC_ROUTES


def test_openapi_document_lists_every_route_with_its_real_security() -> None:
    document = build_docs_resolver().get_openapi_json_schema(**schema_options())
    paths = json.loads(document)["paths"]
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    deployed = {(r.method, r.path) for r in api_routes()} - {("GET", "/openapi.json"), ("GET", "/docs")}
    assert documented == deployed
    public = {(m.upper(), p) for p, ops in paths.items() for m, op in ops.items() if op.get("security") == [{}]}
    assert public == PUBLIC_ROUTES - {("GET", "/openapi.json"), ("GET", "/docs")}


def _assert_no_b_data(response: requests.Response, tenant_b: TenantB, where: str, sent: str = "") -> None:
    """None of B's data in the answer; an id A itself put in the path may be named back (the 404 detail
    says which id was not found), which tells A nothing it did not send."""
    for marker in tenant_b.markers:
        if marker in sent:
            continue
        assert marker not in response.text, (where, marker, response.status_code)


@pytest.mark.parametrize(
    "route",
    [r for r in authorised_routes() if set(path_parameters(r)) - NOT_OBJECT_IDS],
    ids=lambda r: f"{r.method} {r.path}",
)
def test_tenant_b_ids_in_the_path_are_404_for_tenant_a(api: Api, tenant_b: TenantB, route: ApiRoute) -> None:
    path = route.path
    for name, value in tenant_b.ids().items():
        path = path.replace("{" + name + "}", value)
    response = api.request(route.method, path, json=BODIES.get((route.method, route.path)))
    assert response.status_code == 404, (route.path, response.status_code, response.text)
    _assert_no_b_data(response, tenant_b, route.path, sent=path)
    assert tenant_b.customer["display_name"] not in response.text  # never B's data, even for a B id
    # and nothing of B's changed
    theirs = tenant_b.api.get(f"/customers/{tenant_b.customer['id']}").json()
    assert _stable(theirs) == _stable(tenant_b.customer)


def _stable(customer: dict[str, Any]) -> dict[str, Any]:
    keys = ("version", "archived", "notes", "display_name", "email", "external", "updated_at")
    return {key: customer[key] for key in keys} | {"override": customer["health"]["override"]}


@pytest.mark.parametrize("route", authorised_routes(), ids=lambda r: f"{r.method} {r.path}")
def test_tenant_b_id_in_query_body_or_header_changes_nothing(api: Api, tenant_b: TenantB, route: ApiRoute) -> None:
    own = api.create_customer("Tenant A Customer")
    path = route.path.replace("{customer_id}", own["id"]).replace("{run_id}", "run_0000000000000000000000")
    path = path.replace("{system}", "quickbooks_online")
    b_id = tenant_b.api.tenant_id
    body = {**BODIES.get((route.method, route.path), {}), "tenant_id": b_id} if route.method != "GET" else None
    response = api.request(
        route.method,
        path,
        params={"tenant_id": b_id, "tenant": b_id, "customer_id": tenant_b.customer["id"]},
        headers={"X-Tenant-Id": b_id, "X-Amz-Tenant-Id": b_id},
        json=body,
    )
    assert response.status_code < 500, response.text
    _assert_no_b_data(response, tenant_b, route.path)
    # Reads answer for A: A's list, A's settings, A's connection.
    assert api.get("/customers", headers={"X-Tenant-Id": b_id}).json()["items"][0]["id"] == own["id"]
    assert api.get("/settings", headers={"X-Tenant-Id": b_id}).json()["import_inactive_customers"] is False
    assert api.get("/connection", headers={"X-Tenant-Id": b_id}).json()["status"] == "not_connected"
    assert tenant_b.run_id not in api.get("/sync/runs", headers={"X-Tenant-Id": b_id}).text


def _bad_tokens() -> dict[str, str | None]:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "custom:tenant_id": "t-forged",
        "token_use": "id",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    secret = jwt_secret()
    return {
        "missing": None,
        "forged (wrong key)": jwt.encode(claims, "not-the-secret", algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": now - 5}, secret, algorithm="HS256"),
        "wrong audience": jwt.encode({**claims, "aud": "someone-elses-app"}, secret, algorithm="HS256"),
        "wrong issuer": jwt.encode({**claims, "iss": "https://evil.example"}, secret, algorithm="HS256"),
        "alg none": jwt.encode(claims, key=None, algorithm="none"),  # type: ignore[arg-type]
        "no tenant": jwt.encode({k: v for k, v in claims.items() if k != "custom:tenant_id"}, secret),
        "access token": jwt.encode({**claims, "token_use": "access"}, secret, algorithm="HS256"),
        "tenant is not a string": jwt.encode({**claims, "custom:tenant_id": ["t-a", "t-b"]}, secret),
        "garbage": "not.a.jwt",
        "valid token, no Bearer scheme": "Basic " + issue_token("t-forged"),
    }


@pytest.mark.parametrize("kind", sorted(_bad_tokens()))
def test_bad_tokens_are_401_on_every_authorised_route(stack: LocalStack, kind: str) -> None:
    token = _bad_tokens()[kind]
    if kind == "valid token, no Bearer scheme":
        headers = {"Authorization": str(token)}
    else:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    for route in authorised_routes():
        url = stack.api_url + re.sub(r"\{[a-z_]+\}", "cus_0123456789abcdef0123", route.path)
        response = requests.request(route.method, url, headers=headers, json={}, timeout=10)
        assert response.status_code == 401, (kind, route.method, route.path, response.text)
        assert response.json() == {"message": "Unauthorized"}
