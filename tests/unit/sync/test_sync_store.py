"""DynamoDB adapter details that moto does not exercise: unprocessed items and request sizes."""

from __future__ import annotations

from typing import Any

from arsync.store.sync_store import DynamoSyncStore
from arsync.sync.models import SyncMessage
from arsync.sync.queue import SqsSyncQueue


class StubDynamo:
    def __init__(self, unprocessed_rounds: int) -> None:
        self.requests: list[int] = []
        self.unprocessed_rounds = unprocessed_rounds

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        ((table, entries),) = RequestItems.items()
        self.requests.append(len(entries))
        if self.unprocessed_rounds:
            self.unprocessed_rounds -= 1
            return {"UnprocessedItems": {table: entries[:3]}}
        return {"UnprocessedItems": {}}


class StubSqs:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.batches.append(len(Entries))
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.batches.append(1)
        return {}


def test_batch_write_sends_25_per_request_and_retries_unprocessed_items() -> None:
    client, sleeps = StubDynamo(unprocessed_rounds=2), list[float]()
    store = DynamoSyncStore("t", client, sleep=sleeps.append)
    store.batch_write([{"PK": {"S": str(n)}, "SK": {"S": "x"}} for n in range(60)])
    assert client.requests == [25, 3, 3, 25, 10]
    assert len(sleeps) == 2


def test_queue_sends_batches_of_ten() -> None:
    sqs = StubSqs()
    SqsSyncQueue("url", sqs).send([SyncMessage(tenant_id=f"t{n}", run_id="r", trigger="schedule") for n in range(23)])
    assert sqs.batches == [10, 10, 3]
