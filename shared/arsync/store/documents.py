"""Reads one customer's imported AR documents (GSI1), for the balance check and re-sync."""

from __future__ import annotations

from typing import Any

from arsync.aws import DynamoTableAdapter
from arsync.models.documents import RemoteDoc, doc_from_item
from arsync.store import keys


class DynamoCustomerDocuments(DynamoTableAdapter):
    def by_customer(self, tenant_id: str) -> dict[str, list[RemoteDoc]]:
        """Every imported document of the account, grouped by the provider's customer id (one paged Query)."""
        grouped: dict[str, list[RemoteDoc]] = {}
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :docs)",
            "ExpressionAttributeValues": {":pk": {"S": keys.tenant_pk(tenant_id)}, ":docs": {"S": "DOC#"}},
        }
        while True:
            response = self.client.query(**request)
            for item in response.get("Items", []):
                doc = doc_from_item(item)
                if doc.customer_id:
                    grouped.setdefault(doc.customer_id, []).append(doc)
            if "LastEvaluatedKey" not in response:
                return grouped
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

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
