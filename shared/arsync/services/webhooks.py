"""Provider webhooks: verify the signature on the raw body, then ask for a sync of the notified accounts.

Both providers sign with base64(HMAC-SHA256(key, raw body)); neither signs a timestamp, so replays are
recognised by the body's digest. Payloads carry ids only; the sync reads the data itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Protocol

from arsync.clock import Clock, utc_now
from arsync.models.common import AccountingSystem
from arsync.observability import logger
from arsync.sync.models import Trigger

SIGNATURE_HEADERS = {
    AccountingSystem.QUICKBOOKS_ONLINE: "intuit-signature",
    AccountingSystem.XERO: "x-xero-signature",
}
REPLAY_WINDOW_SECONDS = 2 * 86_400  # Xero retries for up to 24 h


class InvalidSignature(Exception):
    """Not signed with our key: answered 401 with an empty body, nothing enqueued."""


class SyncRequester(Protocol):
    def request_sync(self, tenant_id: str, trigger: Trigger) -> Any: ...


class WebhookStore(Protocol):
    def tenant_for_company(self, system: str, company_id: str) -> str | None: ...

    def first_delivery(self, system: str, body_digest: str, ttl_seconds: int, now: int) -> bool: ...


def signature(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def companies_in(system: AccountingSystem, payload: dict[str, Any]) -> set[str]:
    """Provider company ids named by a notification (QBO realmId, Xero tenantId; CloudEvents too)."""
    if system is AccountingSystem.QUICKBOOKS_ONLINE:
        legacy = {str(n.get("realmId")) for n in payload.get("eventNotifications") or [] if n.get("realmId")}
        cloud = {str(payload["intuitaccountid"])} if payload.get("intuitaccountid") else set()
        return legacy | cloud
    return {str(e.get("tenantId")) for e in payload.get("events") or [] if e.get("tenantId")}


@dataclass
class WebhookService:
    store: WebhookStore
    syncs: SyncRequester
    keys: dict[AccountingSystem, str]
    clock: Clock = utc_now

    def receive(self, system: AccountingSystem, headers: dict[str, str], body: bytes) -> int:
        """Returns how many accounts were asked to sync. Raises InvalidSignature before parsing anything."""
        sent = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADERS[system], "")
        expected = signature(self.keys[system], body)
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise InvalidSignature()
        digest = hashlib.sha256(body).hexdigest()
        now = int(self.clock().timestamp())
        if not self.store.first_delivery(system.value, digest, REPLAY_WINDOW_SECONDS, now):
            logger.info("webhook replay ignored", system=system.value)
            return 0
        try:
            payload = json.loads(body)
        except ValueError:
            logger.warning("signed webhook body is not JSON", system=system.value)
            return 0
        requested = 0
        for company_id in sorted(companies_in(system, payload if isinstance(payload, dict) else {})):
            tenant_id = self.store.tenant_for_company(system.value, company_id)
            if tenant_id is None:
                continue
            self.syncs.request_sync(tenant_id, "webhook")
            requested += 1
        return requested
