"""Update customer (PATCH /customers/{id}): edit lock and optimistic concurrency (B2)."""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync import wiring
from arsync.api import deps
from arsync.api.resolver import build_resolver
from arsync.api.routes.customers import update_router
from arsync.config import get_settings
from arsync.observability import logger, metrics, tracer
from arsync.services.customers import CustomerService

app = build_resolver(update_router)


@lru_cache(maxsize=1)
def get_service() -> CustomerService:
    settings = get_settings()
    return wiring.customer_service(settings, wiring.connector_provider(settings))


app.dependency_overrides[deps.customer_service] = get_service


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
