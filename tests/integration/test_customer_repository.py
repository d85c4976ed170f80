"""The DynamoDB customer repository's fold of a duplicate (push links a record another customer mirrors),
against the moto server: GSI3 look-up and the all-or-nothing transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from arsync.config import get_settings
from arsync.errors import CustomerNotFound, VersionConflict
from arsync.models.common import AccountingSystem
from arsync.models.customer import Customer, CustomerContact, ExternalRef
from arsync.store.dynamodb import DynamoCustomerRepository
from local.stack import LocalStack

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, tzinfo=UTC)
QBO = AccountingSystem.QUICKBOOKS_ONLINE


def _customer(tenant: str, customer_id: str, external_id: str | None = None) -> Customer:
    return Customer(
        tenant_id=tenant,
        id=customer_id,
        contact=CustomerContact(display_name=f"Name {customer_id}"),
        external=ExternalRef(system=QBO, id=external_id) if external_id else None,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.fixture
def repository(stack: LocalStack) -> DynamoCustomerRepository:
    return DynamoCustomerRepository(get_settings().TABLE_NAME)


def test_linked_to_finds_only_this_tenants_customer_of_that_record(repository: DynamoCustomerRepository) -> None:
    tenant, other = f"t-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    repository.add(_customer(tenant, "mirror", "QB-7"))
    repository.add(_customer(other, "foreign", "QB-7"))
    repository.add(_customer(tenant, "unlinked"))

    found = repository.linked_to(tenant, QBO, "QB-7")

    assert found is not None and (found.tenant_id, found.id) == (tenant, "mirror")
    assert repository.linked_to(tenant, QBO, "QB-8") is None
    assert repository.linked_to(tenant, AccountingSystem.XERO, "QB-7") is None


def test_save_absorbing_saves_one_and_deletes_the_other_in_one_step(repository: DynamoCustomerRepository) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    mirror, ours = _customer(tenant, "mirror", "QB-7"), _customer(tenant, "ours")
    repository.add(mirror)
    repository.add(ours)
    linked = ours.model_copy(update={"external": ExternalRef(system=QBO, id="QB-7"), "version": 2})

    repository.save_absorbing(linked, 1, mirror)

    assert repository.get(tenant, "ours") == linked
    with pytest.raises(CustomerNotFound):
        repository.get(tenant, "mirror")
    assert repository.linked_to(tenant, QBO, "QB-7") == linked


@pytest.mark.parametrize("stale", ["kept", "absorbed"])
def test_save_absorbing_changes_nothing_when_either_side_moved(
    repository: DynamoCustomerRepository, stale: str
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    mirror, ours = _customer(tenant, "mirror", "QB-7"), _customer(tenant, "ours")
    repository.add(mirror)
    repository.add(ours)
    moved = (ours if stale == "kept" else mirror).model_copy(update={"notes": "edited meanwhile", "version": 2})
    repository.save(moved, 1)
    linked = ours.model_copy(update={"external": ExternalRef(system=QBO, id="QB-7"), "version": 2})

    with pytest.raises(VersionConflict) as conflict:
        repository.save_absorbing(linked, 1, mirror)

    assert conflict.value.entity_id == ("ours" if stale == "kept" else "mirror")
    assert repository.get(tenant, "mirror").version == (2 if stale == "absorbed" else 1)
    assert repository.get(tenant, "ours").external is None
