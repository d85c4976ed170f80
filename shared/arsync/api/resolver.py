"""Resolver factory: every API function builds its resolver here, so validation, limits, error mapping
and the OpenAPI description are identical everywhere."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware

from arsync.api import problems

MAX_BODY_BYTES = 64 * 1024
API_TITLE = "arsync API"
API_VERSION = "1.0.0"
BEARER = "cognito"
PUBLIC: list[dict[str, list[str]]] = [{}]
"""OpenAPI `security` of a route API Gateway serves without the authorizer (an empty requirement: no auth)."""


RAW_BODY_RESOURCES = ("/webhooks/",)
"""Routes whose body is authenticated as raw bytes (provider signatures) and never parsed by the resolver."""


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _refuse_body(app: APIGatewayRestResolver) -> Response[str] | None:
    """A body we will not parse: over the size limit (413), or not JSON (415) - the API documents JSON only."""
    event = app.current_event
    body = event.body
    if body is not None and len(body) > MAX_BODY_BYTES:
        return problems.problem(413, "payload_too_large", f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    if not body or event.resource.startswith(RAW_BODY_RESOURCES):
        return None
    content_type = (event.headers or {}).get("content-type") or ""
    if content_type and not _is_json(content_type):
        return problems.problem(415, "unsupported_media_type", "The request body must be JSON.")
    if event.is_base64_encoded:  # API Gateway base64-encodes a body that is not UTF-8 text
        try:
            base64.b64decode(body).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError both are
            return problems.problem(
                422,
                "validation_failed",
                "The request is not valid. body: is not UTF-8 encoded JSON",
                extra={"errors": [{"field": "body", "message": "is not UTF-8 encoded JSON", "type": "json_invalid"}]},
            )
    return None


class _BodyCheckingValidation(OpenAPIRequestValidationMiddleware):
    """Powertools runs request validation before any `app.use` middleware, so size and media type are checked
    here, first: otherwise an oversized body is parsed before it is refused, form data is coerced into the
    JSON models, and `multipart/form-data` without a boundary raised a ValueError (a 500)."""

    def handler(self, app: Any, next_middleware: Any) -> Any:
        refused = _refuse_body(app)
        return refused if refused is not None else super().handler(app, next_middleware)


def build_resolver(*routers: Router) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    app._request_validation_middleware = _BodyCheckingValidation()
    problems.register(app)
    for router in routers:
        app.include_router(router)
    return app
