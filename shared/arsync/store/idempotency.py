"""Powertools idempotency, stored in the application table under the tenant's own partition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from arsync import aws
from arsync.errors import IdempotencyKeyReused, RequestInProgress, StoreBusy
from arsync.services.idempotency import IdempotencyGuard
from arsync.store import keys


class PowertoolsIdempotencyGuard(IdempotencyGuard):
    """Keyed on (tenant, Idempotency-Key); the request body is validated so a reused key with a new body fails."""

    def __init__(self, table_name: str, expires_after_seconds: int, client: Any | None = None) -> None:
        self._table = table_name
        self._expires = expires_after_seconds
        self._client = client

    def run(
        self,
        tenant_id: str,
        key: str,
        payload: dict[str, Any],
        operation: Callable[[], dict[str, Any]],
        lambda_context: Any | None = None,
    ) -> dict[str, Any]:
        persistence = DynamoDBPersistenceLayer(
            table_name=self._table,
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value=keys.idempotency_pk(tenant_id),
            boto3_client=self._client or aws.client("dynamodb"),
        )
        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._expires,
            use_local_cache=False,
        )
        if lambda_context is not None:
            config.register_lambda_context(lambda_context)

        @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
        def create_once(request: dict[str, Any]) -> dict[str, Any]:
            return operation()

        try:
            result: dict[str, Any] = create_once(request={"key": key, "payload": payload})
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused() from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise RequestInProgress() from exc
        except IdempotencyPersistenceLayerError as exc:
            if aws.is_throttling(exc.__cause__) or any(aws.is_throttling(arg) for arg in exc.args):
                raise StoreBusy() from exc
            raise
        return result
