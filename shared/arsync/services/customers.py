"""Customer use cases: create, read, list, edit, archive (B1, B2, B4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arsync.clock import Clock, new_id, utc_now
from arsync.errors import EditLocked
from arsync.models.api import AddressIn, CustomerCreateRequest, CustomerUpdateRequest
from arsync.models.common import EDIT_OVERRIDE_SYSTEMS, SyncState
from arsync.models.customer import CONTACT_FIELDS, Address, Customer, CustomerContact, SyncStatus
from arsync.services.idempotency import IdempotencyGuard
from arsync.store.base import AccountRepository, CustomerPage, CustomerQuery, CustomerRepository
from arsync.system_names import system_label


def _address(value: AddressIn | None) -> Address | None:
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


@dataclass
class CustomerService:
    customers: CustomerRepository
    accounts: AccountRepository
    idempotency: IdempotencyGuard
    clock: Clock = utc_now

    def create(
        self,
        tenant_id: str,
        request: CustomerCreateRequest,
        idempotency_key: str | None = None,
        lambda_context: Any | None = None,
    ) -> Customer:
        """Create a customer. With an Idempotency-Key, a retry returns the first result instead of a copy."""
        if idempotency_key is None:
            return self._create(tenant_id, request)
        stored = self.idempotency.run(
            tenant_id,
            idempotency_key,
            request.model_dump(mode="json"),
            lambda: self._create(tenant_id, request).model_dump(mode="json"),
            lambda_context,
        )
        return Customer.model_validate(stored)

    def _create(self, tenant_id: str, request: CustomerCreateRequest) -> Customer:
        now = self.clock()
        customer = Customer(
            tenant_id=tenant_id,
            id=new_id("cus"),
            contact=contact_from_request(request),
            company_type=request.company_type,
            industry=request.industry,
            size=request.size,
            country=request.country,
            notes=request.notes,
            sync=SyncStatus(state=SyncState.LOCAL_ONLY),
            created_at=now,
            updated_at=now,
        )
        self.customers.add(customer)
        return customer

    def get(self, tenant_id: str, customer_id: str) -> Customer:
        return self.customers.get(tenant_id, customer_id)

    def list(self, tenant_id: str, query: CustomerQuery) -> CustomerPage:
        return self.customers.list(tenant_id, query)

    def update(self, tenant_id: str, customer_id: str, request: CustomerUpdateRequest) -> Customer:
        """Apply a PATCH under optimistic concurrency, enforcing the edit lock while connected (B2)."""
        current = self.customers.get(tenant_id, customer_id)
        changes = request.changes()
        contact_changes = sorted(set(changes) & CONTACT_FIELDS)
        connection = self.accounts.get_connection(tenant_id)
        if connection is not None and contact_changes:
            settings = self.accounts.get_settings(tenant_id)
            if not (settings.allow_customer_edits and connection.system in EDIT_OVERRIDE_SYSTEMS):
                raise EditLocked(system_label(connection.system), contact_changes)
        if "display_name" in changes and changes["display_name"] is None:
            changes.pop("display_name")  # the name can be changed, never removed
        contact_update = {
            name: _address(value) if isinstance(value, AddressIn) else value
            for name, value in changes.items()
            if name in CONTACT_FIELDS
        }
        other_update = {name: value for name, value in changes.items() if name not in CONTACT_FIELDS}
        updated = current.model_copy(
            update={
                **other_update,
                "contact": current.contact.model_copy(update=contact_update),
                "version": request.version + 1,
                "updated_at": self.clock(),
            }
        )
        self.customers.save(updated, expected_version=request.version)
        return updated

    def set_archived(self, tenant_id: str, customer_id: str, archived: bool, version: int | None) -> Customer:
        """Archive/unarchive is AR-only (B4): never pushed, allowed while connected."""
        current = self.customers.get(tenant_id, customer_id)
        expected = version if version is not None else current.version
        updated = current.model_copy(update={"archived": archived, "version": expected + 1, "updated_at": self.clock()})
        self.customers.save(updated, expected_version=expected)
        return updated
