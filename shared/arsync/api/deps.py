"""Dependency slots the routes declare with `Depends(...)`.

Each function's composition root (functions/<name>/app.py) fills the slots it serves through
`app.dependency_overrides`; an unfilled slot is a wiring bug and fails loudly. A slot is named after the
service it stands for; the route's `Annotated[Service, Depends(slot)]` gives the type.

A slot never returns, and says so. Naming the services here would make every API function import every
service (the account function's OAuth JWT code, the health model, the sync engine) at cold start, and
Powertools re-reads each dependency's type hints on every request: a string annotation (`from __future__
import annotations`) is compiled anew each time, which is why the API modules do not use it.
"""

from typing import NoReturn


class DependencyNotWired(RuntimeError):
    pass


def _unwired(name: str) -> NoReturn:
    raise DependencyNotWired(f"{name} is not wired in this function's composition root")


def customer_service() -> NoReturn:
    _unwired("customer_service")


def settings_service() -> NoReturn:
    _unwired("settings_service")


def resync_service() -> NoReturn:
    _unwired("resync_service")


def balance_check_service() -> NoReturn:
    _unwired("balance_check_service")


def connection_service() -> NoReturn:
    _unwired("connection_service")


def webhook_service() -> NoReturn:
    _unwired("webhook_service")


def sync_service() -> NoReturn:
    _unwired("sync_service")


def health_service() -> NoReturn:
    _unwired("health_service")
