"""Account settings routes (served by the account function with the connection routes)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from arsync.api import deps
from arsync.api.auth import Caller, current_caller
from arsync.api.responses import documented
from arsync.models.api import SettingsPatchRequest, SettingsResponse
from arsync.models.mapping import settings_response
from arsync.observability import logger
from arsync.services.settings import SettingsService

router = Router()
CallerDep = Annotated[Caller, Depends(current_caller)]
ServiceDep = Annotated[SettingsService, Depends(deps.settings_service)]


@router.get("/settings", summary="Accounting settings", tags=["settings"], responses=documented(200, SettingsResponse))
def get_settings(caller: CallerDep, service: ServiceDep) -> SettingsResponse:
    logger.append_keys(tenant_id=caller.tenant_id)
    return settings_response(service.get(caller.tenant_id))


@router.patch(
    "/settings",
    summary="Change accounting settings",
    tags=["settings"],
    responses=documented(200, SettingsResponse, 409),
)
def patch_settings(
    body: Annotated[SettingsPatchRequest, Body()], caller: CallerDep, service: ServiceDep
) -> SettingsResponse:
    logger.append_keys(tenant_id=caller.tenant_id)
    return settings_response(service.patch(caller.tenant_id, body))
