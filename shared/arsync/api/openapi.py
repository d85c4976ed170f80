"""The OpenAPI document of the whole API, generated from the routers every function serves."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from arsync.api.resolver import API_TITLE, API_VERSION, BEARER, build_resolver
from arsync.api.routes import connection, customers, settings, sync, webhooks

DESCRIPTION = (
    "arsync keeps an AR account's customers in step with its accounting system. Errors are RFC 9457 problem "
    "documents (`application/problem+json`); provider messages are kept verbatim in `accounting_error.message`."
)


def api_routers() -> list[Router]:
    """Every router deployed behind API Gateway with the Cognito authorizer."""
    return [
        customers.create_router,
        customers.update_router,
        customers.read_router,
        customers.resync_router,
        settings.router,
        connection.router,
        connection.callback_router,
        sync.router,
        webhooks.router,
    ]


def openapi_security() -> dict[str, HTTPBearer]:
    """Here, not in the resolver factory: the OpenAPI models cost every API function's cold start ~90 ms and
    only the document needs them."""
    return {BEARER: HTTPBearer(scheme="bearer", bearerFormat="JWT", description="Cognito ID token")}


def schema_options() -> dict[str, Any]:
    """Title, version, description and security of the document (one place for /docs and /openapi.json)."""
    return {
        "title": API_TITLE,
        "version": API_VERSION,
        "description": DESCRIPTION,
        "security_schemes": openapi_security(),
        "security": [{BEARER: []}],
    }


def build_docs_resolver() -> APIGatewayRestResolver:
    app = build_resolver(*api_routers())
    options = schema_options()
    app.enable_swagger(path="/docs", **options)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_json() -> Response[str]:
        return Response(
            status_code=200,
            content_type="application/json",
            body=app.get_openapi_json_schema(**options),
        )

    return app
