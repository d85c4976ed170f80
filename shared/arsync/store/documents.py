"""Reads one customer's imported AR documents (GSI1), for the balance check and re-sync."""

from __future__ import annotations

from typing import Any

from arsync import aws
from arsync.models.documents import RemoteDoc, doc_from_item
from arsync.store import keys


class DynamoCustomerDocuments:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def for_customer(self, tenant_id: str, system: str, external_customer_id: str) -> list[RemoteDoc]:
        docs: list[RemoteDoc] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": keys.customer_docs_pk(tenant_id, system, external_customer_id)}},
        }
        while True:
            response = self.client.query(**request)
            docs.extend(doc_from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return docs
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
