"""S3 - webhook authenticity over HTTP through the local gateway, for QuickBooks Online and Xero.

Only a correctly signed body is acted on, once: unsigned, wrong-key, one-byte-tampered and
whitespace-reformatted deliveries are 401 with an empty body and request nothing; a replay of the valid
delivery requests nothing more; Xero's intent-to-receive (no events) is 200. "Acted on" is observed twice:
the tenant's sync runs (`GET /sync/runs`) and the messages for the tenant in the moto SQS queue.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from arsync.services.webhooks import signature
from local.stack import QBO_WEBHOOK_VERIFIER, XERO_WEBHOOK_KEY, LocalStack
from tests.integration.faq.conftest import ConnectedApi
from tests.integration.reliability.conftest import ours
from tests.integration.reliability.figures import record, summary_ms

pytestmark = pytest.mark.integration

KEYS = {"quickbooks_online": QBO_WEBHOOK_VERIFIER, "xero": XERO_WEBHOOK_KEY}
HEADERS = {"quickbooks_online": "intuit-signature", "xero": "x-xero-signature"}


def notification(system: str, company_id: str) -> bytes:
    if system == "quickbooks_online":
        payload: dict[str, Any] = {
            "eventNotifications": [
                {
                    "realmId": company_id,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": str(uuid.uuid4().int % 100_000),  # every notification is a new delivery
                                "operation": "Update",
                                "lastUpdated": f"2026-12-04T10:00:00.{uuid.uuid4().int % 1000:03d}Z",
                            }
                        ]
                    },
                }
            ]
        }
    else:
        payload = {
            "events": [
                {
                    "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{uuid.uuid4()}",
                    "resourceId": str(uuid.uuid4()),
                    "eventDateUtc": "2026-12-04T10:00:00.000",
                    "eventType": "UPDATE",
                    "eventCategory": "CONTACT",
                    "tenantId": company_id,
                    "tenantType": "ORGANISATION",
                }
            ],
            "firstEventSequence": 1,
            "lastEventSequence": 1,
            "entropy": uuid.uuid4().hex,
        }
    return json.dumps(payload, separators=(",", ":")).encode()


def post(stack: LocalStack, system: str, body: bytes, sig: str | None, **headers: str) -> requests.Response:
    sent = {"Content-Type": "application/json", **headers}
    if sig is not None:
        sent[HEADERS[system]] = sig
    return requests.post(f"{stack.api_url}/webhooks/{system}", data=body, headers=sent, timeout=30)


class Queue:
    def __init__(self, stack: LocalStack) -> None:
        assert stack.resources is not None
        self.url = stack.resources.queue_url
        self.client = boto3.client(
            "sqs",
            endpoint_url=stack.resources.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def messages_for(self, tenant_id: str) -> list[str]:
        """Every visible message naming the tenant; all are made visible again afterwards."""
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(50):
            batch = self.client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=30)
            messages = batch.get("Messages", [])
            if not messages:
                break
            for message in messages:
                seen[message["MessageId"]] = message
        for message in seen.values():
            self.client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [m["Body"] for m in seen.values() if tenant_id in m["Body"]]


@pytest.fixture(params=["quickbooks_online", "xero"])
def connected(request: pytest.FixtureRequest, stack: LocalStack) -> Iterator[ConnectedApi]:
    api = ConnectedApi(stack, request.param)
    ours(api.tenant_id)
    api.connect()
    yield api


def _runs(api: ConnectedApi) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/sync/runs").json()["items"]
    return items


def test_only_the_valid_delivery_is_processed_and_only_once(stack: LocalStack, connected: ConnectedApi) -> None:
    system, queue = connected.system, Queue(stack)
    key, body = KEYS[system], notification(system, connected.company_id)
    valid = signature(key, body)
    reformatted = json.dumps(json.loads(body), indent=2).encode()
    tampered = bytearray(body)
    tampered[body.index(b'"', 5) + 1] ^= 0x01  # one bit of one byte inside the first key
    invalid = {
        "unsigned": (body, None),
        "empty signature": (body, ""),
        "wrong key": (body, signature("not-our-key", body)),
        "one byte tampered": (bytes(tampered), valid),
        "whitespace reformatted": (reformatted, valid),
        "other system's key": (
            body,
            signature(KEYS["xero" if system == "quickbooks_online" else "quickbooks_online"], body),
        ),
        "signature of the reformatted body on the original": (body, signature(key, reformatted)),
    }
    assert _runs(connected) == [] and queue.messages_for(connected.tenant_id) == []
    for kind, (payload, sig) in invalid.items():
        response = post(stack, system, payload, sig)
        assert response.status_code == 401, kind
        assert response.content == b"", kind  # empty body, nothing echoed
    assert _runs(connected) == [], "an invalid delivery requested a sync"
    assert queue.messages_for(connected.tenant_id) == []

    timings = []
    for _ in range(3):  # the first delivery, then two replays of the same bytes
        started = time.perf_counter()
        response = post(stack, system, body, valid)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200 and response.content == b""
    runs = _runs(connected)
    assert [(r["trigger"], r["status"]) for r in runs] == [("webhook", "queued")]
    assert len(queue.messages_for(connected.tenant_id)) == 1
    record("webhook_valid_latency", system=system, **summary_ms(timings))


def test_signature_header_name_is_case_insensitive(stack: LocalStack, connected: ConnectedApi) -> None:
    system = connected.system
    body = notification(system, connected.company_id)
    response = requests.post(
        f"{stack.api_url}/webhooks/{system}",
        data=body,
        headers={HEADERS[system].upper(): signature(KEYS[system], body), "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200
    assert [r["trigger"] for r in _runs(connected)] == ["webhook"]


def test_valid_delivery_for_an_unknown_company_is_200_and_requests_nothing(stack: LocalStack) -> None:
    for system in KEYS:
        body = notification(system, f"unknown-{uuid.uuid4().hex[:8]}")
        response = post(stack, system, body, signature(KEYS[system], body))
        assert response.status_code == 200 and response.content == b""


def test_xero_intent_to_receive(stack: LocalStack) -> None:
    body = json.dumps(
        {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": uuid.uuid4().hex}
    ).encode()
    started = time.perf_counter()
    signed = post(stack, "xero", body, signature(XERO_WEBHOOK_KEY, body))
    elapsed = time.perf_counter() - started
    assert signed.status_code == 200 and signed.content == b""
    unsigned = post(stack, "xero", body, signature("wrong", body))
    assert unsigned.status_code == 401 and unsigned.content == b""
    record("xero_intent_to_receive_latency", **summary_ms([elapsed]))


@pytest.mark.parametrize("system", ["quickbooks_online", "xero"])
def test_webhooks_need_no_bearer_token_and_ignore_one(stack: LocalStack, system: str) -> None:
    # Public route: a bearer token neither authenticates a delivery nor replaces the signature.
    from local.auth import issue_token

    body = notification(system, "9130")
    response = post(stack, system, body, None, Authorization=f"Bearer {issue_token('t-webhook')}")
    assert response.status_code == 401 and response.content == b""
