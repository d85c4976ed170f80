"""Sync dispatcher (EventBridge hourly schedule): one queued run and one queue message per connected account (B6).

Exceptions propagate so Lambda retries the asynchronous invocation; a retry carries the same event `time`, and
accounts already served for that tick are skipped (runs still queued coalesce anyway).
"""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync.config import get_settings
from arsync.observability import logger, metrics, tracer
from arsync.sync.service import SyncService
from arsync.sync.wiring import sync_service


@lru_cache(maxsize=1)
def get_service() -> SyncService:
    return sync_service(get_settings())


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("scheduled sync dispatch", event_id=event.get("id"), scheduled_time=event.get("time"))
    result = get_service().dispatch_scheduled(tick=event.get("time"))
    metrics.add_metric(name="SyncRunsQueued", unit="Count", value=result.queued)
    logger.info("dispatched", accounts=result.accounts, queued=result.queued, coalesced=result.coalesced)
    return {"accounts": result.accounts, "queued": result.queued, "coalesced": result.coalesced}
