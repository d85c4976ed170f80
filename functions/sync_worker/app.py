"""Sync worker (SQS, batch size 10): each record runs or resumes one account's sync run.

Partial batch failures: only records that raised are reported in `batchItemFailures` and redelivered.
"""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync.config import get_settings
from arsync.observability import logger, metrics, tracer
from arsync.sync.wiring import sync_worker
from arsync.sync.worker import SyncWorker

processor = BatchProcessor(event_type=EventType.SQS)


@lru_cache(maxsize=1)
def get_worker() -> SyncWorker:
    return sync_worker(get_settings())


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    outcome = get_worker().handle_body(record.body, lambda_context.get_remaining_time_in_millis)
    logger.info("sync message handled", message_id=record.message_id, outcome=outcome)
    return outcome


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
