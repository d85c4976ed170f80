"""OAuth tokens at rest: Secrets Manager (one secret per connection), refresh lease in DynamoDB.

Tokens never touch the application table; the table holds only the refresh lease (owner + expiry). The
secret's value carries a `version` so a writer that lost the lease cannot overwrite a newer token set.
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from arsync import aws
from arsync.connectors.base import TokenSet
from arsync.connectors.tokens import StoredTokens, TokenStore, TokenVersionConflict
from arsync.store import keys


class SecretsManagerTokenStore(TokenStore):
    """`connection_key` is the tenant id: one connection per AR account."""

    def __init__(self, table_name: str, secret_prefix: str, secrets: Any | None = None, dynamodb: Any | None = None):
        self._table = table_name
        self._prefix = secret_prefix
        self._secrets = secrets
        self._dynamodb = dynamodb

    @property
    def secrets(self) -> Any:
        if self._secrets is None:
            self._secrets = aws.client("secretsmanager")
        return self._secrets

    @property
    def dynamodb(self) -> Any:
        if self._dynamodb is None:
            self._dynamodb = aws.client("dynamodb")
        return self._dynamodb

    def secret_name(self, connection_key: str) -> str:
        return f"{self._prefix}{connection_key}"

    def load(self, connection_key: str) -> StoredTokens | None:
        try:
            value = self.secrets.get_secret_value(SecretId=self.secret_name(connection_key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("ResourceNotFoundException", "InvalidRequestException"):
                return None
            raise
        payload = json.loads(value["SecretString"])
        return StoredTokens(tokens=TokenSet.model_validate(payload["tokens"]), version=int(payload["version"]))

    def save(self, connection_key: str, tokens: TokenSet, expected_version: int | None) -> StoredTokens:
        current = self.load(connection_key)
        actual = current.version if current else None
        if actual != expected_version:
            raise TokenVersionConflict(connection_key, expected_version, actual)
        stored = StoredTokens(tokens=tokens, version=(actual or 0) + 1)
        secret = json.dumps({"version": stored.version, "tokens": tokens.to_storage()})
        name = self.secret_name(connection_key)
        if current is None:
            try:
                self.secrets.create_secret(Name=name, SecretString=secret, Description="arsync OAuth tokens")
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceExistsException":
                    raise
                self.secrets.put_secret_value(SecretId=name, SecretString=secret)
        else:
            self.secrets.put_secret_value(SecretId=name, SecretString=secret)
        return stored

    def delete(self, connection_key: str) -> None:
        try:
            self.secrets.delete_secret(SecretId=self.secret_name(connection_key), ForceDeleteWithoutRecovery=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise

    def try_lock(self, connection_key: str, owner: str, ttl_seconds: float) -> bool:
        now = time.time()
        try:
            self.dynamodb.put_item(
                TableName=self._table,
                Item={
                    "PK": {"S": keys.tenant_pk(connection_key)},
                    "SK": {"S": keys.token_lock_sk()},
                    "owner": {"S": owner},
                    "lock_expires_at": {"N": f"{now + ttl_seconds:.3f}"},
                    "expiration": {"N": str(int(now + ttl_seconds + 3600))},
                },
                ConditionExpression="attribute_not_exists(PK) OR #owner = :owner OR lock_expires_at < :now",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}, ":now": {"N": f"{now:.3f}"}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def unlock(self, connection_key: str, owner: str) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self._table,
                Key={"PK": {"S": keys.tenant_pk(connection_key)}, "SK": {"S": keys.token_lock_sk()}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
