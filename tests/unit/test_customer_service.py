"""Customer use cases against in-memory fakes (no AWS, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arsync.errors import CustomerNotFound, EditLocked, IdempotencyKeyReused, VersionConflict
from arsync.models.account import AccountSettings, Connection
from arsync.models.api import CustomerCreateRequest, CustomerUpdateRequest
from arsync.models.common import AccountingSystem, ArchivedFilter, SyncState
from arsync.models.customer import ExternalRef, SyncStatus
from arsync.services.customers import CustomerService
from arsync.store.base import CustomerQuery
from tests.fakes import InMemoryAccountRepository, InMemoryCustomerRepository, InMemoryIdempotencyGuard


class TickingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def service() -> CustomerService:
    return CustomerService(
        customers=InMemoryCustomerRepository(),
        accounts=InMemoryAccountRepository(),
        idempotency=InMemoryIdempotencyGuard(),
        clock=TickingClock(),
    )


def linked(service: CustomerService, tenant: str, name: str, system: AccountingSystem) -> str:
    """A customer that exists in the accounting system (imported or pushed earlier)."""
    customer = service.create(tenant, CustomerCreateRequest(display_name=name))
    service.customers.items[(tenant, customer.id)] = customer.model_copy(  # type: ignore[attr-defined]
        update={"external": ExternalRef(system=system, id="ext-1"), "sync": SyncStatus(state=SyncState.SYNCED)}
    )
    return customer.id


def connect(service: CustomerService, tenant: str, system: AccountingSystem) -> None:
    service.accounts.save_connection(
        tenant,
        Connection(system=system, status="connected", company_id="c1", connected_at=datetime(2026, 1, 1, tzinfo=UTC)),
        expected_version=None,
    )


def test_create_keeps_every_field_and_starts_local_only(service: CustomerService) -> None:
    # Given a full request
    request = CustomerCreateRequest.model_validate(
        {
            "display_name": "  Blue Finch Ltd ",
            "email": "ap@bluefinch.example",
            "billing_address": {"line1": "1 Quay St", "city": "Leeds"},
            "company_type": "private_company",
            "notes": "Pays by BACS\nfirst week of month",
        }
    )
    # When
    customer = service.create("t1", request)
    # Then
    stored = service.get("t1", customer.id)
    assert stored.contact.display_name == "Blue Finch Ltd"
    assert stored.contact.billing_address is not None and stored.contact.billing_address.city == "Leeds"
    assert stored.notes == "Pays by BACS\nfirst week of month"
    assert stored.sync.state is SyncState.LOCAL_ONLY
    assert stored.version == 1


def test_idempotency_key_returns_the_first_customer(service: CustomerService) -> None:
    request = CustomerCreateRequest(display_name="Once Only")
    first = service.create("t1", request, idempotency_key="key-1")
    second = service.create("t1", request, idempotency_key="key-1")
    assert first.id == second.id
    assert len(service.customers.items) == 1  # type: ignore[attr-defined]
    with pytest.raises(IdempotencyKeyReused):
        service.create("t1", CustomerCreateRequest(display_name="Different"), idempotency_key="key-1")


def test_same_key_in_another_tenant_is_independent(service: CustomerService) -> None:
    request = CustomerCreateRequest(display_name="Shared Name")
    a = service.create("t1", request, idempotency_key="key-1")
    b = service.create("t2", request, idempotency_key="key-1")
    assert a.id != b.id and b.tenant_id == "t2"


def test_update_with_stale_version_is_refused_and_changes_nothing(service: CustomerService) -> None:
    customer = service.create("t1", CustomerCreateRequest(display_name="Stale Co"))
    service.update("t1", customer.id, CustomerUpdateRequest(version=1, email="a@stale.example"))
    with pytest.raises(VersionConflict) as conflict:
        service.update("t1", customer.id, CustomerUpdateRequest(version=1, email="b@stale.example"))
    assert conflict.value.actual == 2
    assert service.get("t1", customer.id).contact.email == "a@stale.example"


def test_patch_null_clears_optional_field_but_not_the_name(service: CustomerService) -> None:
    customer = service.create("t1", CustomerCreateRequest(display_name="Clear Co", email="x@clear.example"))
    updated = service.update(
        "t1", customer.id, CustomerUpdateRequest.model_validate({"version": 1, "email": None, "display_name": None})
    )
    assert updated.contact.email is None
    assert updated.contact.display_name == "Clear Co"


@pytest.mark.parametrize("system", [AccountingSystem.QUICKBOOKS_ONLINE, AccountingSystem.XERO])
def test_contact_edits_locked_while_connected(service: CustomerService, system: AccountingSystem) -> None:
    customer_id = linked(service, "t1", "Locked Co", system)
    connect(service, "t1", system)
    with pytest.raises(EditLocked) as locked:
        service.update("t1", customer_id, CustomerUpdateRequest(version=1, email="new@locked.example"))
    assert "read-only" in locked.value.detail and "email" in locked.value.fields
    assert service.get("t1", customer_id).contact.email is None
    # AR-only fields stay editable
    updated = service.update("t1", customer_id, CustomerUpdateRequest(version=1, industry="Logistics"))
    assert updated.industry == "Logistics"


def test_override_lifts_the_lock_only_for_qbo_and_xero(service: CustomerService) -> None:
    customer_id = linked(service, "t1", "Override Co", AccountingSystem.XERO)
    connect(service, "t1", AccountingSystem.XERO)
    service.accounts.save_settings("t1", AccountSettings(allow_customer_edits=True, version=1), 0)
    assert service.update("t1", customer_id, CustomerUpdateRequest(version=1, phone="555 0100")).contact.phone
    connect(service, "t1", AccountingSystem.SAGE_INTACCT)
    with pytest.raises(EditLocked):
        service.update("t1", customer_id, CustomerUpdateRequest(version=2, phone="555 0199"))


def test_archive_hides_from_default_list(service: CustomerService) -> None:
    kept = service.create("t1", CustomerCreateRequest(display_name="Kept"))
    gone = service.create("t1", CustomerCreateRequest(display_name="Gone"))
    service.set_archived("t1", gone.id, True, version=None)
    default = service.list("t1", CustomerQuery())
    archived = service.list("t1", CustomerQuery(archived=ArchivedFilter.YES))
    everything = service.list("t1", CustomerQuery(archived=ArchivedFilter.ALL))
    assert [c.id for c in default.items] == [kept.id]
    assert [c.id for c in archived.items] == [gone.id]
    assert {c.id for c in everything.items} == {kept.id, gone.id}


def test_get_other_tenant_is_not_found(service: CustomerService) -> None:
    customer = service.create("t1", CustomerCreateRequest(display_name="Private"))
    with pytest.raises(CustomerNotFound):
        service.get("t2", customer.id)
