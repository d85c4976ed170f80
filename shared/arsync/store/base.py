"""Repository ports. Services depend on these; DynamoDB and the in-memory test fakes implement them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from arsync.errors import VersionConflict
from arsync.models.account import AccountSettings, Connection
from arsync.models.common import ArchivedFilter, HealthBand, SyncState
from arsync.models.customer import Customer


@dataclass(frozen=True)
class CustomerQuery:
    archived: ArchivedFilter = ArchivedFilter.NO
    sync_state: SyncState | None = None
    name_prefix: str | None = None
    health_band: HealthBand | None = None
    include_remote_inactive: bool = True  # B3: inactive in the accounting system, shown only when imported
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class CustomerPage:
    items: list[Customer]
    next_cursor: str | None


class CustomerRepository(ABC):
    @abstractmethod
    def get(self, tenant_id: str, customer_id: str) -> Customer:
        """Raise CustomerNotFound when the customer is not in this tenant."""

    @abstractmethod
    def add(self, customer: Customer) -> None:
        """Insert a new customer (fails loudly if the id exists)."""

    @abstractmethod
    def save(self, customer: Customer, expected_version: int) -> None:
        """Replace the customer if the stored version is `expected_version`, else raise VersionConflict.

        `customer.version` must already be `expected_version + 1`."""

    @abstractmethod
    def linked_to(self, tenant_id: str, system: str, external_id: str) -> Customer | None:
        """The customer linked to one accounting-system record, if any (there should be at most one)."""

    @abstractmethod
    def save_absorbing(self, customer: Customer, expected_version: int, absorbed: Customer) -> None:
        """Save `customer` and delete `absorbed` atomically, each conditional on its version (VersionConflict)."""

    def save_many(self, changes: list[tuple[Customer, int]]) -> list[Customer]:
        """Save many (customer, expected_version) pairs; returns those that lost a version race (not saved).

        One conditional write each: TransactWriteItems would save round trips but costs twice the write
        capacity and all-or-nothing semantics we do not need (one lost race must not undo the others)."""
        lost = []
        for customer, expected in changes:
            try:
                self.save(customer, expected)
            except VersionConflict:
                lost.append(customer)
        return lost

    def iter_all(self, tenant_id: str) -> Iterator[Customer]:
        """Every customer of the tenant, in no particular order (account-wide jobs such as scoring)."""
        cursor = None
        while True:
            page = self.list(tenant_id, CustomerQuery(archived=ArchivedFilter.ALL, limit=100, cursor=cursor))
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    @abstractmethod
    def list(self, tenant_id: str, query: CustomerQuery) -> CustomerPage:
        """Customers ordered by name, filtered, one page at a time (cursor is opaque)."""


class AccountRepository(ABC):
    @abstractmethod
    def get_settings(self, tenant_id: str) -> AccountSettings:
        """Defaults (version 0) when the account never saved settings."""

    @abstractmethod
    def save_settings(self, tenant_id: str, settings: AccountSettings, expected_version: int) -> None:
        """Conditional on the stored version (0 = not stored yet)."""

    @abstractmethod
    def get_connection(self, tenant_id: str) -> Connection | None: ...

    @abstractmethod
    def save_connection(self, tenant_id: str, connection: Connection, expected_version: int | None) -> None:
        """`expected_version=None` creates (or replaces a disconnected one); otherwise conditional."""

    @abstractmethod
    def delete_connection(self, tenant_id: str) -> None: ...
