"""Pushing customers to the accounting system (B1, B2 override, B7): validation, duplicate look-up,
idempotent create, sparse update, and keeping what the user typed when the system says no."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arsync.clock import SYNC_OVERLAP, Clock, utc_now
from arsync.connectors.base import AccountingConnector, RemoteCustomer
from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.connectors.validation import validate_for_push
from arsync.models.account import Connection
from arsync.models.common import AccountingSystem, SyncState
from arsync.models.customer import AR_ONLY_FIELDS, Customer, ExternalRef, SyncStatus
from arsync.observability import logger
from arsync.store.base import CustomerRepository
from arsync.store.keys import name_key

ConnectorFor = Callable[[str, Connection], AccountingConnector]
OnNeedsReauth = Callable[[str, AccountingError], None]


def provider_idempotency_key(customer: Customer, operation: str) -> str:
    """Deterministic per (tenant, customer, operation, contact content): every retry of the same push, after a
    timeout, a lost response or a crash, carries the same key and is replayed by the provider instead of
    creating a second record; an edited customer (new content) gets a new key, so a fixed name is not answered
    with the stored rejection of the old one. Not the record version: bookkeeping writes (a failure being
    recorded) bump it without changing what is pushed."""
    content = customer.contact.model_dump_json()
    # An update is also pinned to the remote version it applies to, so editing back to an earlier content
    # later (a new remote version) is a new request, not a replay of the first one.
    base = f"{customer.external.sync_token}|{customer.external.updated_at}" if customer.external else ""
    raw = f"{customer.tenant_id}|{customer.id}|{operation}|{content}|{base}"
    return "ars-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def absorb_duplicate(customer: Customer, duplicate: Customer) -> Customer:
    """One AR customer per accounting record: `customer` (the one the user pushed or linked) stays; what only the
    duplicate knows comes along: the AR-only fields the user left empty here, the balance the sync computed, and
    the health (score history and any override) when this customer has none yet. The duplicate's contact wins
    when it holds a newer read of the record than our reply (a replayed create answers with the record as first
    created, and the sync that read the newer one will not fetch it again) or an edit not pushed yet."""
    update: dict[str, Any] = {
        name: getattr(duplicate, name) for name in sorted(AR_ONLY_FIELDS) if getattr(customer, name) is None
    }
    if duplicate.sync.state is not SyncState.SYNCED or _newer_read(duplicate.external, customer.external):
        update.update(contact=duplicate.contact, external=duplicate.external, sync=duplicate.sync)
    if customer.balance is None:
        update["balance"] = duplicate.balance
    if customer.health.computed_at is None and customer.health.override is None:
        update["health"] = duplicate.health
    return customer.model_copy(update=update)


def _newer_read(candidate: ExternalRef | None, current: ExternalRef | None) -> bool:
    """QBO's SyncToken counts versions; Xero only stamps UpdatedDateUTC (one provider clock for both reads)."""
    if candidate is None or current is None:
        return False
    tokens = (candidate.sync_token or "", current.sync_token or "")
    if all(token.isdigit() for token in tokens):
        return int(tokens[0]) > int(tokens[1])
    if candidate.updated_at is not None and current.updated_at is not None:
        return candidate.updated_at > current.updated_at
    return False


def reauth_error(connection: Connection) -> AccountingError:
    """The error every affected action reports while the connection needs re-authorisation (B12)."""
    return AccountingError(
        connection.system,
        ErrorCategory.AUTHENTICATION_FAILED,
        connection.reauth_reason or "The accounting system no longer accepts this connection's credentials.",
        code="needs_reauth",
    )


