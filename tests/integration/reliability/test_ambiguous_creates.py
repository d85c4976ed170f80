"""F1 — ambiguous creates: 1,000 customer pushes while 30% of the provider's responses are dropped after it
committed. Exactly 1,000 records must exist in the accounting system, and every retry of a create must have
carried the same provider idempotency key (QBO `requestid`, Xero `Idempotency-Key`)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
import requests

from arsync.config import get_settings
from arsync.connectors.http import RateLimits, RetryPolicy
from arsync.connectors.quickbooks import QuickBooksConfig, QuickBooksOnlineConnector
from arsync.connectors.tokens import TokenManager
from arsync.connectors.xero import XeroConfig, XeroConnector
from arsync.models.account import Connection
from arsync.models.api import CustomerCreateRequest
from arsync.models.common import SyncState
from arsync.services.customers import CustomerService
from arsync.services.push import PushService
from arsync.store.dynamodb import DynamoAccountRepository, DynamoCustomerRepository
from arsync.store.tokens import SecretsManagerTokenStore
from local.stack import QBO_CLIENT, XERO_CLIENT, LocalStack
from tests.fakes import InMemoryIdempotencyGuard
from tests.integration.faq.conftest import ConnectedApi

pytestmark = pytest.mark.integration

PUSHES = 1_000
DROP_SHARE = 0.3
CREATE_PATH = {"quickbooks_online": ("POST", r".*/customer$"), "xero": ("PUT", r".*/Contacts$")}
FAST_RETRIES = RetryPolicy(max_attempts=6, base_delay=0.002, max_delay=0.02)
NO_CLIENT_LIMIT = RateLimits(per_minute=1_000_000, concurrent=64)


def connector_for(account: ConnectedApi, tokens: SecretsManagerTokenStore) -> Any:
    """The production adapter, with retries fast enough for a test and no client-side rate limit."""
    base = account.emulator.base_url
    if account.system == "quickbooks_online":
        config: Any = QuickBooksConfig.for_base_url(
            base,
            client_id=QBO_CLIENT[0],
            client_secret=QBO_CLIENT[1],
            company_id=account.company_id,
            retry=FAST_RETRIES,
            limits=NO_CLIENT_LIMIT,
        )
        connector: Any = QuickBooksOnlineConnector(config)
    else:
        config = XeroConfig.for_base_url(
            base,
            client_id=XERO_CLIENT[0],
            client_secret=XERO_CLIENT[1],
            company_id=account.company_id,
            retry=FAST_RETRIES,
            limits=NO_CLIENT_LIMIT,
        )
        connector = XeroConnector(config)
    connector.credentials = TokenManager(tokens, connector, connection_key=account.tenant_id)
    return connector


@pytest.mark.parametrize("system", ["quickbooks_online", "xero"])
def test_dropped_responses_after_commit_never_duplicate_a_customer(stack: LocalStack, system: str) -> None:
    # Given a connected account on an empty company, provider limits lifted, and 30% of creates dropped
    account = ConnectedApi(stack, system, customers=0)
    account.connect()
    account.admin("POST", "/limits", json={"per_minute": 1_000_000, "concurrent": 64, "per_day": 10_000_000})
    method, path = CREATE_PATH[system]
    account.admin(
        "POST",
        "/faults",
        json={
            "rules": [
                {
                    "match": {"method": method, "path": path},
                    "action": "drop_after_commit",
                    "probability": DROP_SHARE,
                    "seed": 20261204,
                }
            ]
        },
    )
    table = get_settings().TABLE_NAME
    repository = DynamoCustomerRepository(table)
    accounts = DynamoAccountRepository(table)
    connector = connector_for(account, SecretsManagerTokenStore(table, get_settings().TOKEN_SECRET_PREFIX))
    pusher = PushService(
        customers=repository, connector_for=lambda tenant, connection: connector, on_needs_reauth=lambda *_: None
    )
    service = CustomerService(repository, accounts, InMemoryIdempotencyGuard(), pusher=pusher)
    connection = accounts.get_connection(account.tenant_id)
    assert isinstance(connection, Connection)

    # When 1,000 customers are created, and the ones still failed are pushed again until none are
    customers = [
        service.create(account.tenant_id, CustomerCreateRequest(display_name=f"Ambiguous Customer {i:04d}"))
        for i in range(PUSHES)
    ]
    for _ in range(5):
        failed = [c for c in customers if c.sync.state is not SyncState.SYNCED]
        if not failed:
            break
        customers = [c for c in customers if c.sync.state is SyncState.SYNCED] + [
            pusher.push(repository.get(account.tenant_id, c.id), connection) for c in failed
        ]
    account.admin("DELETE", "/faults")

    # Then every customer is linked, the accounting system holds exactly 1,000 records, one per key
    assert all(c.sync.state is SyncState.SYNCED for c in customers)
    assert len({c.external.id for c in customers if c.external}) == PUSHES
    log = account.admin("GET", "/requests").json()["entries"]
    creates = [
        e
        for e in log  # the emulator's log spans every company other tests use: keep this account's creates
        if e["method"] == method and e["path"].endswith(path[3:-1]) and e.get("company_id") == account.company_id
    ]
    by_key: dict[str, int] = defaultdict(int)
    for entry in creates:
        by_key[entry["idempotency_key"]] += 1
    assert len(by_key) == PUSHES and None not in by_key  # one key per customer, every request carried one
    assert len(creates) > PUSHES  # the faults really made the connector retry
    remote = requests.get(f"{account.emulator.base_url}/_admin/companies/{account.company_id}/state", timeout=30)
    counts = remote.json()
    total = counts.get("customers", counts.get("contacts"))  # QBO and Xero name them differently
    if isinstance(total, dict):
        total = total["total"] if "total" in total else sum(v for v in total.values() if isinstance(v, int))
    assert total == PUSHES, counts
