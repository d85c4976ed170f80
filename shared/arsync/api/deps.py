"""Dependency slots the routes declare with `Depends(...)`.

Each function's composition root (functions/<name>/app.py) fills the slots it serves through
`app.dependency_overrides`; an unfilled slot is a wiring bug and fails loudly.
"""

from __future__ import annotations

from typing import NoReturn

from arsync.services.balances import BalanceCheckService
from arsync.services.connection import ConnectionService
from arsync.services.customers import CustomerService
from arsync.services.health import HealthService
from arsync.services.resync import ResyncService
from arsync.services.settings import SettingsService
from arsync.services.webhooks import WebhookService
from arsync.sync.service import SyncService


class DependencyNotWired(RuntimeError):
    pass


def _unwired(name: str) -> NoReturn:
    raise DependencyNotWired(f"{name} is not wired in this function's composition root")


def customer_service() -> CustomerService:
    _unwired("customer_service")


def settings_service() -> SettingsService:
    _unwired("settings_service")


def resync_service() -> ResyncService:
    _unwired("resync_service")


def balance_check_service() -> BalanceCheckService:
    _unwired("balance_check_service")


def connection_service() -> ConnectionService:
    _unwired("connection_service")


def webhook_service() -> WebhookService:
    _unwired("webhook_service")


def sync_service() -> SyncService:
    _unwired("sync_service")


def health_service() -> HealthService:
    _unwired("health_service")
