"""The sync engine's storage port and its DynamoDB adapter: documents, sync state, lease, runs, bulk imports.

Imports write in bulk (BatchWriteItem, 25 items a request, unprocessed items retried with backoff) only what is
new or changed; an existing customer is replaced only conditionally on its `version`, so a concurrent AR edit
of an AR-owned field is never lost (the engine re-reads and re-merges on conflict).
"""

from __future__ import annotations

import json
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from arsync import aws
from arsync.errors import VersionConflict
from arsync.models.customer import Customer
from arsync.models.documents import DocKind, RemoteDoc, doc_from_item, doc_to_item
from arsync.models.records import customer_from_item, customer_to_item
from arsync.store import cursor, keys
from arsync.sync.models import ActiveRun, SyncRun, SyncState

Item = dict[str, Any]
BATCH_WRITE_MAX = 25
BATCH_GET_MAX = 100
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class IndexedCustomer:
    """What change detection needs of a stored linked customer (GSI3 projection)."""

    id: str
    content_hash: str
    version: int


@dataclass(frozen=True)
class DispatchTarget:
    tenant_id: str
    system: str


class SyncStore(ABC):
    # --- state, lease, runs ------------------------------------------------------------------------------------
    @abstractmethod
    def get_state(self, tenant_id: str) -> SyncState: ...

    @abstractmethod
    def save_state(self, tenant_id: str, state: SyncState) -> SyncState:
        """Conditional on `state.version` (0 = never stored); returns the stored state (version + 1)."""

    @abstractmethod
    def acquire_lease(self, tenant_id: str, owner: str, now: datetime, ttl_seconds: int) -> bool:
        """True if absent, expired or already owned by `owner`."""

    @abstractmethod
    def lease_holder(self, tenant_id: str, now: datetime) -> str | None:
        """The owner of the account's unexpired lease, if any."""

    @abstractmethod
    def release_lease(self, tenant_id: str, owner: str) -> None: ...

    @abstractmethod
    def get_run(self, tenant_id: str, run_id: str) -> SyncRun | None: ...

    @abstractmethod
    def put_run(self, run: SyncRun) -> None: ...

    @abstractmethod
    def list_runs(self, tenant_id: str, limit: int, page_cursor: str | None) -> tuple[list[SyncRun], str | None]:
        """Newest first; the cursor is opaque and bound to the tenant."""

    @abstractmethod
    def get_active(self, tenant_id: str) -> ActiveRun | None: ...

    @abstractmethod
    def claim_active(self, tenant_id: str, active: ActiveRun, replacing: str | None) -> bool:
        """Point at `active` if no run is active (or the active one is `replacing`); False if another won."""

    @abstractmethod
    def clear_active(self, tenant_id: str, run_id: str, tick: str | None = None) -> None:
        """Remove the pointer if it still names `run_id`."""

    @abstractmethod
    def get_actives(self, tenant_ids: Sequence[str]) -> dict[str, ActiveRun]: ...

    @abstractmethod
    def create_runs(self, runs: Sequence[SyncRun]) -> None:
        """Bulk (dispatcher): each run record plus its account's active pointer, in batch writes."""

    @abstractmethod
    def dispatch_targets(self) -> Iterator[DispatchTarget]:
        """Every connected account (sparse dispatcher index)."""

    # --- documents -----------------------------------------------------------------------------------------------
    @abstractmethod
    def doc_hashes(self, tenant_id: str, kind: DocKind, ids: Iterable[str] | None = None) -> dict[str, str]:
        """ext id -> content hash of stored documents of one kind: all of them, or only `ids`."""

    @abstractmethod
    def customer_docs(self, tenant_id: str, system: str, external_customer_id: str) -> list[RemoteDoc]: ...

    # --- customers -----------------------------------------------------------------------------------------------
    @abstractmethod
    def customer_index(self, tenant_id: str, system: str) -> dict[str, IndexedCustomer]:
        """ext id -> (id, content hash, version) of every customer linked to `system`."""

    @abstractmethod
    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None: ...

    @abstractmethod
    def put_items(self, tenant_id: str, system: str, records: Sequence[RemoteDoc | Customer]) -> None:
        """Unconditional puts of documents and new customers together, in as few batch writes as possible."""

    @abstractmethod
    def save_customer(self, customer: Customer, expected_version: int) -> None:
        """Replace conditionally on the stored version; raise VersionConflict otherwise."""


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def run_to_item(run: SyncRun) -> Item:
    return {
        "PK": _s(keys.tenant_pk(run.tenant_id)),
        "SK": _s(keys.sync_run_sk(run.id)),
        "type": _s("sync_run"),
        "status": _s(run.status),
        "doc": _s(run.model_dump_json(exclude={"tenant_id"})),
    }


