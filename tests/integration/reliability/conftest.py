"""Reliability fixtures: every tenant these tests create is registered, and the sync-queue messages they
caused (Sync now, webhooks, fuzzed POST /sync) are deleted when each module ends, so tests elsewhere in the
same session (which drain the shared queue and inspect the DLQ) never see them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.stack import LocalStack

OUR_TENANTS: set[str] = set()
OUR_PREFIXES = ("t-fuzz-", "t-load-")


def ours(tenant_id: str) -> str:
    OUR_TENANTS.add(tenant_id)
    return tenant_id


@pytest.fixture
def tenant_id() -> str:
    """Overrides tests/integration/conftest.py's: the same shape, registered."""
    return ours(f"t-{uuid.uuid4().hex[:12]}")


def _sqs(stack: LocalStack) -> Any:
    assert stack.resources is not None
    return boto3.client(
        "sqs",
        endpoint_url=stack.resources.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _tenant_of(body: str) -> str:
    try:
        return str(json.loads(body).get("tenant_id", ""))
    except (ValueError, AttributeError):
        return ""


@pytest.fixture(scope="module", autouse=True)
def leave_the_queue_clean(stack: LocalStack) -> Iterator[None]:
    yield
    assert stack.resources is not None
    sqs, url = _sqs(stack), stack.resources.queue_url
    others: list[str] = []
    for _ in range(100):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not batch:
            break
        for message in batch:
            tenant = _tenant_of(message["Body"])
            if tenant in OUR_TENANTS or tenant.startswith(OUR_PREFIXES):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                others.append(message["ReceiptHandle"])
    for handle in others:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
