"""Opaque page cursors: the DynamoDB start key plus a fingerprint of the query it belongs to.

A cursor is only accepted for the same tenant partition and the same filters, so a forged or reused
cursor cannot reach another tenant's partition or silently change what a page means.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from arsync.errors import InvalidCursor


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:16]


def encode(start_key: dict[str, Any], query_fingerprint: str) -> str:
    raw = json.dumps({"k": start_key, "f": query_fingerprint}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, query_fingerprint: str, partition_attr: str, partition_value: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        start_key = payload["k"]
        if payload["f"] != query_fingerprint or start_key[partition_attr] != {"S": partition_value}:
            raise InvalidCursor()
        if not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in start_key.values()):
            raise InvalidCursor()
        return dict(start_key)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
