"""Re-Sync one customer now (B7): re-read it and its balance, or push its unpushed/failed change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from arsync.clock import Clock, utc_now
from arsync.connectors.errors import AccountingError
from arsync.errors import NotConnected
from arsync.models.common import SyncState
from arsync.models.customer import Customer, ExternalRef, SyncStatus
from arsync.services.balances import CustomerDocuments
from arsync.services.push import PushService
from arsync.store.base import AccountRepository, CustomerRepository
from arsync.sync.balances import aggregate, balance_for
from arsync.sync.models import Trigger

RequestSync = Callable[[str, Trigger], object]


@dataclass
class ResyncService:
    customers: CustomerRepository
    accounts: AccountRepository
    documents: CustomerDocuments
    pusher: PushService
    request_sync: RequestSync | None = None
    clock: Clock = utc_now

    def resync(self, tenant_id: str, customer_id: str) -> Customer:
        customer = self.customers.get(tenant_id, customer_id)
        connection = self.accounts.get_connection(tenant_id)
        if connection is None:
            raise NotConnected()
        if connection.status == "needs_reauth":
            return self.pusher.push(customer, connection)  # records the reconnect error on the customer
        if customer.external is None or customer.sync.state in (SyncState.FAILED, SyncState.PENDING):
            changes = customer.contact.model_dump() if customer.external is not None else None
            return self.pusher.push(customer, connection, changes=changes)
        try:
            connector = self.pusher.connector_for(tenant_id, connection)
            remote = connector.get_customer(customer.external.id)
        except AccountingError as error:
            if error.needs_reauth:
                self.pusher.on_needs_reauth(tenant_id, error)
                return self.pusher.push(customer, connection.model_copy(update={"status": "needs_reauth"}))
            raise
        now = self.clock()
        docs = self.documents.for_customer(tenant_id, connection.system.value, remote.id)
        refreshed = customer.model_copy(
            update={
                "contact": remote.to_contact(),
                "external": ExternalRef(
                    system=connection.system,
                    id=remote.id,
                    active=remote.active,
                    sync_token=remote.sync_token,
                    updated_at=remote.updated_at,
                ),
                "balance": balance_for(remote, aggregate(docs), now),
                "sync": SyncStatus(state=SyncState.SYNCED, last_synced_at=now),
                "version": customer.version + 1,
                "updated_at": now,
            }
        )
        self.customers.save(refreshed, expected_version=customer.version)
        if self.request_sync is not None:
            self.request_sync(tenant_id, "manual")  # refresh the open items too (coalesces with a running sync)
        return refreshed
