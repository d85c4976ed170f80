"""Customer use cases: create and push (B1), read, list, edit under the lock (B2), archive (B4),
re-sync (B7), link a duplicate, and explain the balance (B9)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from arsync.clock import Clock, new_id, utc_now
from arsync.errors import CustomerAlreadyExists, EditLocked, NotConnected, NotLinked
from arsync.models.api import AddressIn, CustomerCreateRequest, CustomerUpdateRequest
from arsync.models.common import EDIT_OVERRIDE_SYSTEMS, SyncState
from arsync.models.customer import CONTACT_FIELDS, Address, Customer, CustomerContact, SyncStatus
from arsync.services.idempotency import IdempotencyGuard
from arsync.services.push import PushService
from arsync.store.base import AccountRepository, CustomerPage, CustomerQuery, CustomerRepository
from arsync.system_names import system_label


def _address(value: AddressIn | Address | None) -> Address | None:
    if value is None:
        return None
    address = Address(**value.model_dump())
    return address if any(address.model_dump().values()) else None


def contact_from_request(request: CustomerCreateRequest) -> CustomerContact:
    return CustomerContact(
        display_name=request.display_name,
        company_name=request.company_name,
        given_name=request.given_name,
        family_name=request.family_name,
        email=request.email,
        phone=request.phone,
        billing_address=_address(request.billing_address),
        shipping_address=_address(request.shipping_address),
        currency=request.currency,
    )


def id_for_idempotency_key(tenant_id: str, key: str) -> str:
    """A retried create with the same key lands on the same customer, even after a crash mid-push."""
    return "cus_" + hashlib.sha256(f"{tenant_id}|{key}".encode()).hexdigest()[:20]


@dataclass
class CustomerService:
    customers: CustomerRepository
    accounts: AccountRepository
    idempotency: IdempotencyGuard
    pusher: PushService | None = None
    clock: Clock = utc_now

    def create(
        self,
        tenant_id: str,
        request: CustomerCreateRequest,
        idempotency_key: str | None = None,
        lambda_context: Any | None = None,
    ) -> Customer:
        """Create a customer and, when connected, push it at once. A refusal is kept on the customer
        (`sync.state = failed`); with an Idempotency-Key a retry returns the first outcome."""
        if idempotency_key is None:
            return self._create(tenant_id, request, new_id("cus"))
        stored = self.idempotency.run(
            tenant_id,
            idempotency_key,
            request.model_dump(mode="json"),
            lambda: self._create(tenant_id, request, id_for_idempotency_key(tenant_id, idempotency_key)).model_dump(
                mode="json"
            ),
            lambda_context,
        )
        return Customer.model_validate(stored)

    def _create(self, tenant_id: str, request: CustomerCreateRequest, customer_id: str) -> Customer:
        connection = self.accounts.get_connection(tenant_id)
        now = self.clock()
        customer = Customer(
            tenant_id=tenant_id,
            id=customer_id,
            contact=contact_from_request(request),
            company_type=request.company_type,
            industry=request.industry,
            size=request.size,
            country=request.country,
            notes=request.notes,
            sync=SyncStatus(state=SyncState.PENDING if connection else SyncState.LOCAL_ONLY),
            created_at=now,
            updated_at=now,
        )
        first_attempt = True
        try:
            self.customers.add(customer)  # what the user typed is stored before anything can fail
        except CustomerAlreadyExists:
            customer = self.customers.get(tenant_id, customer_id)  # a retry after a crash: finish the push
            first_attempt = False
        if connection is not None and customer.external is None and self.pusher is not None:
            customer = self.pusher.push(customer, connection, first_attempt=first_attempt)
        return customer

    def get(self, tenant_id: str, customer_id: str) -> Customer:
        return self.customers.get(tenant_id, customer_id)

    def list(self, tenant_id: str, query: CustomerQuery) -> CustomerPage:
        """Customers inactive in the accounting system follow the import-scope setting (B3)."""
        settings = self.accounts.get_settings(tenant_id)
        return self.customers.list(
            tenant_id, replace(query, include_remote_inactive=settings.import_inactive_customers)
        )

    def update(self, tenant_id: str, customer_id: str, request: CustomerUpdateRequest) -> Customer:
        """Apply a PATCH under optimistic concurrency. While connected, contact data of a linked customer
        is read-only unless `allow_customer_edits` is on for QBO/Xero; then the change is pushed (B2)."""
        current = self.customers.get(tenant_id, customer_id)
        changes = request.changes()
        if "display_name" in changes and changes["display_name"] is None:
            changes.pop("display_name")  # the name can be changed, never removed
        contact_fields = sorted(set(changes) & CONTACT_FIELDS)
        connection = self.accounts.get_connection(tenant_id)
        if connection is not None and contact_fields and current.external is not None:
            settings = self.accounts.get_settings(tenant_id)
            if not (settings.allow_customer_edits and connection.system in EDIT_OVERRIDE_SYSTEMS):
                raise EditLocked(system_label(connection.system), contact_fields)
        contact_update = {
            name: _address(value) if isinstance(value, AddressIn) else value
            for name, value in changes.items()
            if name in CONTACT_FIELDS
        }
        other_update = {name: value for name, value in changes.items() if name not in CONTACT_FIELDS}
        update: dict[str, Any] = {
            **other_update,
            "contact": current.contact.model_copy(update=contact_update),
            "version": request.version + 1,
            "updated_at": self.clock(),
        }
        must_push = connection is not None and (bool(contact_fields) or current.external is None)
        if must_push:
            update["sync"] = current.sync.model_copy(update={"state": SyncState.PENDING})
        updated = current.model_copy(update=update)
        self.customers.save(updated, expected_version=request.version)
        if must_push and connection is not None and self.pusher is not None:
            updated = self.pusher.push(updated, connection, changes=contact_update)
        return updated

    def set_archived(self, tenant_id: str, customer_id: str, archived: bool, version: int | None) -> Customer:
        """Archive/unarchive is AR-only (B4): never pushed, allowed while connected."""
        current = self.customers.get(tenant_id, customer_id)
        expected = version if version is not None else current.version
        updated = current.model_copy(update={"archived": archived, "version": expected + 1, "updated_at": self.clock()})
        self.customers.save(updated, expected_version=expected)
        return updated

    def link(self, tenant_id: str, customer_id: str, external_id: str, reactivate: bool) -> Customer:
        """Resolve a duplicate-name refusal by linking to the existing record (optionally reactivating it)."""
        customer = self.customers.get(tenant_id, customer_id)
        connection = self.accounts.get_connection(tenant_id)
        if connection is None or self.pusher is None:
            raise NotConnected()
        return self.pusher.link(customer, connection, external_id, reactivate)

    def require_linked(self, customer: Customer) -> None:
        if customer.external is None:
            raise NotLinked()