def run_from_item(tenant_id: str, item: Item) -> SyncRun:
    doc = json.loads(item["doc"]["S"])
    doc["tenant_id"] = tenant_id
    return SyncRun.model_validate(doc)


def active_to_item(tenant_id: str, active: ActiveRun) -> Item:
    item = {
        "PK": _s(keys.tenant_pk(tenant_id)),
        "SK": _s(keys.sync_active_sk()),
        "type": _s("sync_active"),
        "run_id": _s(active.run_id),
        "since": _s(active.since.isoformat()),
    }
    if active.tick is not None:
        item["tick"] = _s(active.tick)
    return item


def active_from_item(item: Item) -> ActiveRun:
    return ActiveRun(
        run_id=item["run_id"]["S"],
        since=datetime.fromisoformat(item["since"]["S"]),
        tick=item["tick"]["S"] if "tick" in item else None,
        finished=item.get("finished", {}).get("BOOL", False),
    )


class DynamoSyncStore(SyncStore):
    def __init__(
        self,
        table_name: str,
        client: Any | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_batch_attempts: int = 8,
    ) -> None:
        self._table = table_name
        self._client = client
        self._sleep = sleep
        self._max_attempts = max_batch_attempts

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def _key(self, tenant_id: str, sort_key: str) -> Item:
        return {"PK": _s(keys.tenant_pk(tenant_id)), "SK": _s(sort_key)}

    def _get(self, tenant_id: str, sort_key: str) -> Item | None:
        response = self.client.get_item(TableName=self._table, Key=self._key(tenant_id, sort_key), ConsistentRead=True)
        item: Item | None = response.get("Item")
        return item

    def _query(self, **request: Any) -> Iterator[Item]:
        request["TableName"] = self._table
        while True:
            response = self.client.query(**request)
            yield from response.get("Items", [])
            if not response.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def batch_write(self, items: Sequence[Item]) -> None:
        """PutRequests in chunks of 25; UnprocessedItems retried with capped, jittered backoff."""
        for start in range(0, len(items), BATCH_WRITE_MAX):
            pending: list[Any] = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_MAX]]
            attempt = 0
            while pending:
                response = self.client.batch_write_item(RequestItems={self._table: pending})
                pending = response.get("UnprocessedItems", {}).get(self._table, [])
                if pending:
                    attempt += 1
                    if attempt >= self._max_attempts:
                        raise RuntimeError(f"{len(pending)} items still unprocessed after {attempt} attempts")
                    self._sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not crypto

    def batch_get(
        self, item_keys: Sequence[Item], projection: str | None = None, names: dict[str, str] | None = None
    ) -> list[Item]:
        found: list[Item] = []
        for start in range(0, len(item_keys), BATCH_GET_MAX):
            request: dict[str, Any] = {"Keys": list(item_keys[start : start + BATCH_GET_MAX]), "ConsistentRead": True}
            if projection:
                request["ProjectionExpression"] = projection
            if names:
                request["ExpressionAttributeNames"] = names
            attempt = 0
            while request.get("Keys"):
                response = self.client.batch_get_item(RequestItems={self._table: request})
                found.extend(response.get("Responses", {}).get(self._table, []))
                unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
                request = unprocessed or {}
                if request:
                    attempt += 1
                    if attempt >= self._max_attempts:
                        raise RuntimeError("keys still unprocessed after retries")
                    self._sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not crypto
        return found

    # --- state, lease, runs ------------------------------------------------------------------------------------

    def get_state(self, tenant_id: str) -> SyncState:
        item = self._get(tenant_id, keys.sync_state_sk())
        if item is None:
            return SyncState()
        doc = json.loads(item["doc"]["S"])
        doc["version"] = int(item["version"]["N"])
        return SyncState.model_validate(doc)

    def save_state(self, tenant_id: str, state: SyncState) -> SyncState:
        stored = state.model_copy(update={"version": state.version + 1})
        item = {
            **self._key(tenant_id, keys.sync_state_sk()),
            "type": _s("sync_state"),
            "doc": _s(stored.model_dump_json(exclude={"version"})),
            "version": {"N": str(stored.version)},
        }
        request: dict[str, Any] = {"TableName": self._table, "Item": item}
        if state.version == 0:
            request["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            request["ConditionExpression"] = "#v = :expected"
            request["ExpressionAttributeNames"] = {"#v": "version"}
            request["ExpressionAttributeValues"] = {":expected": {"N": str(state.version)}}
        try:
            self.client.put_item(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                raise VersionConflict("sync state", state.version, None) from exc
            raise
        return stored

    def acquire_lease(self, tenant_id: str, owner: str, now: datetime, ttl_seconds: int) -> bool:
        epoch = int(now.timestamp())
        try:
            self.client.put_item(
                TableName=self._table,
                Item={
                    **self._key(tenant_id, keys.sync_lease_sk()),
                    "type": _s("sync_lease"),
                    "owner": _s(owner),
                    "expires_at": {"N": str(epoch + ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(PK) OR expires_at < :now OR #owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": {"N": str(epoch)}, ":me": _s(owner)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True

    def lease_holder(self, tenant_id: str, now: datetime) -> str | None:
        item = self._get(tenant_id, keys.sync_lease_sk())
        if item is None or int(item["expires_at"]["N"]) < int(now.timestamp()):
            return None
        return item["owner"]["S"]

    def release_lease(self, tenant_id: str, owner: str) -> None:
        self._delete_if(tenant_id, keys.sync_lease_sk(), "owner", owner)

    def _delete_if(self, tenant_id: str, sort_key: str, attribute: str, value: str) -> None:
        try:
            self.client.delete_item(
                TableName=self._table,
                Key=self._key(tenant_id, sort_key),
                ConditionExpression="#a = :v",
                ExpressionAttributeNames={"#a": attribute},
                ExpressionAttributeValues={":v": _s(value)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise

    def get_run(self, tenant_id: str, run_id: str) -> SyncRun | None:
        item = self._get(tenant_id, keys.sync_run_sk(run_id))
        return run_from_item(tenant_id, item) if item else None

    def put_run(self, run: SyncRun) -> None:
        self.client.put_item(TableName=self._table, Item=run_to_item(run))

    def list_runs(self, tenant_id: str, limit: int, page_cursor: str | None) -> tuple[list[SyncRun], str | None]:
        partition = keys.tenant_pk(tenant_id)
        query_print = cursor.fingerprint(tenant_id, "sync_runs")
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(partition), ":prefix": _s(keys.SYNC_RUN_PREFIX)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if page_cursor:
            request["ExclusiveStartKey"] = cursor.decode(page_cursor, query_print, "PK", partition)
        response = self.client.query(**request)
        runs = [run_from_item(tenant_id, item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        next_cursor = cursor.encode({"PK": last["PK"], "SK": last["SK"]}, query_print) if last and runs else None
        return runs, next_cursor

    def get_active(self, tenant_id: str) -> ActiveRun | None:
        item = self._get(tenant_id, keys.sync_active_sk())
        return active_from_item(item) if item else None

    def claim_active(self, tenant_id: str, active: ActiveRun, replacing: str | None) -> bool:
        request: dict[str, Any] = {"TableName": self._table, "Item": active_to_item(tenant_id, active)}
        if replacing is None:
            request["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            request["ConditionExpression"] = "attribute_not_exists(PK) OR run_id = :old"
            request["ExpressionAttributeValues"] = {":old": _s(replacing)}
        try:
            self.client.put_item(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True

    def clear_active(self, tenant_id: str, run_id: str, tick: str | None = None) -> None:
        if tick is None:
            self._delete_if(tenant_id, keys.sync_active_sk(), "run_id", run_id)
            return
        try:
            self.client.update_item(
                TableName=self._table,
                Key=self._key(tenant_id, keys.sync_active_sk()),
                UpdateExpression="SET finished = :true",
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues={":true": {"BOOL": True}, ":run": _s(run_id)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise

    def get_actives(self, tenant_ids: Sequence[str]) -> dict[str, ActiveRun]:
        found = self.batch_get([self._key(t, keys.sync_active_sk()) for t in dict.fromkeys(tenant_ids)])
        prefix = len(keys.tenant_pk(""))
        return {item["PK"]["S"][prefix:]: active_from_item(item) for item in found}

    def create_runs(self, runs: Sequence[SyncRun]) -> None:
        items: list[Item] = []
        for run in runs:
            items.append(run_to_item(run))
            items.append(active_to_item(run.tenant_id, ActiveRun(run_id=run.id, since=run.created_at, tick=run.tick)))
        self.batch_write(items)

    def dispatch_targets(self) -> Iterator[DispatchTarget]:
        for partition in keys.all_dispatch_pks():
            for item in self._query(
                IndexName="GSI4",
                KeyConditionExpression="GSI4PK = :pk",
                ExpressionAttributeValues={":pk": _s(partition)},
            ):
                yield DispatchTarget(tenant_id=item["tenant_id"]["S"], system=item["system"]["S"])

    # --- documents -----------------------------------------------------------------------------------------------

    def doc_hashes(self, tenant_id: str, kind: DocKind, ids: Iterable[str] | None = None) -> dict[str, str]:
        prefix = keys.doc_prefix(kind)
        names = {"#sk": "SK", "#h": "content_hash"}
        if ids is None:
            rows: Iterable[Item] = self._query(
                KeyConditionExpression="PK = :pk AND begins_with(#sk, :prefix)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":pk": _s(keys.tenant_pk(tenant_id)), ":prefix": _s(prefix)},
                ProjectionExpression="#sk, #h",
            )
        else:
            item_keys = [self._key(tenant_id, keys.doc_sk(kind, i)) for i in dict.fromkeys(ids)]
            rows = self.batch_get(item_keys, projection="#sk, #h", names=names) if item_keys else []
        return {row["SK"]["S"][len(prefix) :]: row["content_hash"]["S"] for row in rows}

    def customer_docs(self, tenant_id: str, system: str, external_customer_id: str) -> list[RemoteDoc]:
        rows = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": _s(keys.customer_docs_pk(tenant_id, system, external_customer_id))},
        )
        return [doc_from_item(row) for row in rows]

    # --- customers -----------------------------------------------------------------------------------------------

    def customer_index(self, tenant_id: str, system: str) -> dict[str, IndexedCustomer]:
        rows = self._query(
            IndexName="GSI3",
            KeyConditionExpression="GSI3PK = :pk",
            ExpressionAttributeValues={":pk": _s(keys.external_pk(tenant_id, system))},
        )
        prefix = len(keys.CUSTOMER_PREFIX)
        return {
            row["GSI3SK"]["S"]: IndexedCustomer(
                id=row["SK"]["S"][prefix:], content_hash=row["content_hash"]["S"], version=int(row["version"]["N"])
            )
            for row in rows
        }

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        item = self._get(tenant_id, keys.customer_sk(customer_id))
        return customer_from_item(tenant_id, item) if item else None

    def put_items(self, tenant_id: str, system: str, records: Sequence[RemoteDoc | Customer]) -> None:
        self.batch_write(
            [customer_to_item(r) if isinstance(r, Customer) else doc_to_item(tenant_id, system, r) for r in records]
        )

    def save_customer(self, customer: Customer, expected_version: int) -> None:
        try:
            self.client.put_item(
                TableName=self._table,
                Item=customer_to_item(customer),
                ConditionExpression="attribute_exists(PK) AND #v = :expected",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                raise VersionConflict(customer.id, expected_version, None) from exc
            raise
