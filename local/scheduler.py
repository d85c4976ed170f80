"""Local event sources: an EventBridge-style scheduler and an SQS poller that behave like Lambda's.

- The scheduler reads the `Schedule` events of template.yaml and invokes those handlers in-process with a
  "Scheduled Event" shaped exactly as EventBridge sends it (`fire()` invokes one at once, for tests/demo).
- The poller long-polls the moto queue named by each `SQS` event, hands up to `BatchSize` messages to the
  handler as a real SQS batch event, deletes the messages that succeeded and leaves those reported in
  `batchItemFailures` (or the whole batch, when the handler raises) for redelivery after their visibility
  timeout; moto applies the queue's redrive policy, so a message received `maxReceiveCount` times moves to
  the DLQ, as in AWS.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.aws import REGION, LocalResources, _client
from local.lambda_context import LocalLambdaContext
from local.template import FunctionSpec, functions

log = logging.getLogger("local.scheduler")
ACCOUNT_ID = "123456789012"
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def _handler(spec: FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
    module = importlib.import_module(spec.module)
    handler: Callable[[dict[str, Any], Any], Any] = getattr(module, spec.handler)
    return handler


def schedule_interval(expression: str) -> float:
    """Seconds between runs of a `rate(...)` expression; cron expressions are run hourly locally."""
    match = _RATE.match(expression.strip())
    if not match:
        return 3600.0
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")])


def scheduled_event(rule_name: str, now: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends for a schedule rule (same shape as `sam local generate-event`)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Messages from ReceiveMessage as Lambda's SQS event source mapping delivers them."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


@dataclass
class QueueSubscription:
    spec: FunctionSpec
    queue_url: str
    queue_arn: str
    batch_size: int
    report_failures: bool


@dataclass
class Scheduler:
    """Runs schedules and queue pollers on daemon threads until `stop()`; everything is also callable directly."""

    resources: LocalResources
    failed_visibility_seconds: int | None = None
    """None: failed messages wait out their queue visibility timeout (as in AWS); a number shortens it locally."""
    wait_seconds: int = 1
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sqs = _client("sqs", self.resources.endpoint_url)
        self.schedules: dict[str, tuple[FunctionSpec, str, float]] = {}
        self.subscriptions: list[QueueSubscription] = []
        queue_urls = {"SyncQueue": self.resources.queue_url, "SyncDeadLetterQueue": self.resources.dlq_url}
        for spec in functions():
            for name, event in spec.events.items():
                properties = event.get("Properties", {})
                if event["Type"] == "Schedule":
                    interval = schedule_interval(str(properties.get("Schedule", "")))
                    self.schedules[spec.logical_id] = (spec, f"arsync-local-{name}", interval)
                elif event["Type"] == "SQS":
                    queue_ref = properties["Queue"]
                    logical = queue_ref.get("Fn::GetAtt", ["SyncQueue"])[0] if isinstance(queue_ref, dict) else None
                    url = queue_urls.get(str(logical), self.resources.queue_url)
                    arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                        "QueueArn"
                    ]
                    self.subscriptions.append(
                        QueueSubscription(
                            spec=spec,
                            queue_url=url,
                            queue_arn=arn,
                            batch_size=int(properties.get("BatchSize", 10)),
                            report_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                        )
                    )

    # --- schedules -----------------------------------------------------------------------------------------------
    def fire(self, logical_id: str) -> Any:
        """Invoke one scheduled function now with a fresh Scheduled Event."""
        spec, rule, _ = self.schedules[logical_id]
        event = scheduled_event(rule)
        log.info("schedule %s fired (event %s)", logical_id, event["id"])
        return _handler(spec)(event, LocalLambdaContext(function_name=spec.logical_id, timeout_seconds=spec.timeout))

    # --- queues --------------------------------------------------------------------------------------------------
    def poll_once(self, subscription: QueueSubscription | None = None, wait_seconds: int = 0) -> int:
        """Receive one batch and deliver it; return how many messages were received."""
        sub = subscription or self.subscriptions[0]
        response = self._sqs.receive_message(
            QueueUrl=sub.queue_url,
            MaxNumberOfMessages=sub.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, sub.queue_arn)
        context = LocalLambdaContext(function_name=sub.spec.logical_id, timeout_seconds=sub.spec.timeout)
        failed: set[str]
        try:
            result = _handler(sub.spec)(event, context)
            failed = set()
            if sub.report_failures and isinstance(result, dict):
                failed = {str(f["itemIdentifier"]) for f in result.get("batchItemFailures") or []}
        except Exception:
            log.exception("%s failed: the whole batch will be redelivered", sub.spec.logical_id)
            failed = {m["MessageId"] for m in messages}
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(succeeded), 10):
            chunk = succeeded[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=sub.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        if failed and self.failed_visibility_seconds is not None:
            for m in messages:
                if m["MessageId"] in failed:
                    self._sqs.change_message_visibility(
                        QueueUrl=sub.queue_url,
                        ReceiptHandle=m["ReceiptHandle"],
                        VisibilityTimeout=self.failed_visibility_seconds,
                    )
        return len(messages)

    def drain(self, max_batches: int = 1000) -> int:
        """Deliver until every queue reads empty (tests, demo); return the number of messages delivered."""
        total = 0
        for _ in range(max_batches):
            received = sum(self.poll_once(sub) for sub in self.subscriptions)
            if not received:
                return total
            total += received
        return total

    # --- background ----------------------------------------------------------------------------------------------
    def start(self) -> Scheduler:
        for logical_id, (_, _, interval) in self.schedules.items():
            self._spawn(f"schedule-{logical_id}", self._schedule_loop, logical_id, interval)
        for sub in self.subscriptions:
            self._spawn(f"poll-{sub.spec.logical_id}", self._poll_loop, sub)
        return self

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _schedule_loop(self, logical_id: str, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.fire(logical_id)
            except Exception:
                log.exception("scheduled %s failed", logical_id)

    def _poll_loop(self, sub: QueueSubscription) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(sub, wait_seconds=self.wait_seconds)
            except Exception:
                log.exception("polling for %s failed", sub.spec.logical_id)
                self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.wait_seconds + 5)
        self._threads.clear()
