"""Resolver factory: every API function builds its resolver here, so validation, limits, error mapping
and the OpenAPI description are identical everywhere."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from arsync.api import problems

MAX_BODY_BYTES = 64 * 1024
API_TITLE = "arsync API"
API_VERSION = "1.0.0"
BEARER = "cognito"
PUBLIC: list[dict[str, list[str]]] = [{}]
"""OpenAPI `security` of a route API Gateway serves without the authorizer (an empty requirement: no auth)."""


def _limit_body_size(app: APIGatewayRestResolver, next_middleware: Callable[..., Response[str]]) -> Response[str]:
    body = app.current_event.body
    if body is not None and len(body) > MAX_BODY_BYTES:
        return problems.problem(413, "payload_too_large", f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    return next_middleware(app)


def build_resolver(*routers: Router) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    app.use(middlewares=[_limit_body_size])
    problems.register(app)
    for router in routers:
        app.include_router(router)
    return app


def openapi_security() -> dict[str, HTTPBearer]:
    return {BEARER: HTTPBearer(scheme="bearer", bearerFormat="JWT", description="Cognito ID token")}
