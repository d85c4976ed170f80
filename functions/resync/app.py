"""Re-Sync (POST /customers/{id}/resync) and link-to-existing (POST /customers/{id}/link): B7 and the
duplicate-name choices."""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync import wiring
from arsync.api import deps
from arsync.api.resolver import build_resolver
from arsync.api.routes.customers import resync_router
from arsync.config import get_settings
from arsync.connectors.provider import ConnectorProvider
from arsync.observability import logger, metrics, tracer
from arsync.services.customers import CustomerService
from arsync.services.resync import ResyncService
from arsync.sync.wiring import sync_service

app = build_resolver(resync_router)


@lru_cache(maxsize=1)
def get_connectors() -> ConnectorProvider:
    return wiring.connector_provider(get_settings())


@lru_cache(maxsize=1)
def get_resync_service() -> ResyncService:
    settings = get_settings()
    return wiring.resync_service(settings, get_connectors(), sync_service(settings).request_sync)


@lru_cache(maxsize=1)
def get_customer_service() -> CustomerService:
    return wiring.customer_service(get_settings(), get_connectors())


app.dependency_overrides[deps.resync_service] = get_resync_service
app.dependency_overrides[deps.customer_service] = get_customer_service


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
