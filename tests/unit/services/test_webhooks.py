"""Webhook authenticity: only a correctly signed body is acted on, and only once."""

from __future__ import annotations

import json

import pytest

from arsync.models.common import AccountingSystem
from arsync.services.webhooks import InvalidSignature, WebhookService, signature

KEYS = {AccountingSystem.QUICKBOOKS_ONLINE: "qbo-verifier", AccountingSystem.XERO: "xero-key"}


class Store:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.companies = {("quickbooks_online", "9130"): "t-qbo", ("xero", "tenant-uuid"): "t-xero"}

    def tenant_for_company(self, system: str, company_id: str) -> str | None:
        return self.companies.get((system, company_id))

    def first_delivery(self, system: str, body_digest: str, ttl_seconds: int, now: int) -> bool:
        if (system, body_digest) in self.seen:
            return False
        self.seen.add((system, body_digest))
        return True


class Syncs:
    def __init__(self) -> None:
        self.requested: list[tuple[str, str]] = []

    def request_sync(self, tenant_id: str, trigger: str) -> None:
        self.requested.append((tenant_id, trigger))


def service() -> tuple[WebhookService, Syncs]:
    syncs = Syncs()
    return WebhookService(store=Store(), syncs=syncs, keys=KEYS), syncs


QBO_BODY = json.dumps(
    {"eventNotifications": [{"realmId": "9130", "dataChangeEvent": {"entities": [{"name": "Customer", "id": "1"}]}}]}
).encode()
XERO_BODY = json.dumps({"events": [{"tenantId": "tenant-uuid", "eventCategory": "CONTACT"}], "entropy": "x"}).encode()


def test_intuit_published_signature_vector() -> None:
    assert signature("verify_me", b'{"stuff":"5"}') == "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="


@pytest.mark.parametrize(
    ("system", "header", "body", "tenant"),
    [
        (AccountingSystem.QUICKBOOKS_ONLINE, "intuit-signature", QBO_BODY, "t-qbo"),
        (AccountingSystem.XERO, "x-xero-signature", XERO_BODY, "t-xero"),
    ],
)
def test_only_the_valid_delivery_is_processed_once(
    system: AccountingSystem, header: str, body: bytes, tenant: str
) -> None:
    hooks, syncs = service()
    tampered = body.replace(b"}", b" }", 1)
    for headers, payload in [
        ({}, body),  # unsigned
        ({header: signature("wrong-key", body)}, body),  # wrong key
        ({header: signature(KEYS[system], body)}, tampered),  # one byte changed after signing
    ]:
        with pytest.raises(InvalidSignature):
            hooks.receive(system, headers, payload)
    assert syncs.requested == []
    valid = {header.upper(): signature(KEYS[system], body)}  # header names are case-insensitive
    assert hooks.receive(system, valid, body) == 1
    assert hooks.receive(system, valid, body) == 0  # replayed
    assert syncs.requested == [(tenant, "webhook")]


def test_xero_intent_to_receive_is_accepted_and_does_nothing() -> None:
    hooks, syncs = service()
    body = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
    assert hooks.receive(AccountingSystem.XERO, {"x-xero-signature": signature("xero-key", body)}, body) == 0
    assert syncs.requested == []


def test_unknown_company_is_ignored() -> None:
    hooks, syncs = service()
    body = json.dumps({"events": [{"tenantId": "someone-else"}]}).encode()
    assert hooks.receive(AccountingSystem.XERO, {"x-xero-signature": signature("xero-key", body)}, body) == 0
    assert syncs.requested == []
