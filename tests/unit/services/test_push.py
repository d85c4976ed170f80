"""Create-and-push (B1), the edit override (B2), duplicates incl. inactive, and auth failures (B12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.models.account import AccountSettings, Connection
from arsync.models.api import CustomerCreateRequest, CustomerUpdateRequest
from arsync.models.common import AccountingSystem, SyncState
from arsync.models.customer import Balance, Customer, CustomerContact, ExternalRef, SyncStatus
from arsync.services.customers import CustomerService
from arsync.services.push import PushService
from tests.fakes import InMemoryAccountRepository, InMemoryCustomerRepository, InMemoryIdempotencyGuard
from tests.unit.services.fake_connector import FakeAccounting

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class World:
    def __init__(self, system: AccountingSystem) -> None:
        self.remote = FakeAccounting(system)
        self.customers = InMemoryCustomerRepository()
        self.accounts = InMemoryAccountRepository()
        self.reauth: list[str] = []
        self.pusher = PushService(
            customers=self.customers,
            connector_for=lambda tenant, connection: self.remote,
            on_needs_reauth=lambda tenant, error: self.reauth.append(tenant),
            clock=lambda: NOW,
        )
        self.service = CustomerService(
            customers=self.customers,
            accounts=self.accounts,
            idempotency=InMemoryIdempotencyGuard(),
            pusher=self.pusher,
            clock=lambda: NOW,
        )
        self.accounts.save_connection(
            "t1", Connection(system=system, status="connected", company_id="c1", connected_at=NOW), None
        )

    def creates(self) -> list[object]:
        return [arg for name, arg in self.remote.calls if name == "create"]


@pytest.fixture(params=[AccountingSystem.QUICKBOOKS_ONLINE, AccountingSystem.XERO])
def world(request: pytest.FixtureRequest) -> World:
    return World(request.param)


def test_create_pushes_and_links(world: World) -> None:
    customer = world.service.create("t1", CustomerCreateRequest(display_name="Blue Finch", email="a@b.example"))
    assert customer.sync.state is SyncState.SYNCED
    assert customer.external is not None and customer.external.id in world.remote.customers
    assert world.customers.get("t1", customer.id).external == customer.external


def test_prepush_validation_keeps_customer_without_a_round_trip(world: World) -> None:
    bad = "Fish: Chips" if world.remote.system is AccountingSystem.QUICKBOOKS_ONLINE else "Fish <Chips>"
    customer = world.service.create("t1", CustomerCreateRequest(display_name=bad, notes="typed by user"))
    assert customer.sync.state is SyncState.FAILED and customer.sync.error is not None
    assert customer.sync.error.category == "invalid_characters" and customer.sync.error.code == "prepush"
    assert world.creates() == []
    assert world.customers.get("t1", customer.id).notes == "typed by user"


def test_duplicate_of_active_record_keeps_provider_message(world: World) -> None:
    world.remote.add_remote("Acme Ltd")
    customer = world.service.create("t1", CustomerCreateRequest(display_name="acme ltd"))
    assert customer.sync.error is not None
    assert customer.sync.error.category == "duplicate_name"
    expected = {
        AccountingSystem.QUICKBOOKS_ONLINE: "Duplicate Name Exists Error: The name supplied already exists. : null",
        AccountingSystem.XERO: "The contact name acme ltd is already assigned to another contact. "
        "The contact name must be unique across all active contacts.",
    }
    assert customer.sync.error.message == expected[world.remote.system]
    assert customer.sync.error.existing_id is not None


def test_duplicate_of_inactive_record_offers_link_or_reactivate(world: World) -> None:
    inactive = world.remote.add_remote("Old Timer Co", active=False)
    customer = world.service.create("t1", CustomerCreateRequest(display_name="Old Timer Co"))
    assert customer.sync.error is not None
    assert customer.sync.error.category == "duplicate_name_inactive"
    assert customer.sync.error.existing_id == inactive.id
    if world.remote.system is AccountingSystem.XERO:
        assert world.creates() == []  # Xero would silently create a second contact beside the archived one
    linked = world.service.link("t1", customer.id, inactive.id, reactivate=True)
    assert linked.sync.state is SyncState.SYNCED and linked.external is not None and linked.external.active
    assert world.remote.customers[inactive.id].active is True


def test_fixed_name_gets_a_new_provider_key_so_the_old_refusal_is_not_replayed(world: World) -> None:
    world.remote.add_remote("Taken Name")
    customer = world.service.create("t1", CustomerCreateRequest(display_name="Taken Name"))
    fixed = world.service.update(
        "t1", customer.id, CustomerUpdateRequest(version=customer.version, display_name="Free Name")
    )
    assert fixed.sync.state is SyncState.SYNCED
    first_key, second_key = world.creates()
    assert first_key != second_key


def test_retry_after_crash_mid_push_creates_exactly_one_remote_record(world: World) -> None:
    world.remote.crash_after_commit = True
    request = CustomerCreateRequest(display_name="Crashy Co")
    with pytest.raises(KeyboardInterrupt):
        world.service.create("t1", request, idempotency_key="idem-1")
    retried = world.service.create("t1", request, idempotency_key="idem-1")
    assert retried.sync.state is SyncState.SYNCED
    assert [c.display_name for c in world.remote.customers.values()] == ["Crashy Co"]
    first_key, second_key = world.creates()
    assert first_key == second_key  # the same provider key: the provider replayed its answer
    assert len(world.customers.items) == 1


def test_authentication_failure_marks_reauth_and_then_fails_fast(world: World) -> None:
    world.remote.fail_next = AccountingError(world.remote.system, ErrorCategory.AUTHENTICATION_FAILED, "revoked")
    customer = world.service.create("t1", CustomerCreateRequest(display_name="Locked Out"))
    assert customer.sync.error is not None and customer.sync.error.category == "authentication_failed"
    assert "connect it again" in customer.sync.error.resolution or "re-connect" in customer.sync.error.resolution
    assert world.reauth == ["t1"]
    connection = world.accounts.get_connection("t1")
    assert connection is not None
    world.accounts.save_connection("t1", connection.model_copy(update={"status": "needs_reauth"}), None)
    calls = len(world.remote.calls)
    again = world.service.create("t1", CustomerCreateRequest(display_name="Still Locked"))
    assert again.sync.error is not None and again.sync.error.category == "authentication_failed"
    assert len(world.remote.calls) == calls


def test_override_pushes_a_sparse_update_and_never_overwrites_newer_remote_data(world: World) -> None:
    customer = world.service.create("t1", CustomerCreateRequest(display_name="Editable"))
    world.accounts.save_settings("t1", AccountSettings(allow_customer_edits=True, version=1), 0)
    edited = world.service.update(
        "t1", customer.id, CustomerUpdateRequest(version=customer.version, email="x@y.example")
    )
    assert edited.sync.state is SyncState.SYNCED
    assert ("update", {"email": "x@y.example"}) in world.remote.calls
    # Someone edits the record in the accounting system: our token is now stale
    assert edited.external is not None
    remote = world.remote.customers[edited.external.id]
    world.remote.customers[remote.id] = remote.model_copy(update={"sync_token": "9", "email": "theirs@y.example"})
    stale = world.service.update(
        "t1", customer.id, CustomerUpdateRequest(version=edited.version, email="mine@y.example")
    )
    assert stale.sync.state is SyncState.FAILED and stale.sync.error is not None
    assert stale.sync.error.category == "stale_object"
    assert world.remote.customers[remote.id].email == "theirs@y.example"


def test_retry_of_an_ambiguous_failure_reuses_the_provider_key(world: World) -> None:
    """A timeout after the provider committed is recorded as a failure (the version moves on); retrying the
    push must still carry the same key, so the provider replays instead of creating a second record."""
    world.remote.timeout_after_commit = True
    customer = world.service.create("t1", CustomerCreateRequest(display_name="Ambiguous Co"))
    assert customer.sync.state is SyncState.FAILED and customer.sync.error is not None
    assert customer.sync.error.category == "provider_unavailable"
    connection = world.accounts.get_connection("t1")
    assert connection is not None
    retried = world.pusher.push(world.customers.get("t1", customer.id), connection)
    assert retried.sync.state is SyncState.SYNCED
    first_key, second_key = world.creates()
    assert first_key == second_key
    assert [c.display_name for c in world.remote.customers.values()] == ["Ambiguous Co"]


def _mirror_of(world: World, remote_id: str, name: str) -> Customer:
    """The customer a sync imports for a remote record (AR fields the user added there included)."""
    mirror = Customer(
        tenant_id="t1",
        id="cus_imported",
        contact=CustomerContact(display_name=name),
        external=ExternalRef(system=world.remote.system, id=remote_id, sync_token="0"),
        notes="Call before noon",
        balance=Balance(
            outstanding=Decimal("120.00"),
            total_due=Decimal("120.00"),
            unapplied_credit=Decimal("0"),
            source="computed",
            as_of=NOW,
        ),
        sync=SyncStatus(state=SyncState.SYNCED, last_synced_at=NOW),
        created_at=NOW,
        updated_at=NOW,
    )
    world.customers.add(mirror)
    return mirror


def test_linking_to_a_record_another_customer_mirrors_folds_that_customer_in(world: World) -> None:
    existing = world.remote.add_remote("Acme Ltd")
    _mirror_of(world, existing.id, "Acme Ltd")
    customer = world.service.create("t1", CustomerCreateRequest(display_name="Acme Ltd", industry="Retail"))
    assert customer.sync.error is not None and customer.sync.error.existing_id == existing.id

    linked = world.service.link("t1", customer.id, existing.id, reactivate=False)

    assert [c.id for c in world.customers.items.values()] == [customer.id]
    assert linked.external is not None and linked.external.id == existing.id
    assert (linked.industry, linked.notes) == ("Retail", "Call before noon")  # ours kept, the mirror's added
    assert linked.balance is not None and linked.balance.outstanding == Decimal("120.00")
    assert world.customers.get("t1", customer.id) == linked


def test_a_sync_between_a_crashed_create_and_its_retry_leaves_one_customer(world: World) -> None:
    world.remote.crash_after_commit = True
    with pytest.raises(KeyboardInterrupt):
        world.service.create("t1", CustomerCreateRequest(display_name="Crashy Co"), idempotency_key="idem-1")
    (pending,) = world.customers.items.values()
    (committed,) = world.remote.customers.values()
    _mirror_of(world, committed.id, "Crashy Co")  # the hourly sync imported the committed record

    retried = world.pusher.push(pending, world.accounts.get_connection("t1"))  # type: ignore[arg-type]

    assert [c.id for c in world.customers.items.values()] == [pending.id]
    assert retried.sync.state is SyncState.SYNCED and retried.external is not None
    assert retried.external.id == committed.id and retried.notes == "Call before noon"


def test_a_replayed_create_older_than_the_sync_window_is_read_again(world: World) -> None:
    """The provider answers a replayed create with the record as first created; an edit made since then and
    older than the sync's overlap would never be fetched again, so the record is re-read."""
    world.remote.crash_after_commit = True
    with pytest.raises(KeyboardInterrupt):
        world.service.create("t1", CustomerCreateRequest(display_name="Crashy Co"), idempotency_key="idem-1")
    (pending,) = world.customers.items.values()
    (key,) = world.remote.replies
    created = world.remote.replies[key].model_copy(update={"updated_at": NOW - timedelta(minutes=30)})
    world.remote.replies[key] = created
    world.remote.customers[created.id] = created.model_copy(
        update={"email": "ap@crashy.example", "sync_token": "1", "updated_at": NOW - timedelta(minutes=20)}
    )

    retried = world.pusher.push(pending, world.accounts.get_connection("t1"))  # type: ignore[arg-type]

    assert retried.contact.email == "ap@crashy.example"
    assert retried.external is not None and retried.external.sync_token == "1"
    assert ("get", created.id) in world.remote.calls