@dataclass
class PushService:
    customers: CustomerRepository
    connector_for: ConnectorFor
    on_needs_reauth: OnNeedsReauth
    clock: Clock = utc_now

    def push(
        self,
        customer: Customer,
        connection: Connection,
        changes: dict[str, Any] | None = None,
        *,
        first_attempt: bool = False,
    ) -> Customer:
        """Push a new customer, or `changes` of a linked one; returns the customer as saved afterwards.

        `first_attempt`: the customer was stored by this very request, so no earlier attempt can have let a sync
        import its record; the look-up for such a duplicate (an index query) is skipped.

        Never raises for a provider refusal: the customer is saved with `sync.state = failed` and the error."""
        if connection.status == "needs_reauth":
            return self._failed(customer, reauth_error(connection))
        reread = False
        try:
            connector = self.connector_for(customer.tenant_id, connection)
            if customer.external is None:
                remote = self._create(connector, customer)
                if remote.updated_at is not None and remote.updated_at < self.clock() - SYNC_OVERLAP:
                    # A replayed create answers with the record as first created; edits since then are older
                    # than the sync's overlap window, so no sync would fetch them again: read the record now.
                    remote, reread = connector.get_customer(remote.id), True
            else:
                remote = self._update(connector, customer, changes)
        except AccountingError as error:
            if error.needs_reauth:
                self.on_needs_reauth(customer.tenant_id, error)
            return self._failed(customer, error)
        return self._linked(
            customer, remote, connection.system, adopt_contact=reread, check_duplicate=not first_attempt
        )

    def link(self, customer: Customer, connection: Connection, external_id: str, reactivate: bool) -> Customer:
        """Resolve a duplicate with an existing record instead of renaming: link to it (optionally reactivating)."""
        if connection.status == "needs_reauth":
            return self._failed(customer, reauth_error(connection))
        try:
            connector = self.connector_for(customer.tenant_id, connection)
            remote = connector.get_customer(external_id)
            if reactivate and not remote.active:
                remote = connector.set_customer_active(external_id, True, sync_token=remote.sync_token)
        except AccountingError as error:
            if error.needs_reauth:
                self.on_needs_reauth(customer.tenant_id, error)
            return self._failed(customer, error)
        return self._linked(customer, remote, connection.system, adopt_contact=True)

    def _create(self, connector: AccountingConnector, customer: Customer) -> RemoteCustomer:
        system = connector.system
        problems = validate_for_push(system, customer.contact)
        if problems:
            raise problems[0]
        matches = connector.find_customers_by_name(customer.contact.display_name)
        wanted = name_key(customer.contact.display_name)
        clash = next((m for m in matches if name_key(m.display_name) == wanted), None)
        if clash is not None and not clash.active and system is AccountingSystem.XERO:
            # Xero would accept a new contact beside an archived one of the same name: a silent duplicate.
            raise AccountingError(
                system,
                ErrorCategory.DUPLICATE_NAME_INACTIVE,
                f'An archived Xero contact is already named "{clash.display_name}".',
                code="prepush",
                field="display_name",
                existing_name=clash.display_name,
                existing_id=clash.id,
            )
        try:
            return connector.create_customer(
                customer.contact, idempotency_key=provider_idempotency_key(customer, "create")
            )
        except AccountingError as error:
            if error.category is ErrorCategory.DUPLICATE_NAME and clash is not None:
                category = ErrorCategory.DUPLICATE_NAME if clash.active else ErrorCategory.DUPLICATE_NAME_INACTIVE
                raise error.reclassified(category, existing_name=clash.display_name, existing_id=clash.id) from error
            raise

    def _update(
        self, connector: AccountingConnector, customer: Customer, changes: dict[str, Any] | None
    ) -> RemoteCustomer:
        assert customer.external is not None
        if not changes:
            return connector.get_customer(customer.external.id)
        problems = validate_for_push(connector.system, customer.contact)
        if problems:
            raise problems[0]
        return connector.update_customer(
            customer.external.id,
            changes,
            sync_token=customer.external.sync_token,
            expected_updated_at=customer.external.updated_at,
            idempotency_key=provider_idempotency_key(customer, "update"),
        )

    def _linked(
        self,
        customer: Customer,
        remote: RemoteCustomer,
        system: AccountingSystem,
        adopt_contact: bool = False,
        check_duplicate: bool = True,
    ) -> Customer:
        now = self.clock()
        update: dict[str, Any] = {
            "external": ExternalRef(
                system=system,
                id=remote.id,
                active=remote.active,
                sync_token=remote.sync_token,
                updated_at=remote.updated_at,
            ),
            "sync": SyncStatus(state=SyncState.SYNCED, last_synced_at=now),
            "version": customer.version + 1,
            "updated_at": now,
        }
        if adopt_contact:
            update["contact"] = remote.to_contact()
        saved = customer.model_copy(update=update)
        duplicate = self._other_customer_linked_to(customer, remote.id, system) if check_duplicate else None
        if duplicate is None:
            self.customers.save(saved, expected_version=customer.version)
        else:
            saved = absorb_duplicate(saved, duplicate)
            self.customers.save_absorbing(saved, customer.version, duplicate)
            logger.info(
                "duplicate local customer folded in",
                tenant_id=customer.tenant_id,
                customer_id=customer.id,
                absorbed_id=duplicate.id,
            )
        logger.info("customer pushed", tenant_id=customer.tenant_id, customer_id=customer.id)
        return saved

    def _other_customer_linked_to(
        self, customer: Customer, remote_id: str, system: AccountingSystem
    ) -> Customer | None:
        """A sync that ran while a create was in flight (or crashed before its link was saved) has imported the
        new record as a customer of its own; linking to a record another customer already mirrors is the other
        way to get there (B1's "link to the existing record")."""
        if customer.external is not None and customer.external.id == remote_id:
            return None
        found = self.customers.linked_to(customer.tenant_id, system, remote_id)
        return found if found is not None and found.id != customer.id else None

    def _failed(self, customer: Customer, error: AccountingError) -> Customer:
        now = self.clock()
        info = (
            error.resolve_field(customer.contact)
            .to_info(now)
            .model_copy(update={"existing_id": error.existing_id, "existing_name": error.existing_name})
        )
        saved = customer.model_copy(
            update={
                "sync": SyncStatus(state=SyncState.FAILED, last_synced_at=customer.sync.last_synced_at, error=info),
                "version": customer.version + 1,
                "updated_at": now,
            }
        )
        self.customers.save(saved, expected_version=customer.version)
        logger.info(
            "customer push refused", tenant_id=customer.tenant_id, customer_id=customer.id, category=info.category
        )
        return saved
