"""Factories that assemble services from concrete adapters. Each function's composition root
(functions/<name>/app.py) calls the ones it needs once, lazily, and caches the result."""

from __future__ import annotations

from functools import partial

from arsync.config import Settings
from arsync.connectors.provider import ConnectorProvider
from arsync.models.common import AccountingSystem
from arsync.services.balances import BalanceCheckService
from arsync.services.connection import ConnectionService, record_needs_reauth
from arsync.services.customers import CustomerService
from arsync.services.health import HealthService
from arsync.services.push import PushService
from arsync.services.resync import RequestSync, ResyncService
from arsync.services.settings import SettingsService
from arsync.services.webhooks import WebhookService
from arsync.store.connections import DynamoConnectionExtras
from arsync.store.documents import DynamoCustomerDocuments
from arsync.store.dynamodb import DynamoAccountRepository, DynamoCustomerRepository
from arsync.store.idempotency import PowertoolsIdempotencyGuard
from arsync.store.tokens import SecretsManagerTokenStore
from arsync.sync.wiring import sync_service


def token_store(settings: Settings) -> SecretsManagerTokenStore:
    return SecretsManagerTokenStore(settings.TABLE_NAME, settings.TOKEN_SECRET_PREFIX)


def connector_provider(settings: Settings) -> ConnectorProvider:
    """One per container: it owns the HTTP sessions and the per-connection rate limiters."""
    return ConnectorProvider(settings, token_store(settings))


def push_service(settings: Settings, connectors: ConnectorProvider) -> PushService:
    accounts = DynamoAccountRepository(settings.TABLE_NAME)
    return PushService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        connector_for=connectors.connector,
        on_needs_reauth=partial(record_needs_reauth, accounts),
    )


def customer_service(settings: Settings, connectors: ConnectorProvider | None = None) -> CustomerService:
    return CustomerService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        idempotency=PowertoolsIdempotencyGuard(settings.TABLE_NAME, settings.IDEMPOTENCY_TTL_SECONDS),
        pusher=push_service(settings, connectors) if connectors is not None else None,
    )


def resync_service(
    settings: Settings, connectors: ConnectorProvider, request_sync: RequestSync | None = None
) -> ResyncService:
    return ResyncService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        documents=DynamoCustomerDocuments(settings.TABLE_NAME),
        pusher=push_service(settings, connectors),
        request_sync=request_sync,
    )


def balance_check_service(settings: Settings) -> BalanceCheckService:
    return BalanceCheckService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        documents=DynamoCustomerDocuments(settings.TABLE_NAME),
    )


def settings_service(settings: Settings) -> SettingsService:
    syncs = sync_service(settings)
    return SettingsService(
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        on_scope_widened=lambda tenant_id: syncs.request_full_sync(tenant_id, "manual"),
    )


def connection_service(settings: Settings, connectors: ConnectorProvider) -> ConnectionService:
    return ConnectionService(
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        extras=DynamoConnectionExtras(settings.TABLE_NAME),
        tokens=token_store(settings),
        connectors=connectors,
        state_secret=settings.OAUTH_STATE_SECRET.get_secret_value(),
        redirect_uri=settings.OAUTH_REDIRECT_URI,
    )


def webhook_service(settings: Settings) -> WebhookService:
    return WebhookService(
        store=DynamoConnectionExtras(settings.TABLE_NAME),
        syncs=sync_service(settings),
        keys={
            AccountingSystem.QUICKBOOKS_ONLINE: settings.QBO_WEBHOOK_VERIFIER.get_secret_value(),
            AccountingSystem.XERO: settings.XERO_WEBHOOK_KEY.get_secret_value(),
        },
    )


def health_service(settings: Settings) -> HealthService:
    return HealthService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        documents=DynamoCustomerDocuments(settings.TABLE_NAME),
    )
