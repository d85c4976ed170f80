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
