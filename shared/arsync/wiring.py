"""Factories that assemble services from concrete adapters. Each function's composition root
(functions/<name>/app.py) calls the ones it needs once, lazily, and caches the result."""

from __future__ import annotations

from arsync.config import Settings
from arsync.services.customers import CustomerService
from arsync.services.settings import SettingsService
from arsync.store.dynamodb import DynamoAccountRepository, DynamoCustomerRepository
from arsync.store.idempotency import PowertoolsIdempotencyGuard


def customer_service(settings: Settings) -> CustomerService:
    return CustomerService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        idempotency=PowertoolsIdempotencyGuard(settings.TABLE_NAME, settings.IDEMPOTENCY_TTL_SECONDS),
    )


def settings_service(settings: Settings) -> SettingsService:
    return SettingsService(accounts=DynamoAccountRepository(settings.TABLE_NAME))
