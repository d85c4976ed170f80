"""`python -m bench.moto_server -H 127.0.0.1 -p PORT`: moto's server, with Query reading one partition.

moto answers every Query by sorting every item of the table and then walking all of them (base table and
GSI alike); real DynamoDB reads only the partition asked for. At N = 10,000 that made each per-customer GSI
query of a 1% sync cost ~1 s of moto CPU, so the benchmark measured moto, not arsync. Here a Query first
narrows the candidates to its partition (base table: the hash key's own item map; GSI: items whose index hash
key equals the single string key condition) and then runs moto's own Query code unchanged on them: same
results, sort order, paging and filters. Requests, items and everything else are moto's.

SQS: moto's SendMessage builds every queue attribute, counting every message in the queue, to read one
(`ContentBasedDeduplication`), so sending 10,000 messages cost O(n²). While a message is sent, that lookup is
answered from the queue's own setting; everything else (GetQueueAttributes included) is moto's.

The benchmark sends one request at a time, but moto's server is threaded: narrowed queries hold a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models.table import Table
from moto.server import main
from moto.sqs.models import Queue, SQSBackend

_QUERY = Table.query
_LOCK = threading.Lock()
INDEX_NAME_ARG = 6  # Table.query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
#                                 scan_index_forward, projection_expressions, index_name, ...)


def _candidates(table: Table, hash_key: Any, index_name: str | None, kwargs: dict[str, Any]) -> Callable[[], list[Any]]:
    if not index_name:

        def partition() -> list[Any]:
            items = table.items.get(hash_key)
            if items is None:
                return []
            return list(items.values()) if table.range_key_attr else [items]

        return partition
    conditions = kwargs.get("hash_key_conditions") or []
    name, wanted = conditions[0][0], conditions[0][1].value

    def index_partition() -> list[Any]:
        found: list[Any] = []
        rows: Any
        for rows in table.items.values():
            for item in rows.values() if table.range_key_attr else [rows]:
                value = item.attrs.get(name)
                if value is not None and value.type == "S" and value.value == wanted:
                    found.append(item)
        return found

    return index_partition


def _narrowable(hash_key: Any, index_name: str | None, kwargs: dict[str, Any]) -> bool:
    if not index_name:
        return hash_key is not None
    conditions = kwargs.get("hash_key_conditions") or []
    return len(conditions) == 1 and conditions[0][1].type == "S"


def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = args[INDEX_NAME_ARG] if len(args) > INDEX_NAME_ARG else kwargs.get("index_name")
    if not _narrowable(hash_key, index_name, kwargs):
        return _QUERY(self, hash_key, *args, **kwargs)
    with _LOCK:
        self.all_items = _candidates(self, hash_key, index_name, kwargs)  # type: ignore[method-assign]
        try:
            return _QUERY(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items


_SEND = SQSBackend.send_message
_ATTRIBUTES = Queue.attributes
_sending = threading.local()


def attributes(self: Queue) -> dict[str, Any]:
    if getattr(_sending, "active", False):
        fifo_dedup = bool(self.fifo_queue and getattr(self, "content_based_deduplication", False))
        return {"ContentBasedDeduplication": "true" if fifo_dedup else "false"}
    return _ATTRIBUTES.fget(self)  # type: ignore[attr-defined]


def send_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
    _sending.active = True
    try:
        return _SEND(self, *args, **kwargs)
    finally:
        _sending.active = False


def install() -> None:
    """Patch this process's moto (the server child, or a test)."""
    Table.query = query  # type: ignore[method-assign]
    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    main()
