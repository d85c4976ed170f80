"""API docs (GET /openapi.json, GET /docs): the OpenAPI document generated from the routers."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arsync.api.openapi import build_docs_resolver
from arsync.observability import logger

app = build_docs_resolver()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
