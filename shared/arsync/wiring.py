"""Factories that assemble services from concrete adapters. Each function's composition root
(functions/<name>/app.py) calls the ones it needs once, lazily, and caches the result.

Each factory imports what it builds: every function imports this module, and a module-level import of every
service and adapter would make each function's cold start pay for all the others' (the OAuth-state JWT code
of the account function, the health model, the sync engine)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from arsync.config import Settings

if TYPE_CHECKING:
    from arsync.connectors.errors import AccountingError
    from arsync.connectors.provider import ConnectorProvider
    from arsync.services.balances import BalanceCheckService
    from arsync.services.connection import ConnectionService
    from arsync.services.customers import CustomerService
    from arsync.services.health import HealthService
    from arsync.services.push import PushService
    from arsync.services.resync import RequestSync, ResyncService
    from arsync.services.settings import SettingsService
    from arsync.services.webhooks import WebhookService
    from arsync.store.tokens import SecretsManagerTokenStore


def token_store(settings: Settings) -> SecretsManagerTokenStore:
    from arsync.store.tokens import SecretsManagerTokenStore

    return SecretsManagerTokenStore(settings.TABLE_NAME, settings.TOKEN_SECRET_PREFIX)


def connector_provider(settings: Settings) -> ConnectorProvider:
    """One per container: it owns the HTTP sessions and the per-connection rate limiters."""
    from arsync.connectors.provider import ConnectorProvider

    return ConnectorProvider(settings, partial(token_store, settings))


def push_service(settings: Settings, connectors: ConnectorProvider) -> PushService:
    from arsync.services.push import PushService
    from arsync.store.dynamodb import DynamoAccountRepository, DynamoCustomerRepository

    accounts = DynamoAccountRepository(settings.TABLE_NAME)

    def on_needs_reauth(tenant_id: str, error: AccountingError) -> None:
        """Imported when a provider first refuses our tokens: the connection service's module carries the
        OAuth-state JWT code, which pushing never needs."""
        from arsync.services.connection import record_needs_reauth

        record_needs_reauth(accounts, tenant_id, error)

    return PushService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        connector_for=connectors.connector,
        on_needs_reauth=on_needs_reauth,
    )


def customer_service(settings: Settings, connectors: ConnectorProvider | None = None) -> CustomerService:
    from arsync.services.customers import CustomerService
    from arsync.store.dynamodb import DynamoAccountRepository, DynamoCustomerRepository
    from arsync.store.idempotency import PowertoolsIdempotencyGuard

    return CustomerService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        idempotency=PowertoolsIdempotencyGuard(settings.TABLE_NAME, settings.IDEMPOTENCY_TTL_SECONDS),
        pusher=push_service(settings, connectors) if connectors is not None else None,
    )


def resync_service(
    settings: Settings, connectors: ConnectorProvider, request_sync: RequestSync | None = None
) -> ResyncService:
    from arsync.services.resync import ResyncService
    from arsync.store.documents import DynamoCustomerDocuments
    from arsync.store.dynamodb import DynamoAccountRepository, DynamoCustomerRepository

    return ResyncService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        documents=DynamoCustomerDocuments(settings.TABLE_NAME),
        pusher=push_service(settings, connectors),
        request_sync=request_sync,
    )


def balance_check_service(settings: Settings) -> BalanceCheckService:
    from arsync.services.balances import BalanceCheckService
    from arsync.store.documents import DynamoCustomerDocuments
    from arsync.store.dynamodb import DynamoCustomerRepository

    return BalanceCheckService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        documents=DynamoCustomerDocuments(settings.TABLE_NAME),
    )


def settings_service(settings: Settings) -> SettingsService:
    from arsync.services.settings import SettingsService
    from arsync.store.dynamodb import DynamoAccountRepository
    from arsync.sync.wiring import sync_service

    syncs = sync_service(settings)
    return SettingsService(
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        on_scope_widened=lambda tenant_id: syncs.request_full_sync(tenant_id, "manual"),
    )


def connection_service(settings: Settings, connectors: ConnectorProvider) -> ConnectionService:
    from arsync.services.connection import ConnectionService
    from arsync.store.connections import DynamoConnectionExtras
    from arsync.store.dynamodb import DynamoAccountRepository

    return ConnectionService(
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
        extras=DynamoConnectionExtras(settings.TABLE_NAME),
        tokens=token_store(settings),
        connectors=connectors,
        state_secret=settings.OAUTH_STATE_SECRET.get_secret_value(),
        redirect_uri=settings.OAUTH_REDIRECT_URI,
    )


def webhook_service(settings: Settings) -> WebhookService:
    from arsync.models.common import AccountingSystem
    from arsync.services.webhooks import WebhookService
    from arsync.store.connections import DynamoConnectionExtras
    from arsync.sync.wiring import sync_service

    return WebhookService(
        store=DynamoConnectionExtras(settings.TABLE_NAME),
        syncs=sync_service(settings),
        keys={
            AccountingSystem.QUICKBOOKS_ONLINE: settings.QBO_WEBHOOK_VERIFIER.get_secret_value(),
            AccountingSystem.XERO: settings.XERO_WEBHOOK_KEY.get_secret_value(),
        },
    )


def health_service(settings: Settings) -> HealthService:
    from arsync.services.health import HealthService
    from arsync.store.documents import DynamoCustomerDocuments
    from arsync.store.dynamodb import DynamoCustomerRepository

    return HealthService(
        customers=DynamoCustomerRepository(settings.TABLE_NAME),
        documents=DynamoCustomerDocuments(settings.TABLE_NAME),
    )
