"""In-memory fakes of the ports. They subclass the real ABCs so drift fails loudly."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from arsync.errors import CustomerAlreadyExists, CustomerNotFound, IdempotencyKeyReused, VersionConflict
from arsync.models.account import AccountSettings, Connection
from arsync.models.common import ArchivedFilter
from arsync.models.customer import Customer
from arsync.services.idempotency import IdempotencyGuard
from arsync.store import keys
from arsync.store.base import AccountRepository, CustomerPage, CustomerQuery, CustomerRepository


class InMemoryCustomerRepository(CustomerRepository):
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Customer] = {}
        self.writes = 0

    def get(self, tenant_id: str, customer_id: str) -> Customer:
        try:
            return self.items[(tenant_id, customer_id)]
        except KeyError:
            raise CustomerNotFound(customer_id) from None

    def add(self, customer: Customer) -> None:
        key = (customer.tenant_id, customer.id)
        if key in self.items:
            raise CustomerAlreadyExists(customer.id)
        self.items[key] = customer
        self.writes += 1

    def save(self, customer: Customer, expected_version: int) -> None:
        key = (customer.tenant_id, customer.id)
        if key not in self.items:
            raise CustomerNotFound(customer.id)
        stored = self.items[key]
        if stored.version != expected_version:
            raise VersionConflict(customer.id, expected_version, stored.version)
        self.items[key] = customer
        self.writes += 1

    def linked_to(self, tenant_id: str, system: str, external_id: str) -> Customer | None:
        return next(
            (
                c
                for (t, _), c in self.items.items()
                if t == tenant_id
                and c.external is not None
                and (c.external.system, c.external.id) == (system, external_id)
            ),
            None,
        )

    def save_absorbing(self, customer: Customer, expected_version: int, absorbed: Customer) -> None:
        stored = self.items.get((absorbed.tenant_id, absorbed.id))
        if stored is None or stored.version != absorbed.version:
            raise VersionConflict(absorbed.id, absorbed.version, stored.version if stored else None)
        self.save(customer, expected_version)
        del self.items[(absorbed.tenant_id, absorbed.id)]

    def list(self, tenant_id: str, query: CustomerQuery) -> CustomerPage:
        rows = sorted(
            (c for (t, _), c in self.items.items() if t == tenant_id),
            key=lambda c: keys.customer_name_sk(c.contact.display_name, c.id),
        )
        if query.archived is not ArchivedFilter.ALL:
            rows = [c for c in rows if c.archived == (query.archived is ArchivedFilter.YES)]
        if query.name_prefix:
            prefix = keys.name_key(query.name_prefix)
            rows = [c for c in rows if keys.name_key(c.contact.display_name).startswith(prefix)]
        if query.sync_state:
            rows = [c for c in rows if c.sync.state == query.sync_state]
        if query.health_band:
            rows = [c for c in rows if c.health.band == query.health_band]
        if not query.include_remote_inactive:
            rows = [c for c in rows if c.external is None or c.external.active]
        start = int(query.cursor) if query.cursor else 0
        page = rows[start : start + query.limit]
        more = start + query.limit < len(rows)
        return CustomerPage(items=page, next_cursor=str(start + query.limit) if more else None)


class InMemoryAccountRepository(AccountRepository):
    def __init__(self) -> None:
        self.settings: dict[str, AccountSettings] = {}
        self.connections: dict[str, Connection] = {}

    def get_settings(self, tenant_id: str) -> AccountSettings:
        return self.settings.get(tenant_id, AccountSettings())

    def save_settings(self, tenant_id: str, settings: AccountSettings, expected_version: int) -> None:
        if self.get_settings(tenant_id).version != expected_version:
            raise VersionConflict("settings", expected_version, None)
        self.settings[tenant_id] = settings

    def get_connection(self, tenant_id: str) -> Connection | None:
        return self.connections.get(tenant_id)

    def save_connection(self, tenant_id: str, connection: Connection, expected_version: int | None) -> None:
        current = self.connections.get(tenant_id)
        if expected_version is not None and (current.version if current else 0) != expected_version:
            raise VersionConflict("connection", expected_version, None)
        self.connections[tenant_id] = connection

    def delete_connection(self, tenant_id: str) -> None:
        self.connections.pop(tenant_id, None)


class InMemoryIdempotencyGuard(IdempotencyGuard):
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.executions = 0
        self._lock = threading.Lock()

    def run(
        self,
        tenant_id: str,
        key: str,
        payload: dict[str, Any],
        operation: Callable[[], dict[str, Any]],
        lambda_context: Any | None = None,
    ) -> dict[str, Any]:
        fingerprint = json.dumps(payload, sort_keys=True)
        with self._lock:
            if (tenant_id, key) in self.records:
                stored_fingerprint, result = self.records[(tenant_id, key)]
                if stored_fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                return result
            self.executions += 1
            result = operation()
            self.records[(tenant_id, key)] = (fingerprint, result)
            return result
