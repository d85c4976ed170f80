"""The whole local stack in one process: moto server, (emulators,) local API gateway, scheduler and poller.

`python -m local.stack` (make serve) runs it in the foreground until Ctrl-C; tests and the demo start
it with `LocalStack().start()` on ephemeral ports and `stop()` it when done. Nothing listens beyond
127.0.0.1 and nothing is left running after stop.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

from local import gateway
from local.aws import LocalResources, MotoServer, apply_environment, provision
from local.emulators import quickbooks, xero
from local.scheduler import Scheduler

QBO_CLIENT = ("qbo-emulator-client", "qbo-emulator-secret")
XERO_CLIENT = ("arsync-local", "arsync-local-secret")
QBO_WEBHOOK_VERIFIER = "local-qbo-verifier"
XERO_WEBHOOK_KEY = "local-xero-webhook-key"
SANDBOX_COMPANY = "Sandbox Company_US_1"

log = logging.getLogger("local.stack")


def reset_function_caches() -> None:
    """Functions cache their settings and clients per container; the local stack is one 'container'."""
    from arsync import aws
    from arsync.config import get_settings

    get_settings.cache_clear()
    aws.client.cache_clear()


@dataclass
class LocalStack:
    gateway_port: int = 3000
    moto_port: int = 0
    moto_in_process: bool = True
    extra_environment: dict[str, str] = field(default_factory=dict)
    seed_customers: int = 200
    run_event_sources: bool = False
    """Background schedules and queue polling (make serve); tests and the demo drive `scheduler` directly."""
    scheduler: Scheduler | None = None
    moto: MotoServer | None = None
    resources: LocalResources | None = None
    api: gateway.RunningGateway | None = None
    qbo: Any = None
    xero: Any = None
    sandbox: dict[str, str] = field(default_factory=dict)
    _stoppers: list[Any] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        assert self.api is not None
        return self.api.base_url

    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.moto = MotoServer(self.moto_port, in_process=self.moto_in_process).start()
        self._stoppers.append(self.moto.stop)
        self.resources = provision(self.moto.endpoint_url)
        self.qbo = quickbooks.serve_in_thread(port=0)
        self._stoppers.append(self.qbo.stop)
        self.xero = xero.serve_in_thread(port=0)
        self._stoppers.append(self.xero.stop)
        self.api = gateway.serve_in_thread(self.gateway_port)
        self._stoppers.append(self.api.stop)
        apply_environment(self.resources, {**self.provider_environment(), **self.extra_environment})
        reset_function_caches()
        self._seed_sandboxes()
        self.scheduler = Scheduler(self.resources, failed_visibility_seconds=5)
        if self.run_event_sources:
            self.scheduler.start()
            self._stoppers.append(self.scheduler.stop)
        return self

    def provider_environment(self) -> dict[str, str]:
        """What a deployed stack gets from Parameters and the AppSecret, pointed at the emulators."""
        assert self.qbo is not None and self.xero is not None and self.api is not None
        qbo, xero_url = self.qbo.base_url, self.xero.base_url
        return {
            "QBO_CLIENT_ID": QBO_CLIENT[0],
            "QBO_CLIENT_SECRET": QBO_CLIENT[1],
            "QBO_AUTH_URL": f"{qbo}/connect/oauth2",
            "QBO_TOKEN_URL": f"{qbo}/oauth2/v1/tokens/bearer",
            "QBO_REVOKE_URL": f"{qbo}/v2/oauth2/tokens/revoke",
            "QBO_API_URL": qbo,
            "QBO_WEBHOOK_VERIFIER": QBO_WEBHOOK_VERIFIER,
            "XERO_CLIENT_ID": XERO_CLIENT[0],
            "XERO_CLIENT_SECRET": XERO_CLIENT[1],
            "XERO_AUTH_URL": f"{xero_url}/identity/connect/authorize",
            "XERO_TOKEN_URL": f"{xero_url}/connect/token",
            "XERO_REVOKE_URL": f"{xero_url}/connect/revocation",
            "XERO_CONNECTIONS_URL": f"{xero_url}/connections",
            "XERO_API_URL": f"{xero_url}/api.xro/2.0",
            "XERO_WEBHOOK_KEY": XERO_WEBHOOK_KEY,
            "OAUTH_REDIRECT_URI": f"{self.api.base_url}/connection/callback",
            "OAUTH_STATE_SECRET": "local-oauth-state-secret-0123456789abcdef",
        }

    def _seed_sandboxes(self) -> None:
        """One sandbox company per system with realistic history (incl. the inactive 'Acme Supplies')."""
        assert self.qbo is not None and self.xero is not None and self.api is not None
        for system, emulator, key in (
            ("quickbooks_online", self.qbo, QBO_WEBHOOK_VERIFIER),
            ("xero", self.xero, XERO_WEBHOOK_KEY),
        ):
            company = requests.post(f"{emulator.base_url}/_admin/companies", json={"name": SANDBOX_COMPANY}, timeout=30)
            company.raise_for_status()
            company_id = str(company.json()["company_id"])
            seeded = requests.post(
                f"{emulator.base_url}/_admin/companies/{company_id}/seed",
                json={"customers": self.seed_customers, "seed": 7, "clash_name": "Acme Supplies"},
                timeout=120,
            )
            seeded.raise_for_status()
            requests.post(
                f"{emulator.base_url}/_admin/webhooks",
                json={"url": f"{self.api.base_url}/webhooks/{system}", "key": key},
                timeout=30,
            ).raise_for_status()
            self.sandbox[system] = company_id

    def emulator(self, system: str) -> Any:
        return self.qbo if system == "quickbooks_online" else self.xero

    def stop(self) -> None:
        while self._stoppers:
            stop = self._stoppers.pop()
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", stop)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the arsync local stack (make serve)")
    parser.add_argument("--port", type=int, default=3000, help="local API gateway port (default 3000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stack = LocalStack(gateway_port=args.port, moto_in_process=False, run_event_sources=True).start()
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    log.info(
        'API on %s (try: curl -H "Authorization: Bearer $(python -m local.auth --tenant demo)" %s/customers)',
        stack.api_url,
        stack.api_url,
    )
    log.info("moto server on %s; Ctrl-C stops everything", stack.resources.endpoint_url if stack.resources else "")
    log.info(
        "QuickBooks Online emulator on %s, Xero emulator on %s (sandbox companies %s)",
        stack.qbo.base_url,
        stack.xero.base_url,
        stack.sandbox,
    )
    try:
        stopped.wait()
    finally:
        stack.stop()
        log.info("stopped")


if __name__ == "__main__":
    main()
