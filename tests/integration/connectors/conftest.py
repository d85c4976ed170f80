"""Both emulators over real HTTP on loopback, and a connected adapter per test (real OAuth code flow).

For Xero, every request the connector sends and every response it receives goes through Xero's official
OpenAPI document (`local.contracts.xero_openapi`); a violation fails the test at teardown.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from arsync.connectors.base import AccountingConnector, TokenSet
from arsync.connectors.http import RateLimiterRegistry, RetryPolicy, Timeouts
from arsync.connectors.quickbooks import QuickBooksConfig, QuickBooksOnlineConnector
from arsync.connectors.tokens import InMemoryTokenStore, TokenManager
from arsync.connectors.xero import XeroConfig, XeroConnector
from arsync.models.common import AccountingSystem

CLIENT_ID = "arsync-contract-tests"
CLIENT_SECRET = "contract-secret"  # a test fixture value, not a real secret
REDIRECT_URI = "http://127.0.0.1:3000/connection/callback"
SYSTEMS = ("quickbooks_online", "xero")

# Fast but real policy for tests: short backoff; Retry-After still honoured in full.
TEST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)


@pytest.fixture(scope="session")
def emulators() -> Iterator[dict[str, Any]]:
    quickbooks = pytest.importorskip("local.emulators.quickbooks")
    xero = pytest.importorskip("local.emulators.xero")
    running = {"quickbooks_online": quickbooks.serve_in_thread(port=0), "xero": xero.serve_in_thread(port=0)}
    yield running
    for emulator in running.values():
        emulator.stop()


class Admin:
    """The emulator's /_admin surface (never part of the provider API)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.http = requests.Session()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.base}/_admin/{path.lstrip('/')}", json=body, timeout=120)
        assert response.status_code < 300, f"admin {method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    def requests_log(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "requests")["entries"])


class ContractCheckingAdapter(HTTPAdapter):
    """Runs every Xero API request and response through the vendor's OpenAPI document."""

    def __init__(self) -> None:
        super().__init__()
        self.violations: list[str] = []
        self.checked = 0
        self._lock = threading.Lock()
        from local.contracts import xero_openapi

        self.contract = xero_openapi

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        api = "/api.xro/2.0/" in (request.url or "")
        if api:
            self._check(lambda: self.contract.validate_request(request))
        response = super().send(request, *args, **kwargs)
        if api:
            self._check(lambda: self._check_response(request, response))
        return response

    def _check_response(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        status = response.status_code
        if status in (200, 400):
            self.contract.validate_response(request, response)
        elif status in (401, 403, 429):
            self.contract.check_error_shape(response)
        # 404: documented-loose (Xero sends a non-JSON text body; the document defines no 404). Not checked.

    def _check(self, check: Any) -> None:
        try:
            check()
        except self.contract.ContractViolation as exc:
            with self._lock:
                self.violations.append(str(exc))
        with self._lock:
            self.checked += 1


@dataclass
class Env:
    """One connected account on one emulator."""

    system: str
    admin: Admin
    base_url: str
    company_id: str
    connector: AccountingConnector
    manager: TokenManager
    store: InMemoryTokenStore
    tokens: TokenSet
    contract: ContractCheckingAdapter | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"tenant-1#{self.system}"

    def new_connector(self, *, company_id: str | None = None) -> AccountingConnector:
        return make_connector(self.system, self.base_url, company_id, self.session, RateLimiterRegistry())

    @property
    def session(self) -> requests.Session:
        return self.connector.http.session  # type: ignore[attr-defined]

    def seed(self, **params: Any) -> dict[str, Any]:
        return dict(self.admin.call("POST", f"companies/{self.company_id}/seed", params))

    def state(self) -> dict[str, Any]:
        return dict(self.admin.call("GET", f"companies/{self.company_id}/state"))


def make_connector(
    system: str,
    base_url: str,
    company_id: str | None,
    session: requests.Session,
    limiters: RateLimiterRegistry,
) -> AccountingConnector:
    common: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "company_id": company_id,
        "timeouts": Timeouts(connect=2.0, read=30.0),
        "retry": TEST_RETRY,
    }
    if system == "quickbooks_online":
        return QuickBooksOnlineConnector(
            QuickBooksConfig.for_base_url(base_url, **common), session=session, limiters=limiters
        )
    return XeroConnector(XeroConfig.for_base_url(base_url, **common), session=session, limiters=limiters)


def authorize(connector: AccountingConnector, admin_session: requests.Session) -> tuple[str, str | None]:
    """Follow the provider's consent redirect (the emulators consent at once) and return (code, realmId)."""
    url = connector.authorization_url("state-123", REDIRECT_URI)
    response = admin_session.get(url, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text[:300]
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["state-123"]
    return query["code"][0], query.get("realmId", [""])[0] or None


@pytest.fixture(params=SYSTEMS)
def env(request: pytest.FixtureRequest, emulators: dict[str, Any]) -> Iterator[Env]:
    system = request.param
    base_url = emulators[system].base_url
    admin = Admin(base_url)
    admin.call("POST", "reset")
    admin.call("POST", "clock", {"set": datetime.now(UTC).isoformat()})
    admin.call(
        "POST",
        "oauth/clients",
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT_URI]},
    )
    company_id = str(admin.call("POST", "companies", {"name": f"Contract {system}"})["company_id"])

    session = requests.Session()
    contract: ContractCheckingAdapter | None = None
    if system == "xero":
        contract = ContractCheckingAdapter()
        session.mount("http://", contract)
    limiters = RateLimiterRegistry()

    bootstrap = make_connector(system, base_url, None, session, limiters)
    code, realm = authorize(bootstrap, admin.http)
    tokens = bootstrap.exchange_code(code, REDIRECT_URI, company_id=realm)
    assert tokens.company_id == company_id

    connector = make_connector(system, base_url, company_id, session, limiters)
    store = InMemoryTokenStore()
    store.save(f"tenant-1#{system}", tokens, expected_version=None)
    manager = TokenManager(store, connector, f"tenant-1#{system}", poll_interval_seconds=0.01)
    connector.credentials = manager  # type: ignore[attr-defined]
    yield Env(system, admin, base_url, company_id, connector, manager, store, tokens, contract)

    if contract is not None:
        assert contract.violations == [], "Xero contract violations:\n" + "\n".join(contract.violations)


def system_of(env: Env) -> AccountingSystem:
    return AccountingSystem(env.system)
