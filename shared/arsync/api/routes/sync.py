"""Sync routes: Sync now (B5, coalescing) and the run history with counts and errors."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from arsync.api import deps
from arsync.api.auth import Caller, current_caller
from arsync.api.responses import documented
from arsync.models.api import SyncRunListResponse, SyncRunResponse
from arsync.models.mapping import sync_run_response
from arsync.observability import logger, metrics
from arsync.sync.service import SyncService

router = Router()
CallerDep = Annotated[Caller, Depends(current_caller)]
ServiceDep = Annotated[SyncService, Depends(deps.sync_service)]


@router.post(
    "/sync",
    summary="Sync now: starts a sync, or returns the one already queued or running",
    tags=["sync"],
    responses=documented(202, SyncRunResponse, 409),
)
def sync_now(caller: CallerDep, service: ServiceDep) -> Response[SyncRunResponse]:
    logger.append_keys(tenant_id=caller.tenant_id)
    metrics.add_metric(name="SyncNowRequests", unit="Count", value=1)
    run = service.sync_now(caller.tenant_id)
    return Response(status_code=202, content_type="application/json", body=sync_run_response(run))


@router.get(
    "/sync/runs", summary="Sync runs, newest first", tags=["sync"], responses=documented(200, SyncRunListResponse, 400)
)
def list_runs(
    caller: CallerDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(min_length=1, max_length=2048)] = None,
) -> SyncRunListResponse:
    logger.append_keys(tenant_id=caller.tenant_id)
    runs, next_cursor = service.list_runs(caller.tenant_id, limit, cursor)
    return SyncRunListResponse(items=[sync_run_response(run) for run in runs], next_cursor=next_cursor)


@router.get(
    "/sync/runs/<run_id>", summary="One sync run", tags=["sync"], responses=documented(200, SyncRunResponse, 404)
)
def get_run(
    run_id: Annotated[str, Path(pattern=r"^run_[A-Za-z0-9_]{1,64}$")], caller: CallerDep, service: ServiceDep
) -> SyncRunResponse:
    logger.append_keys(tenant_id=caller.tenant_id)
    return sync_run_response(service.get_run(caller.tenant_id, run_id))
