"""Customer routes. Each route: caller from verified claims, one service call, one response model."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from pydantic import Field

from arsync.api import deps
from arsync.api.auth import Caller, current_caller
from arsync.api.responses import documented
from arsync.errors import PushRejected
from arsync.models.api import (
    ArchiveRequest,
    BalanceCheckResponse,
    CustomerCreateRequest,
    CustomerListResponse,
    CustomerResponse,
    CustomerUpdateRequest,
    HealthOverrideRequest,
    LinkRequest,
)
from arsync.models.common import ArchivedFilter, HealthBand, SyncState
from arsync.models.customer import Customer
from arsync.models.mapping import balance_check_response, customer_response
from arsync.observability import logger, metrics
from arsync.services.balances import BalanceCheckService
from arsync.services.customers import CustomerService
from arsync.services.health import HealthService
from arsync.services.resync import ResyncService
from arsync.store.base import CustomerQuery

CustomerId = Annotated[str, Path(pattern=r"^cus_[A-Za-z0-9_-]{1,64}$", description="Customer id")]
CallerDep = Annotated[Caller, Depends(current_caller)]
ServiceDep = Annotated[CustomerService, Depends(deps.customer_service)]

ResyncDep = Annotated[ResyncService, Depends(deps.resync_service)]

create_router = Router()
update_router = Router()
read_router = Router()
resync_router = Router()


def accepted(customer: Customer) -> Customer:
    """A push the accounting system refused is a problem document (the customer is kept, as failed)."""
    error = customer.sync.error
    if error is not None and customer.sync.state == "failed":
        raise PushRejected(customer, error.category, error.explanation)
    return customer


@create_router.post(
    "/customers",
    summary="Create a customer (pushed at once when connected)",
    tags=["customers"],
    responses=documented(201, CustomerResponse, 409, 429, 502),
)
def create_customer(
    body: Annotated[CustomerCreateRequest, Body()],
    caller: CallerDep,
    service: ServiceDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$"),
    ] = None,
) -> Response[CustomerResponse]:
    logger.append_keys(tenant_id=caller.tenant_id)
    metrics.add_metric(name="CustomerCreateRequests", unit="Count", value=1)
    customer = accepted(service.create(caller.tenant_id, body, idempotency_key, create_router.lambda_context))
    return Response(status_code=201, content_type="application/json", body=customer_response(customer))


@update_router.patch(
    "/customers/<customer_id>",
    summary="Edit a customer (B2 lock rules)",
    tags=["customers"],
    responses=documented(200, CustomerResponse, 404, 409, 429, 502),
)
def update_customer(
    customer_id: CustomerId,
    body: Annotated[CustomerUpdateRequest, Body()],
    caller: CallerDep,
    service: ServiceDep,
) -> CustomerResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    return customer_response(accepted(service.update(caller.tenant_id, customer_id, body)))


@read_router.get(
    "/customers", summary="List customers", tags=["customers"], responses=documented(200, CustomerListResponse, 400)
)
def list_customers(
    caller: CallerDep,
    service: ServiceDep,
    archived: Annotated[ArchivedFilter, Query()] = ArchivedFilter.NO,
    sync_state: Annotated[SyncState | None, Query()] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Name prefix")] = None,
    health_band: Annotated[HealthBand | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=2048)] = None,
) -> CustomerListResponse:
    logger.append_keys(tenant_id=caller.tenant_id)
    page = service.list(
        caller.tenant_id,
        CustomerQuery(
            archived=archived, sync_state=sync_state, name_prefix=q, health_band=health_band, limit=limit, cursor=cursor
        ),
    )
    return CustomerListResponse(items=[customer_response(c) for c in page.items], next_cursor=page.next_cursor)


@read_router.get(
    "/customers/<customer_id>",
    summary="Get one customer",
    tags=["customers"],
    responses=documented(200, CustomerResponse, 404),
)
def get_customer(customer_id: CustomerId, caller: CallerDep, service: ServiceDep) -> CustomerResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    return customer_response(service.get(caller.tenant_id, customer_id))


OptionalArchiveBody = Annotated[ArchiveRequest | None, Body(), Field(default=None)]


@read_router.post(
    "/customers/<customer_id>/archive",
    summary="Archive a customer (AR only)",
    tags=["customers"],
    responses=documented(200, CustomerResponse, 404, 409),
)
def archive_customer(
    customer_id: CustomerId, caller: CallerDep, service: ServiceDep, body: OptionalArchiveBody = None
) -> CustomerResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    version = body.version if body else None
    return customer_response(service.set_archived(caller.tenant_id, customer_id, True, version))


@read_router.post(
    "/customers/<customer_id>/unarchive",
    summary="Unarchive a customer",
    tags=["customers"],
    responses=documented(200, CustomerResponse, 404, 409),
)
def unarchive_customer(
    customer_id: CustomerId, caller: CallerDep, service: ServiceDep, body: OptionalArchiveBody = None
) -> CustomerResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    version = body.version if body else None
    return customer_response(service.set_archived(caller.tenant_id, customer_id, False, version))


@read_router.get(
    "/customers/<customer_id>/balance-check",
    summary="Explain why the balance differs from Total Due (B9)",
    tags=["customers"],
    responses=documented(200, BalanceCheckResponse, 404, 409),
)
def balance_check(
    customer_id: CustomerId,
    caller: CallerDep,
    service: Annotated[BalanceCheckService, Depends(deps.balance_check_service)],
) -> BalanceCheckResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    return balance_check_response(service.check(caller.tenant_id, customer_id))


@resync_router.post(
    "/customers/<customer_id>/resync",
    summary="Re-Sync one customer now (B7)",
    tags=["customers"],
    responses=documented(200, CustomerResponse, 404, 409, 429, 502),
)
def resync_customer(customer_id: CustomerId, caller: CallerDep, service: ResyncDep) -> CustomerResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    metrics.add_metric(name="CustomerResyncRequests", unit="Count", value=1)
    return customer_response(accepted(service.resync(caller.tenant_id, customer_id)))


@resync_router.post(
    "/customers/<customer_id>/link",
    summary="Link to (and optionally reactivate) the existing record a duplicate name points to",
    tags=["customers"],
    responses=documented(200, CustomerResponse, 404, 409, 429, 502),
)
def link_customer(
    customer_id: CustomerId, body: Annotated[LinkRequest, Body()], caller: CallerDep, service: ServiceDep
) -> CustomerResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    return customer_response(accepted(service.link(caller.tenant_id, customer_id, body.external_id, body.reactivate)))


HealthDep = Annotated[HealthService, Depends(deps.health_service)]


@read_router.put(
    "/customers/<customer_id>/health",
    summary="Set your own health score (B11); the model keeps scoring beside it",
    tags=["customers"],
    responses=documented(200, CustomerResponse, 404, 409),
)
def override_health(
    customer_id: CustomerId, body: Annotated[HealthOverrideRequest, Body()], caller: CallerDep, service: HealthDep
) -> CustomerResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    metrics.add_metric(name="HealthOverrides", unit="Count", value=1)
    return customer_response(service.set_override(caller.tenant_id, customer_id, body.score, body.reason, caller.user))


@read_router.delete(
    "/customers/<customer_id>/health",
    summary="Clear your health score; the model's score applies again",
    tags=["customers"],
    responses=documented(200, CustomerResponse, 404, 409),
)
def clear_health_override(customer_id: CustomerId, caller: CallerDep, service: HealthDep) -> CustomerResponse:
    logger.append_keys(tenant_id=caller.tenant_id, customer_id=customer_id)
    return customer_response(service.clear_override(caller.tenant_id, customer_id))
