"""Dependency slots the routes declare with `Depends(...)`.

Each function's composition root (functions/<name>/app.py) fills the slots it serves through
`app.dependency_overrides`; an unfilled slot is a wiring bug and fails loudly.
"""

from __future__ import annotations

from arsync.services.customers import CustomerService
from arsync.services.settings import SettingsService


class DependencyNotWired(RuntimeError):
    pass


def customer_service() -> CustomerService:
    raise DependencyNotWired("customer_service is not wired in this function's composition root")


def settings_service() -> SettingsService:
    raise DependencyNotWired("settings_service is not wired in this function's composition root")
