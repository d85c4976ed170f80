"""Lazily created, cached AWS clients (never at import time, so tests and the local stack can set
`AWS_ENDPOINT_URL` first and cold starts only pay for the clients a function uses)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)
    return boto3.session.Session().client(service, config=config)


THROTTLING_CODES = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"})


def is_throttling(error: BaseException | None) -> bool:
    """A botocore ClientError that DynamoDB raised because it is over capacity (already retried by the client)."""
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in THROTTLING_CODES


class DynamoTableAdapter:
    """Base of every DynamoDB adapter: the table name, and a client made on first use (or injected)."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client
