"""Account: accounting connection (OAuth, status, disconnect), settings, Sync now and sync runs (B12, B2, B3, B5)."""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync import wiring
from arsync.api import deps
from arsync.api.resolver import build_resolver
from arsync.api.routes import connection as connection_routes
from arsync.api.routes import settings as settings_routes
from arsync.api.routes import sync as sync_routes
from arsync.config import get_settings
from arsync.observability import logger, metrics, tracer
from arsync.services.connection import ConnectionService
from arsync.services.settings import SettingsService
from arsync.sync.service import SyncService
from arsync.sync.wiring import sync_service

app = build_resolver(
    settings_routes.router, connection_routes.router, connection_routes.callback_router, sync_routes.router
)


@lru_cache(maxsize=1)
def get_settings_service() -> SettingsService:
    return wiring.settings_service(get_settings())


@lru_cache(maxsize=1)
def get_connection_service() -> ConnectionService:
    settings = get_settings()
    return wiring.connection_service(settings, wiring.connector_provider(settings))


@lru_cache(maxsize=1)
def get_sync_service() -> SyncService:
    return sync_service(get_settings())


app.dependency_overrides[deps.settings_service] = get_settings_service
app.dependency_overrides[deps.sync_service] = get_sync_service
app.dependency_overrides[deps.connection_service] = get_connection_service


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
