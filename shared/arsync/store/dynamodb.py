"""DynamoDB adapters of the repository ports: the only code that knows item shapes and `ClientError`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from arsync.aws import DynamoTableAdapter
from arsync.errors import CustomerAlreadyExists, CustomerNotFound, VersionConflict
from arsync.models.account import AccountSettings, Connection
from arsync.models.common import ArchivedFilter
from arsync.models.customer import Customer
from arsync.models.records import (
    connection_from_item,
    connection_to_item,
    customer_from_item,
    customer_to_item,
    settings_from_item,
    settings_to_item,
)
from arsync.store import cursor, keys
from arsync.store.base import AccountRepository, CustomerPage, CustomerQuery, CustomerRepository

_CONDITION_FAILED = "ConditionalCheckFailedException"


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED


class DynamoCustomerRepository(DynamoTableAdapter, CustomerRepository):
    def get(self, tenant_id: str, customer_id: str) -> Customer:
        response = self.client.get_item(
            TableName=self._table,
            Key={"PK": {"S": keys.tenant_pk(tenant_id)}, "SK": {"S": keys.customer_sk(customer_id)}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise CustomerNotFound(customer_id)
        return customer_from_item(tenant_id, response["Item"])

    def add(self, customer: Customer) -> None:
        try:
            self.client.put_item(
                TableName=self._table,
                Item=customer_to_item(customer),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise CustomerAlreadyExists(customer.id) from exc
            raise

    def save(self, customer: Customer, expected_version: int) -> None:
        try:
            self.client.put_item(
                TableName=self._table,
                Item=customer_to_item(customer),
                ConditionExpression="attribute_exists(PK) AND #version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            old = exc.response.get("Item")
            if old is None:
                raise CustomerNotFound(customer.id) from exc
            raise VersionConflict(customer.id, expected_version, int(old["version"]["N"])) from exc

    def linked_to(self, tenant_id: str, system: str, external_id: str) -> Customer | None:
        response = self.client.query(
            TableName=self._table,
            IndexName="GSI3",
            KeyConditionExpression="GSI3PK = :pk AND GSI3SK = :external_id",
            ExpressionAttributeValues={
                ":pk": {"S": keys.external_pk(tenant_id, system)},
                ":external_id": {"S": external_id},
            },
        )
        for row in response.get("Items", []):
            try:  # the index is eventually consistent: confirm on the base table
                found = self.get(tenant_id, keys.customer_id_from_sk(row["SK"]["S"]))
            except CustomerNotFound:
                continue
            if found.external is not None and found.external.id == external_id:
                return found
        return None

    def save_absorbing(self, customer: Customer, expected_version: int, absorbed: Customer) -> None:
        names = {"#version": "version"}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": customer_to_item(customer),
                            "ConditionExpression": "attribute_exists(PK) AND #version = :expected",
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": {
                                "PK": {"S": keys.tenant_pk(absorbed.tenant_id)},
                                "SK": {"S": keys.customer_sk(absorbed.id)},
                            },
                            "ConditionExpression": "#version = :absorbed",
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": {":absorbed": {"N": str(absorbed.version)}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise VersionConflict(absorbed.id, absorbed.version, None) from exc
            raise VersionConflict(customer.id, expected_version, None) from exc

    def iter_all(self, tenant_id: str) -> Iterator[Customer]:
        """One base-table Query over the tenant's partition in 1 MB pages (no index, no per-100 round trips)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :customers)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.tenant_pk(tenant_id)},
                ":customers": {"S": keys.CUSTOMER_PREFIX},
            },
        }
        while True:
            response = self.client.query(**request)
            for item in response.get("Items", []):
                yield customer_from_item(tenant_id, item)
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def list(self, tenant_id: str, query: CustomerQuery) -> CustomerPage:
        if query.archived is ArchivedFilter.ALL:
            index, pk_attr, sk_attr = "GSI1", "GSI1PK", "GSI1SK"
            partition = keys.customers_by_name_pk(tenant_id)
        else:
            index, pk_attr, sk_attr = "GSI2", "GSI2PK", "GSI2SK"
            partition = keys.customers_by_archived_pk(tenant_id, query.archived is ArchivedFilter.YES)
        names = {"#pk": pk_attr}
        values: dict[str, Any] = {":pk": {"S": partition}}
        key_condition = "#pk = :pk"
        if query.name_prefix:
            names["#sk"] = sk_attr
            values[":prefix"] = {"S": keys.name_key(query.name_prefix)}
            key_condition += " AND begins_with(#sk, :prefix)"
        filters = []
        if query.sync_state is not None:
            names["#sync_state"] = "sync_state"
            values[":sync_state"] = {"S": query.sync_state.value}
            filters.append("#sync_state = :sync_state")
        if query.health_band is not None:
            names["#health_band"] = "health_band"
            values[":health_band"] = {"S": query.health_band.value}
            filters.append("#health_band = :health_band")
        if not query.include_remote_inactive:
            names["#remote_inactive"] = "remote_inactive"
            values[":true"] = {"BOOL": True}
            filters.append("attribute_not_exists(#remote_inactive) OR NOT #remote_inactive = :true")
        query_print = cursor.fingerprint(
            tenant_id,
            query.archived,
            query.sync_state,
            query.name_prefix,
            query.health_band,
            query.include_remote_inactive,
        )
        start_key = cursor.decode(query.cursor, query_print, pk_attr, partition) if query.cursor else None

        items: list[dict[str, Any]] = []
        while True:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": index,
                "KeyConditionExpression": key_condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "Limit": query.limit + 1,
            }
            if filters:
                request["FilterExpression"] = " AND ".join(f"({clause})" for clause in filters)
            if start_key:
                request["ExclusiveStartKey"] = start_key
            response = self.client.query(**request)
            items.extend(response.get("Items", []))
            start_key = response.get("LastEvaluatedKey")
            if len(items) > query.limit or not start_key:
                break

        has_more = len(items) > query.limit or start_key is not None
        page = items[: query.limit]
        next_cursor = None
        if has_more and page:
            last = page[-1]
            next_cursor = cursor.encode({k: last[k] for k in ("PK", "SK", pk_attr, sk_attr)}, query_print)
        return CustomerPage(items=[customer_from_item(tenant_id, item) for item in page], next_cursor=next_cursor)


