"""The local AWS: a moto server on loopback with the table, queues and secrets of template.yaml."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import boto3

from local.template import load_template, resource

log = logging.getLogger(__name__)

REGION = "us-east-1"
LOCAL_STAGE = "local"
TABLE_NAME = f"arsync-{LOCAL_STAGE}-app"
QUEUE_NAME = f"arsync-{LOCAL_STAGE}-sync"
DLQ_NAME = f"arsync-{LOCAL_STAGE}-sync-dlq"


@dataclass(frozen=True)
class LocalResources:
    endpoint_url: str
    table_name: str
    queue_url: str
    dlq_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """moto in server mode: a real HTTP endpoint that boto3 reaches through AWS_ENDPOINT_URL.

    `in_process=True` runs it on a thread (fast, for tests); otherwise it is a child process, so the
    local stack and benchmarks measure real cross-process HTTP."""

    def __init__(self, port: int = 0, *, in_process: bool = True) -> None:
        self._port = port or free_port()
        self._in_process = in_process
        self._threaded: Any = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> MotoServer:
        if self._in_process:
            from moto.server import ThreadedMotoServer

            self._threaded = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
            self._threaded.start()
        else:
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self._port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self._wait_until_listening()
        return self

    def _wait_until_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self._port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"moto server did not start on port {self._port}")

    def stop(self) -> None:
        if self._threaded is not None:
            self._threaded.stop()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()


def aws_environment(endpoint_url: str) -> dict[str, str]:
    """What boto3 needs to talk to the local endpoint (fake credentials, never real ones)."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def _client(service: str, endpoint_url: str) -> Any:
    env = aws_environment(endpoint_url)
    return boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        region_name=REGION,
    ).client(service, endpoint_url=endpoint_url)


def provision(endpoint_url: str, table_name: str = TABLE_NAME) -> LocalResources:
    """Create the table and queues exactly as template.yaml declares them (keys, GSIs, TTL, redrive)."""
    template = load_template()
    table = resource("AppTable", template)["Properties"]
    dynamodb = _client("dynamodb", endpoint_url)
    existing = dynamodb.list_tables()["TableNames"]
    if table_name not in existing:
        dynamodb.create_table(
            TableName=table_name,
            BillingMode=table["BillingMode"],
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            GlobalSecondaryIndexes=[
                {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                for index in table["GlobalSecondaryIndexes"]
            ],
        )
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={
                "AttributeName": table["TimeToLiveSpecification"]["AttributeName"],
                "Enabled": True,
            },
        )

    sqs = _client("sqs", endpoint_url)
    dlq = resource("SyncDeadLetterQueue", template)["Properties"]
    queue = resource("SyncQueue", template)["Properties"]
    dlq_url = sqs.create_queue(
        QueueName=DLQ_NAME, Attributes={"MessageRetentionPeriod": str(dlq["MessageRetentionPeriod"])}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=QUEUE_NAME,
        Attributes={
            "VisibilityTimeout": str(queue["VisibilityTimeout"]),
            "MessageRetentionPeriod": str(queue["MessageRetentionPeriod"]),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue["RedrivePolicy"]["maxReceiveCount"])}
            ),
        },
    )["QueueUrl"]
    return LocalResources(endpoint_url=endpoint_url, table_name=table_name, queue_url=queue_url, dlq_url=dlq_url)


def apply_environment(resources: LocalResources, extra: dict[str, str] | None = None) -> None:
    """Point this process's functions at the local resources, as template.yaml's Globals would in AWS."""
    os.environ.update(aws_environment(resources.endpoint_url))
    os.environ.update(
        {
            "TABLE_NAME": resources.table_name,
            "SYNC_QUEUE_URL": resources.queue_url,
            "POWERTOOLS_SERVICE_NAME": "arsync",
            "POWERTOOLS_METRICS_NAMESPACE": "arsync",
            "POWERTOOLS_TRACE_DISABLED": "true",
            **(extra or {}),
        }
    )
