"""Explicit mapping from domain models to API responses (the domain never leaks into HTTP shapes)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from arsync.models.account import AccountSettings, Connection
from arsync.models.api import (
    AccountingErrorOut,
    AddressOut,
    BalanceCheckResponse,
    BalanceOut,
    ConnectionResponse,
    CustomerResponse,
    ExplainingItemOut,
    ExternalOut,
    HealthFactorOut,
    HealthOut,
    HealthOverrideOut,
    OpenInvoiceOut,
    SettingsResponse,
    SyncCountsOut,
    SyncErrorOut,
    SyncOut,
    SyncRunErrorOut,
    SyncRunResponse,
)
from arsync.models.customer import Address, Customer

if TYPE_CHECKING:  # annotations only: functions that never map these need not import them at cold start
    from arsync.services.balances import BalanceCheck
    from arsync.sync.models import SyncRun


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _address(address: Address | None) -> AddressOut | None:
    return AddressOut(**address.model_dump()) if address else None


def customer_response(customer: Customer) -> CustomerResponse:
    contact, health, sync = customer.contact, customer.health, customer.sync
    error = sync.error
    return CustomerResponse(
        id=customer.id,
        display_name=contact.display_name,
        company_name=contact.company_name,
        given_name=contact.given_name,
        family_name=contact.family_name,
        email=contact.email,
        phone=contact.phone,
        billing_address=_address(contact.billing_address),
        shipping_address=_address(contact.shipping_address),
        currency=contact.currency,
        company_type=customer.company_type,
        industry=customer.industry,
        size=customer.size,
        country=customer.country,
        notes=customer.notes,
        external=(
            ExternalOut(system=customer.external.system, id=customer.external.id, active=customer.external.active)
            if customer.external
            else None
        ),
        archived=customer.archived,
        balance=(
            BalanceOut(
                outstanding=money(customer.balance.outstanding),
                total_due=money(customer.balance.total_due),
                unapplied_credit=money(customer.balance.unapplied_credit),
                currency=customer.balance.currency,
                source=customer.balance.source,
                as_of=customer.balance.as_of,
            )
            if customer.balance
            else None
        ),
        health=HealthOut(
            score=health.score,
            band=health.band,
            source=health.source,
            model_score=health.model_score,
            model_band=health.model_band,
            probability_late=health.probability_late,
            basis=health.basis,
            factors=[HealthFactorOut(**factor.model_dump()) for factor in health.factors],
            model_version=health.model_version,
            computed_at=health.computed_at,
            override=HealthOverrideOut(**health.override.model_dump()) if health.override else None,
        ),
        sync=SyncOut(
            state=sync.state,
            last_synced_at=sync.last_synced_at,
            error=(
                SyncErrorOut(
                    code=error.category,
                    detail=error.explanation,
                    resolution=error.resolution,
                    accounting_error=AccountingErrorOut(
                        system=error.system,
                        http_status=error.http_status,
                        code=error.code,
                        message=error.message,
                        field=error.field,
                    ),
                    occurred_at=error.occurred_at,
                )
                if error
                else None
            ),
        ),
        version=customer.version,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def settings_response(settings: AccountSettings) -> SettingsResponse:
    return SettingsResponse(
        import_inactive_customers=settings.import_inactive_customers,
        allow_customer_edits=settings.allow_customer_edits,
        updated_at=settings.updated_at,
    )


def balance_check_response(check: BalanceCheck) -> BalanceCheckResponse:
    return BalanceCheckResponse(
        customer_id=check.customer_id,
        currency=check.currency,
        outstanding=money(check.outstanding),
        total_due=money(check.total_due),
        difference=money(check.difference),
        explained=money(check.explained),
        unexplained=money(check.unexplained),
        items=[
            ExplainingItemOut(kind=i.kind, id=i.id, number=i.number, date=i.date, amount=money(i.amount))  # type: ignore[arg-type]
            for i in check.items
        ],
        open_invoices=[
            OpenInvoiceOut(
                id=i.id, number=i.number, issue_date=i.issue_date, due_date=i.due_date, amount_due=money(i.amount_due)
            )
            for i in check.open_invoices
        ],
        summary=check.summary,
        as_of=check.as_of,
    )


def connection_response(connection: Connection | None) -> ConnectionResponse:
    if connection is None:
        return ConnectionResponse(
            status="not_connected",
            system=None,
            company_id=None,
            connected_at=None,
            last_sync_at=None,
            last_sync_run_id=None,
        )
    return ConnectionResponse(
        status=connection.status,
        system=connection.system,
        company_id=connection.company_id,
        connected_at=connection.connected_at,
        last_sync_at=connection.last_sync_at,
        last_sync_run_id=connection.last_sync_run_id,
        resolution=(
            "Disconnect your accounting system account and re-connect it."
            if connection.status == "needs_reauth"
            else None
        ),
    )


def sync_run_response(run: SyncRun) -> SyncRunResponse:
    return SyncRunResponse(
        id=run.id,
        trigger=run.trigger,
        status=run.status,
        mode=run.mode,
        counts=SyncCountsOut(**run.total.model_dump()),
        counts_by_entity={entity: SyncCountsOut(**counts.model_dump()) for entity, counts in run.counts.items()},
        errors=[
            SyncRunErrorOut(
                code=e.category,
                message=e.message,
                system=e.system,
                http_status=e.http_status,
                provider_code=e.code,
                occurred_at=e.occurred_at,
            )
            for e in run.errors
        ],
        paused_until=run.paused_until,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )
