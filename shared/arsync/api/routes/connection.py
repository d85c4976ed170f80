"""Connection routes (B12): status, start OAuth, the OAuth redirect target, disconnect."""

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from arsync.api import deps
from arsync.api.auth import Caller, current_caller
from arsync.api.resolver import PUBLIC
from arsync.api.responses import documented
from arsync.models.api import AuthorizeResponse, ConnectableSystem, ConnectedResponse, ConnectionResponse
from arsync.models.common import AccountingSystem
from arsync.models.mapping import connection_response
from arsync.observability import logger, metrics
from arsync.services.connection import ConnectionService

router = Router()
callback_router = Router()
CallerDep = Annotated[Caller, Depends(current_caller)]
ServiceDep = Annotated[ConnectionService, Depends(deps.connection_service)]


@router.get(
    "/connection", summary="Connection status", tags=["connection"], responses=documented(200, ConnectionResponse)
)
def get_connection(caller: CallerDep, service: ServiceDep) -> ConnectionResponse:
    logger.append_keys(tenant_id=caller.tenant_id)
    return connection_response(service.status(caller.tenant_id))


@router.post(
    "/connection/<system>/authorize",
    summary="Start connecting: the provider's consent URL and a signed single-use state",
    tags=["connection"],
    responses=documented(200, AuthorizeResponse, 400, 404),
)
def authorize(
    system: Annotated[ConnectableSystem, Path()], caller: CallerDep, service: ServiceDep
) -> AuthorizeResponse:
    logger.append_keys(tenant_id=caller.tenant_id)
    start = service.authorize(caller.tenant_id, AccountingSystem(system.value))
    return AuthorizeResponse(
        authorization_url=start.authorization_url,
        state=start.state,
        expires_at=datetime.fromtimestamp(start.expires_at, UTC),
    )


@callback_router.get(
    "/connection/callback",
    summary="OAuth redirect target (no JWT: the signed state names the tenant)",
    tags=["connection"],
    responses=documented(200, ConnectedResponse, 400, 409, 429, 502),
    security=PUBLIC,
)
def callback(
    service: ServiceDep,
    code: Annotated[str, Query(min_length=1, max_length=2048)],
    state: Annotated[str, Query(min_length=1, max_length=2048)],
    realm_id: Annotated[str | None, Query(alias="realmId", min_length=1, max_length=64)] = None,
) -> ConnectedResponse:
    tenant_id, connection = service.complete(code, state, realm_id)
    logger.append_keys(tenant_id=tenant_id)
    metrics.add_metric(name="AccountsConnected", unit="Count", value=1)
    return ConnectedResponse(status="connected", system=connection.system, company_id=connection.company_id)


@router.delete(
    "/connection",
    summary="Disconnect: revoke and forget the tokens, keep the data",
    tags=["connection"],
    responses=documented(204, None, 409),
)
def disconnect(caller: CallerDep, service: ServiceDep) -> Response[str]:
    logger.append_keys(tenant_id=caller.tenant_id)
    service.disconnect(caller.tenant_id)
    return Response(status_code=204, body="")
