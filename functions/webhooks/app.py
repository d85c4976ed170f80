"""Webhooks (POST /webhooks/quickbooks_online, POST /webhooks/xero): verify, answer fast, request a sync."""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync import wiring
from arsync.api import deps
from arsync.api.resolver import build_resolver
from arsync.api.routes import webhooks as webhook_routes
from arsync.config import get_settings
from arsync.observability import logger, metrics, tracer
from arsync.services.webhooks import WebhookService

app = build_resolver(webhook_routes.router)


@lru_cache(maxsize=1)
def get_webhook_service() -> WebhookService:
    return wiring.webhook_service(get_settings())


app.dependency_overrides[deps.webhook_service] = get_webhook_service


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
