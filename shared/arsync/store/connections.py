"""DynamoDB pieces of the connection flow: single-use OAuth state nonces and the provider-company map."""

from __future__ import annotations

from botocore.exceptions import ClientError

from arsync.aws import DynamoTableAdapter
from arsync.store import keys


class DynamoConnectionExtras(DynamoTableAdapter):
    def remember_state(self, tenant_id: str, nonce: str, expires_at: int) -> None:
        self.client.put_item(
            TableName=self._table,
            Item={
                "PK": {"S": keys.tenant_pk(tenant_id)},
                "SK": {"S": keys.oauth_state_sk(nonce)},
                "expiration": {"N": str(expires_at)},
            },
            ConditionExpression="attribute_not_exists(PK)",
        )

    def consume_state(self, tenant_id: str, nonce: str) -> bool:
        """True exactly once per nonce: the delete is conditional on the nonce still being there."""
        try:
            self.client.delete_item(
                TableName=self._table,
                Key={"PK": {"S": keys.tenant_pk(tenant_id)}, "SK": {"S": keys.oauth_state_sk(nonce)}},
                ConditionExpression="attribute_exists(PK)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def map_company(self, system: str, company_id: str, tenant_id: str) -> None:
        self.client.put_item(
            TableName=self._table,
            Item={
                "PK": {"S": keys.provider_company_pk(system, company_id)},
                "SK": {"S": keys.provider_company_sk()},
                "tenant_id": {"S": tenant_id},
            },
        )

    def unmap_company(self, system: str, company_id: str) -> None:
        self.client.delete_item(
            TableName=self._table,
            Key={"PK": {"S": keys.provider_company_pk(system, company_id)}, "SK": {"S": keys.provider_company_sk()}},
        )

    def tenant_for_company(self, system: str, company_id: str) -> str | None:
        response = self.client.get_item(
            TableName=self._table,
            Key={"PK": {"S": keys.provider_company_pk(system, company_id)}, "SK": {"S": keys.provider_company_sk()}},
        )
        item = response.get("Item")
        return str(item["tenant_id"]["S"]) if item else None

    def first_delivery(self, system: str, body_digest: str, ttl_seconds: int, now: int) -> bool:
        """True the first time a webhook body is seen (providers re-send; a replay must not act twice)."""
        try:
            self.client.put_item(
                TableName=self._table,
                Item={
                    "PK": {"S": keys.webhook_delivery_pk(system)},
                    "SK": {"S": body_digest},
                    "expiration": {"N": str(now + ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
