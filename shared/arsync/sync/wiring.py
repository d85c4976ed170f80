"""Factories for the sync functions' composition roots (and for the API's sync routes)."""

from __future__ import annotations

from functools import partial

from arsync.config import Settings
from arsync.store.dynamodb import DynamoAccountRepository
from arsync.store.sync_store import DynamoSyncStore
from arsync.sync.queue import SqsSyncQueue
from arsync.sync.service import SyncService
from arsync.sync.worker import ConnectorProvider, NeedsReauthCallback, SyncWorker


def sync_service(settings: Settings) -> SyncService:
    """What `POST /sync`, `GET /sync/runs[/{id}]`, webhooks, re-sync and the dispatcher call."""
    return SyncService(
        store=DynamoSyncStore(settings.TABLE_NAME),
        queue=SqsSyncQueue(settings.SYNC_QUEUE_URL),
        accounts=DynamoAccountRepository(settings.TABLE_NAME),
    )


def sync_worker(
    settings: Settings,
    connectors: ConnectorProvider | None = None,
    on_needs_reauth: NeedsReauthCallback | None = None,
) -> SyncWorker:
    """The worker with the real connector provider (token store) unless one is injected (tests, benchmarks)."""
    accounts = DynamoAccountRepository(settings.TABLE_NAME)
    if connectors is None:
        from arsync import wiring

        connectors = wiring.connector_provider(settings)
    if on_needs_reauth is None:
        from arsync.services.connection import record_needs_reauth

        on_needs_reauth = partial(record_needs_reauth, accounts)
    from arsync import wiring as app_wiring

    return SyncWorker(
        on_changed=app_wiring.health_service(settings).score_account,
        store=DynamoSyncStore(settings.TABLE_NAME),
        accounts=accounts,
        queue=SqsSyncQueue(settings.SYNC_QUEUE_URL),
        connectors=connectors,
        on_needs_reauth=on_needs_reauth,
        lease_seconds=settings.SYNC_LEASE_SECONDS,
    )
