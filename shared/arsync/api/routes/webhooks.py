"""Webhook receivers (no JWT: the HMAC signature on the raw body is the authentication).

One route per connectable system, exactly as template.yaml deploys them, so the OpenAPI document does not
advertise `/webhooks/{system}` values API Gateway never routes.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from arsync.api import deps
from arsync.api.resolver import PUBLIC
from arsync.models.common import AccountingSystem
from arsync.observability import logger, metrics
from arsync.services.webhooks import InvalidSignature, WebhookService

router = Router()
ServiceDep = Annotated[WebhookService, Depends(deps.webhook_service)]

RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "Accepted (empty body)", "content": {}},
    401: {"description": "Signature missing or invalid (empty body)", "content": {}},
}


def _receive(system: AccountingSystem, service: WebhookService) -> Response[str]:
    event = router.current_event
    raw = event.decoded_body or ""
    body = raw.encode() if isinstance(raw, str) else raw
    try:
        requested = service.receive(system, dict(event.headers or {}), body)
    except InvalidSignature:
        metrics.add_metric(name="WebhookSignatureRejected", unit="Count", value=1)
        logger.warning("webhook signature rejected", system=system.value)
        return Response(status_code=401, body="")
    metrics.add_metric(name="WebhookSyncRequests", unit="Count", value=requested)
    return Response(status_code=200, body="")


@router.post(
    "/webhooks/quickbooks_online",
    summary="QuickBooks Online change notifications (`intuit-signature`); answered fast with an empty 200",
    tags=["webhooks"],
    responses=RESPONSES,
    security=PUBLIC,
)
def receive_quickbooks_online(service: ServiceDep) -> Response[str]:
    return _receive(AccountingSystem.QUICKBOOKS_ONLINE, service)


@router.post(
    "/webhooks/xero",
    summary="Xero change notifications (`x-xero-signature`); answered fast with an empty 200",
    tags=["webhooks"],
    responses=RESPONSES,
    security=PUBLIC,
)
def receive_xero(service: ServiceDep) -> Response[str]:
    return _receive(AccountingSystem.XERO, service)
