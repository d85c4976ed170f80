"""The benchmark's moto narrows each Query to its partition: the answers must be moto's own, page by page."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table
from moto.sqs.models import Queue, SQSBackend

from bench import moto_server

T = TypeVar("T")


def _pages(client: Any, **request: Any) -> list[list[dict[str, Any]]]:
    pages = []
    while True:
        response = client.query(TableName="t", Limit=3, **request)
        pages.append(response["Items"])
        if "LastEvaluatedKey" not in response:
            return pages
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _answers() -> list[list[list[dict[str, Any]]]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "G", "GS")],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "GSI",
                    "KeySchema": [
                        {"AttributeName": "G", "KeyType": "HASH"},
                        {"AttributeName": "GS", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        for n in range(40):
            item = {"PK": {"S": f"P{n % 3}"}, "SK": {"S": f"S{n:03d}"}, "v": {"N": str(n)}}
            if n % 4:
                item |= {"G": {"S": f"G{n % 2}"}, "GS": {"S": f"{39 - n:03d}"}}
            client.put_item(TableName="t", Item=item)
        condition = {"ExpressionAttributeValues": {":p": {"S": "P1"}, ":s": {"S": "S01"}}}
        return [
            _pages(client, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "P1"}}),
            _pages(client, KeyConditionExpression="PK = :p AND begins_with(SK, :s)", **condition),
            _pages(client, KeyConditionExpression="PK = :p", ScanIndexForward=False, **{
                "ExpressionAttributeValues": {":p": {"S": "P2"}}}),
            _pages(client, IndexName="GSI", KeyConditionExpression="G = :g",
                   ExpressionAttributeValues={":g": {"S": "G1"}}),
            _pages(client, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "none"}}),
        ]  # fmt: skip


def _in_a_process_of_its_own(compare: Callable[[], T]) -> T:
    """`mock_aws` resets moto's process-wide backends, which the integration stack's in-process moto server
    shares when both land in one pytest worker; and the patches below are global. A fresh process keeps both
    away from the rest of the session."""
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_only_the_mock
    ) as pool:
        return pool.submit(compare).result()


def _only_the_mock() -> None:
    """The integration stack exports AWS_ENDPOINT_URL; with it set, boto3 would talk to that moto server."""
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]


def _compare_queries() -> tuple[Any, Any]:
    expected = _answers()
    original = Table.query
    Table.query = moto_server.query  # type: ignore[method-assign]
    try:
        return expected, _answers()
    finally:
        Table.query = original  # type: ignore[method-assign]


def test_narrowed_queries_answer_exactly_as_moto_does() -> None:
    expected, got = _in_a_process_of_its_own(_compare_queries)
    assert got == expected
    assert sum(len(page) for page in expected[3]) == 20 and len(expected[0]) > 1  # GSI and paging exercised


def _sqs_answers() -> tuple[int, int, dict[str, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        plain = sqs.create_queue(QueueName="q")["QueueUrl"]
        fifo = sqs.create_queue(
            QueueName="q.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        for n in range(5):
            sqs.send_message(QueueUrl=plain, MessageBody=f"m{n}")
            sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")  # deduplicated by content
        counts = [
            int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"
            ])
            for url in (plain, fifo)
        ]  # fmt: skip
        attributes = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
        return counts[0], counts[1], attributes


def _compare_sends() -> tuple[Any, Any]:
    expected = _sqs_answers()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Queue, "attributes", property(moto_server.attributes))
        patch.setattr(SQSBackend, "send_message", moto_server.send_message)
        return expected, _sqs_answers()


def test_sends_answer_exactly_as_moto_does() -> None:
    expected, got = _in_a_process_of_its_own(_compare_sends)
    assert got[:2] == expected[:2] == (5, 1)
    volatile = {"CreatedTimestamp", "LastModifiedTimestamp"}
    assert {k: v for k, v in got[2].items() if k not in volatile} == {
        k: v for k, v in expected[2].items() if k not in volatile
    }
