"""Cursors cannot be reused across filters or pointed at another partition."""

from __future__ import annotations

import pytest

from arsync.errors import InvalidCursor
from arsync.store import cursor


def test_round_trip() -> None:
    key = {"PK": {"S": "TENANT#a"}, "SK": {"S": "CUSTOMER#1"}, "GSI2PK": {"S": "TENANT#a#CUSTOMERS#ARCHIVED#0"}}
    token = cursor.encode(key, "f1")
    assert cursor.decode(token, "f1", "GSI2PK", "TENANT#a#CUSTOMERS#ARCHIVED#0") == key


def test_other_filters_or_partition_are_refused() -> None:
    key = {"GSI2PK": {"S": "TENANT#b#CUSTOMERS#ARCHIVED#0"}}
    token = cursor.encode(key, "f1")
    with pytest.raises(InvalidCursor):
        cursor.decode(token, "f2", "GSI2PK", "TENANT#b#CUSTOMERS#ARCHIVED#0")
    with pytest.raises(InvalidCursor):
        cursor.decode(token, "f1", "GSI2PK", "TENANT#a#CUSTOMERS#ARCHIVED#0")


@pytest.mark.parametrize("garbage", ["!!!", "e30", "bm90IGpzb24", "W10"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        cursor.decode(garbage, "f1", "GSI2PK", "x")
