"""Integration fixtures: the local stack (moto server over HTTP + local API gateway) once per session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.auth import issue_token
from local.stack import LocalStack


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(gateway_port=0, seed_customers=60) as running:
        yield running


class Api:
    """A tenant's HTTP client for the local gateway (one session, bearer token attached)."""

    def __init__(self, base_url: str, tenant_id: str) -> None:
        self.base_url = base_url
        self.tenant_id = tenant_id
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {issue_token(tenant_id)}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def create_customer(self, display_name: str, **fields: Any) -> dict[str, Any]:
        response = self.post("/customers", json={"display_name": display_name, **fields})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def tenant_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def api(stack: LocalStack, tenant_id: str) -> Api:
    return Api(stack.api_url, tenant_id)


@pytest.fixture
def other_api(stack: LocalStack) -> Api:
    return Api(stack.api_url, f"t-{uuid.uuid4().hex[:12]}")