class DynamoAccountRepository(DynamoTableAdapter, AccountRepository):
    def _get(self, tenant_id: str, sort_key: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self._table,
            Key={"PK": {"S": keys.tenant_pk(tenant_id)}, "SK": {"S": sort_key}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _put_versioned(self, item: dict[str, Any], expected_version: int | None, entity: str) -> None:
        request: dict[str, Any] = {"TableName": self._table, "Item": item}
        if expected_version is not None:
            if expected_version == 0:
                request["ConditionExpression"] = "attribute_not_exists(PK)"
            else:
                request["ConditionExpression"] = "#version = :expected"
                request["ExpressionAttributeNames"] = {"#version": "version"}
                request["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            self.client.put_item(**request)
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise VersionConflict(entity, expected_version or 0, None) from exc
            raise

    def get_settings(self, tenant_id: str) -> AccountSettings:
        item = self._get(tenant_id, keys.settings_sk())
        return settings_from_item(item) if item else AccountSettings()

    def save_settings(self, tenant_id: str, settings: AccountSettings, expected_version: int) -> None:
        self._put_versioned(settings_to_item(tenant_id, settings), expected_version, "settings")

    def get_connection(self, tenant_id: str) -> Connection | None:
        item = self._get(tenant_id, keys.connection_sk())
        return connection_from_item(item) if item else None

    def save_connection(self, tenant_id: str, connection: Connection, expected_version: int | None) -> None:
        self._put_versioned(connection_to_item(tenant_id, connection), expected_version, "connection")

    def delete_connection(self, tenant_id: str) -> None:
        self.client.delete_item(
            TableName=self._table,
            Key={"PK": {"S": keys.tenant_pk(tenant_id)}, "SK": {"S": keys.connection_sk()}},
        )
