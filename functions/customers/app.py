"""Customer reads, archive/unarchive, the balance check and health overrides (B4, B9, B11)."""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync import wiring
from arsync.api import deps
from arsync.api.resolver import build_resolver
from arsync.api.routes.customers import read_router
from arsync.config import get_settings
from arsync.observability import logger, metrics, tracer
from arsync.services.balances import BalanceCheckService
from arsync.services.customers import CustomerService
from arsync.services.health import HealthService

app = build_resolver(read_router)


@lru_cache(maxsize=1)
def get_service() -> CustomerService:
    return wiring.customer_service(get_settings())


@lru_cache(maxsize=1)
def get_balance_check_service() -> BalanceCheckService:
    return wiring.balance_check_service(get_settings())


@lru_cache(maxsize=1)
def get_health_service() -> HealthService:
    return wiring.health_service(get_settings())


app.dependency_overrides[deps.customer_service] = get_service
app.dependency_overrides[deps.health_service] = get_health_service
app.dependency_overrides[deps.balance_check_service] = get_balance_check_service


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
