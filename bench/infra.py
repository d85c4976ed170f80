"""The benchmark's own minimal stack: moto and both emulators as child processes (real cross-process HTTP, no
shared GIL), a connected connector per emulator, and counters on the boto3 clients."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from arsync.connectors.base import AccountingConnector
from arsync.connectors.http import RateLimiterRegistry, RateLimits, RetryPolicy, Timeouts
from arsync.connectors.quickbooks import QuickBooksConfig, QuickBooksOnlineConnector
from arsync.connectors.tokens import InMemoryTokenStore, TokenManager
from arsync.connectors.xero import XeroConfig, XeroConnector
from local.aws import LocalResources, free_port, provision

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID = "arsync-bench"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - a local emulator fixture, not a secret
REDIRECT_URI = "http://127.0.0.1:3000/connection/callback"
SYSTEMS = ("quickbooks_online", "xero")
EMULATOR_MODULES = {"quickbooks_online": "local.emulators.quickbooks", "xero": "local.emulators.xero"}
# Far above anything a 50k import needs, on both sides (the provider's real limits are reported as a computed
# wait, not slept through): see docs/performance.md.
UNLIMITED = 10_000_000
BENCH_LIMITS = RateLimits(per_minute=UNLIMITED, concurrent=64)
REAL_PER_MINUTE = {"quickbooks_online": 500, "xero": 60}
WRITE_OPS = frozenset({"BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"})


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "shared"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


class ChildEmulator:
    """`python -m local.emulators.<name> --port N` in its own process; always terminated by `stop()`."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChildEmulator:
        self.process = subprocess.Popen(
            [sys.executable, "-m", EMULATOR_MODULES[self.system], "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_port(self.port)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class Admin:
    """The emulator's /_admin surface."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.http = requests.Session()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.base}/_admin/{path.lstrip('/')}", json=body, timeout=600)
        if response.status_code >= 300:
            raise RuntimeError(f"admin {method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def by_endpoint(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.call("GET", "requests")["by_endpoint"].items()}

    def api_requests(self) -> int:
        """Provider API requests in the log (OAuth and admin calls are not provider data requests)."""
        return sum(v for k, v in self.by_endpoint().items() if _is_data_endpoint(k))


def _is_data_endpoint(endpoint: str) -> bool:
    path = endpoint.split(" ", 1)[-1]
    return path.startswith(("/v3/", "/api.xro/"))


@dataclass
class Account:
    """One connected company on one emulator."""

    system: str
    admin: Admin
    base_url: str
    company_id: str
    connector: AccountingConnector
    session: requests.Session
    tokens: TokenManager

    @property
    def access_token(self) -> str:
        """The current token (the connector may have refreshed it)."""
        return self.tokens.access_token()


def _make_connector(system: str, base_url: str, company_id: str | None, session: requests.Session) -> Any:
    common: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "company_id": company_id,
        "timeouts": Timeouts(connect=5.0, read=120.0),
        "retry": RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=5.0),
        "limits": BENCH_LIMITS,
    }
    limiters = RateLimiterRegistry()
    if system == "quickbooks_online":
        return QuickBooksOnlineConnector(
            QuickBooksConfig.for_base_url(base_url, **common), session=session, limiters=limiters
        )
    return XeroConnector(XeroConfig.for_base_url(base_url, **common), session=session, limiters=limiters)


def connect_account(system: str, base_url: str, customers: int, invoices_per_customer: tuple[int, int]) -> Account:
    """Reset the emulator, lift its limits, create and seed one company, and connect over the real OAuth flow.

    The seed runs with the emulator clock two hours back, so the seeded timestamps lie outside the incremental
    sync's overlap window (otherwise the first incremental sync would see every record as just changed)."""
    admin = Admin(base_url)
    admin.call("POST", "reset")
    admin.call("POST", "limits", {"per_minute": UNLIMITED, "concurrent": 1000, "per_day": UNLIMITED})
    if system == "xero":
        admin.call("POST", "limits", {"app_per_minute": UNLIMITED})
    else:
        admin.call("POST", "limits/batch", {"per_minute": UNLIMITED})  # a full import sends one batch per list
    admin.call("POST", "clock", {"set": (datetime.now(UTC) - timedelta(hours=2)).isoformat()})
    admin.call(
        "POST",
        "oauth/clients",
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT_URI]},
    )
    company_id = str(admin.call("POST", "companies", {"name": f"Bench {system}"})["company_id"])
    admin.call(
        "POST",
        f"companies/{company_id}/seed",
        {"customers": customers, "seed": 1, "invoices_per_customer": list(invoices_per_customer)},
    )
    admin.call("POST", "clock", {"set": datetime.now(UTC).isoformat()})
    session = requests.Session()
    bootstrap = _make_connector(system, base_url, None, session)
    response = admin.http.get(bootstrap.authorization_url("state-1", REDIRECT_URI), allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    realm = query.get("realmId", [""])[0] or None
    tokens = bootstrap.exchange_code(query["code"][0], REDIRECT_URI, company_id=realm)
    connector = _make_connector(system, base_url, company_id, session)
    store = InMemoryTokenStore()
    store.save(f"bench#{system}", tokens, expected_version=None)
    manager = TokenManager(store, connector, f"bench#{system}", poll_interval_seconds=0.01)
    connector.credentials = manager
    admin.call("DELETE", "requests")
    return Account(system, admin, base_url, company_id, connector, session, manager)


@dataclass
class CallCounter:
    """Counts boto3 API calls by operation (botocore `before-parameter-build` hook: once per API call, before
    retries) and the items each write carries."""

    calls: Counter[str] = field(default_factory=Counter)
    items_written: int = 0
    writes_by_prefix: Counter[str] = field(default_factory=Counter)
    captured: list[dict[str, Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any) -> Any:
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-parameter-build.{service}.*", self._before_call)
        return client

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        name = model.name
        with self._lock:
            self.calls[name] += 1
            if name == "BatchWriteItem":
                for requests_ in params.get("RequestItems", {}).values():
                    self.items_written += len(requests_)
                    for r in requests_:
                        self._prefix(r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key"))
                    if self.captured is not None:
                        self.captured.extend(r["PutRequest"]["Item"] for r in requests_ if "PutRequest" in r)
            elif name == "TransactWriteItems":
                self.items_written += len(params.get("TransactItems", []))
            elif name in WRITE_OPS:
                self.items_written += 1
                self._prefix(params.get("Item") or params.get("Key"))

    def _prefix(self, item: dict[str, Any] | None) -> None:
        """What kind of item a write touched: the sort key up to its first '#' (CUSTOMER, DOC, SYNC, ...)."""
        sort_key = str(((item or {}).get("SK") or {}).get("S", ""))
        self.writes_by_prefix[sort_key.split("#", 1)[0]] += 1

    @property
    def write_requests(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITE_OPS)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.items_written = 0
            self.writes_by_prefix.clear()
            if self.captured is not None:
                self.captured.clear()


@contextmanager
def moto_stack(table_name: str | None = None) -> Iterator[tuple[str, LocalResources]]:
    """moto in a child process (`bench.moto_server`: Query reads one partition), provisioned as template.yaml
    declares; always stopped. Yields its endpoint and the provisioned resources."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        resources = provision(endpoint) if table_name is None else provision(endpoint, table_name)
        yield endpoint, resources
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def own_table(resources: LocalResources, label: str) -> LocalResources:
    """A fresh table (same schema, same moto) for one scenario.

    moto answers every Query, on the table or a GSI, by walking every item of the *table*; real DynamoDB reads
    only the partition asked for. Sharing one table would make each scenario pay for the items of all the
    scenarios before it (the 10k run's health, fan-out and 1% sync queries mostly measured that)."""
    table = f"arsync-bench-{label}-{uuid.uuid4().hex[:6]}"
    provision(resources.endpoint_url, table)
    return dataclasses.replace(resources, table_name=table)


@contextmanager
def emulators(systems: tuple[str, ...] = SYSTEMS) -> Iterator[dict[str, ChildEmulator]]:
    running: dict[str, ChildEmulator] = {}
    try:
        for system in systems:
            running[system] = ChildEmulator(system).start()
        yield running
    finally:
        for emulator in running.values():
            emulator.stop()


def boto_client(service: str, endpoint_url: str) -> Any:
    """A plain client with the same fake credentials and retry config as arsync.aws.client."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=60)
    return boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        aws_session_token="testing",  # noqa: S106
        region_name="us-east-1",
    ).client(service, endpoint_url=endpoint_url, config=config)
