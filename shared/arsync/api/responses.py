"""OpenAPI response declarations, so the generated document says exactly what each route returns."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from arsync.models.api import GatewayMessage, ProblemDocument

GATEWAY_STATUSES = (401, 413)
"""Statuses API Gateway itself answers with `{"message": ...}` before the function runs (authorizer refusal,
payload over 10 MB); the function answers them with a problem document."""


def documented(success: int, model: type[Any] | None, *problem_statuses: int) -> dict[int, OpenAPIResponse]:
    """`success` with `model` as JSON, plus problem documents for each status in `problem_statuses`."""
    declared: dict[int, OpenAPIResponse] = {}
    if model is None:
        declared[success] = {"description": HTTPStatus(success).phrase, "content": {}}  # no body
    else:
        declared[success] = {
            "description": HTTPStatus(success).phrase,
            "content": {"application/json": {"model": model}},
        }
    for status in (401, 413, 415, 422, *problem_statuses):
        content: dict[str, Any] = {"application/problem+json": {"model": ProblemDocument}}
        if status in GATEWAY_STATUSES:
            content["application/json"] = {"model": GatewayMessage}
        declared[status] = {"description": HTTPStatus(status).phrase, "content": content}
    return declared
