"""Webhook receivers (no JWT: the HMAC signature on the raw body is the authentication)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from arsync.api import deps
from arsync.models.common import CONNECTABLE_SYSTEMS, AccountingSystem
from arsync.observability import logger, metrics
from arsync.services.webhooks import InvalidSignature, WebhookService

router = Router()
ServiceDep = Annotated[WebhookService, Depends(deps.webhook_service)]


@router.post(
    "/webhooks/<system>",
    summary="Provider change notifications (HMAC-signed); answered fast with an empty 200",
    tags=["webhooks"],
    responses={200: {"description": "Accepted"}, 401: {"description": "Signature missing or invalid"}},
)
def receive(system: Annotated[AccountingSystem, Path()], service: ServiceDep) -> Response[str]:
    event = router.current_event
    raw = event.decoded_body or ""
    body = raw.encode() if isinstance(raw, str) else raw
    if system not in CONNECTABLE_SYSTEMS:
        return Response(status_code=404, body="")
    try:
        requested = service.receive(system, dict(event.headers or {}), body)
    except InvalidSignature:
        metrics.add_metric(name="WebhookSignatureRejected", unit="Count", value=1)
        logger.warning("webhook signature rejected", system=system.value)
        return Response(status_code=401, body="")
    metrics.add_metric(name="WebhookSyncRequests", unit="Count", value=requested)
    return Response(status_code=200, body="")
