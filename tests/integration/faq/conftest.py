"""Connected accounts for the FAQ scenarios: the real OAuth code flow through the local gateway."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from local.stack import LocalStack
from tests.integration.conftest import Api

SYSTEMS = ["quickbooks_online", "xero"]


class ConnectedApi(Api):
    """A tenant connected by OAuth to a company of its own in the emulator (seeded like the sandbox),
    so tests neither share provider data nor one company's rate limits."""

    def __init__(self, stack: LocalStack, system: str, customers: int = 40) -> None:
        super().__init__(stack.api_url, f"t-{system[:4]}-{uuid.uuid4().hex[:10]}")
        self.stack = stack
        self.system = system
        self.emulator = stack.emulator(system)
        created = requests.post(f"{self.emulator.base_url}/_admin/companies", json={"name": self.tenant_id}, timeout=30)
        created.raise_for_status()
        self.company_id = str(created.json()["company_id"])
        requests.post(
            f"{self.emulator.base_url}/_admin/companies/{self.company_id}/seed",
            json={"customers": customers, "seed": 11, "clash_name": "Acme Supplies"},
            timeout=60,
        ).raise_for_status()

    def connect(self) -> dict[str, Any]:
        start = self.post(f"/connection/{self.system}/authorize")
        assert start.status_code == 200, start.text
        consent = requests.get(
            start.json()["authorization_url"], params={"company": self.company_id}, allow_redirects=False, timeout=30
        )
        assert consent.status_code == 302, consent.text
        callback = requests.get(consent.headers["Location"], timeout=60)
        assert callback.status_code == 200, callback.text
        body: dict[str, Any] = callback.json()
        return body

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(method, f"{self.emulator.base_url}/_admin{path}", timeout=60, **kwargs)
        assert response.status_code < 400, response.text
        return response

    def requests_to(self, method: str, fragment: str) -> int:
        log = self.admin("GET", "/requests").json()
        return sum(1 for e in log["entries"] if e["method"] == method and fragment in e["path"])


@pytest.fixture(params=SYSTEMS)
def connected(request: pytest.FixtureRequest, stack: LocalStack) -> ConnectedApi:
    api = ConnectedApi(stack, request.param)
    api.connect()
    return api
