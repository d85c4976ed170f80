"""Health scoring (EventBridge nightly schedule): re-score every customer of every connected account (B10).

Overrides are never touched (B11); unchanged scores are not rewritten. Exceptions propagate so the
asynchronous invocation is retried.
"""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync import wiring
from arsync.config import get_settings
from arsync.observability import logger, metrics, tracer
from arsync.services.health import HealthService
from arsync.store.sync_store import DynamoSyncStore


@lru_cache(maxsize=1)
def get_service() -> HealthService:
    return wiring.health_service(get_settings())


@lru_cache(maxsize=1)
def get_accounts() -> DynamoSyncStore:
    return DynamoSyncStore(get_settings().TABLE_NAME)


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("nightly health scoring", event_id=event.get("id"), scheduled_time=event.get("time"))
    result = get_service().score_accounts(target.tenant_id for target in get_accounts().dispatch_targets())
    metrics.add_metric(name="CustomersScored", unit="Count", value=result.scored)
    metrics.add_metric(name="HealthScoresChanged", unit="Count", value=result.changed)
    return {"scored": result.scored, "changed": result.changed}
