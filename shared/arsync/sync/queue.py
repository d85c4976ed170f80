"""The sync queue port and its SQS adapter (one message per account run; batches of 10 per request)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from arsync import aws
from arsync.sync.models import SyncMessage

SEND_BATCH_MAX = 10
MAX_DELAY_SECONDS = 900
"""SQS's ceiling for DelaySeconds; longer pauses are bridged by sending another delayed continuation."""


class SyncQueue(ABC):
    @abstractmethod
    def send(self, messages: Sequence[SyncMessage], delay_seconds: int = 0) -> None:
        """Send every message (in batches of 10); raise if any could not be sent."""


class SqsSyncQueue(SyncQueue):
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self._url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("sqs")
        return self._client

    def send(self, messages: Sequence[SyncMessage], delay_seconds: int = 0) -> None:
        delay = max(0, min(MAX_DELAY_SECONDS, int(delay_seconds)))
        for start in range(0, len(messages), SEND_BATCH_MAX):
            chunk = messages[start : start + SEND_BATCH_MAX]
            if len(chunk) == 1:
                self.client.send_message(QueueUrl=self._url, MessageBody=chunk[0].body(), DelaySeconds=delay)
                continue
            entries = [
                {"Id": str(i), "MessageBody": message.body(), "DelaySeconds": delay} for i, message in enumerate(chunk)
            ]
            response = self.client.send_message_batch(QueueUrl=self._url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                retry = [entries[int(f["Id"])] for f in failed if not f.get("SenderFault")]
                if len(retry) != len(failed):
                    raise RuntimeError(f"SQS refused {len(failed)} sync messages: {failed}")
                again = self.client.send_message_batch(QueueUrl=self._url, Entries=retry)
                if again.get("Failed"):
                    raise RuntimeError(f"SQS failed to take {len(again['Failed'])} sync messages")
