"""API shapes: what clients send and receive. Inbound models forbid unknown fields (no mass assignment)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arsync.models.common import (
    AccountingSystem,
    CompanySize,
    CompanyType,
    CountryName,
    CurrencyCode,
    DisplayName,
    Email,
    HealthBand,
    LineText,
    Notes,
    Phone,
    PostalCode,
    Reason,
    ShortText,
    SyncState,
)

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", description="Decimal amount as a string, e.g. '120.50'")]


class _Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class AddressIn(_Inbound):
    line1: LineText | None = None
    line2: LineText | None = None
    line3: LineText | None = None
    line4: LineText | None = None
    city: ShortText | None = None
    region: ShortText | None = None
    postal_code: PostalCode | None = None
    country: CountryName | None = None


class _CustomerFields(_Inbound):
    """Every field a client may send for a customer; all optional here, see the two requests below."""

    display_name: DisplayName | None = None
    company_name: ShortText | None = None
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None
    billing_address: AddressIn | None = None
    shipping_address: AddressIn | None = None
    currency: CurrencyCode | None = None
    company_type: CompanyType | None = None
    industry: ShortText | None = None
    size: CompanySize | None = None
    country: CountryName | None = None
    notes: Notes | None = None


class CustomerCreateRequest(_CustomerFields):
    display_name: DisplayName


class CustomerUpdateRequest(_CustomerFields):
    """PATCH: fields present are changed; `null` clears an optional field. `version` is required."""

    version: int = Field(ge=1, description="The version you read; a stale version is refused with 409")

    def changes(self) -> dict[str, object]:
        """Only the fields the client actually sent (explicit nulls included)."""
        return {name: getattr(self, name) for name in self.model_fields_set if name != "version"}


class HealthOverrideRequest(_Inbound):
    score: int = Field(ge=0, le=100)
    reason: Reason


class ArchiveRequest(_Inbound):
    version: int | None = Field(default=None, ge=1)


class AddressOut(BaseModel):
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class ExternalOut(BaseModel):
    system: AccountingSystem
    id: str
    active: bool


class BalanceOut(BaseModel):
    outstanding: Money
    total_due: Money
    unapplied_credit: Money
    currency: str | None
    source: Literal["accounting_system", "computed"]
    as_of: datetime


class HealthFactorOut(BaseModel):
    name: str
    label: str
    value: float | str | None
    direction: Literal["improves", "worsens"]
    impact: float


class HealthOverrideOut(BaseModel):
    score: int
    band: HealthBand
    reason: str
    set_by: str
    set_at: datetime


class HealthOut(BaseModel):
    score: int | None
    band: HealthBand | None
    source: Literal["override", "model"] | None
    model_score: int | None
    model_band: HealthBand | None
    probability_late: float | None
    basis: Literal["history", "prior"] | None
    factors: list[HealthFactorOut]
    model_version: str | None
    computed_at: datetime | None
    override: HealthOverrideOut | None


class AccountingErrorOut(BaseModel):
    system: AccountingSystem
    http_status: int | None
    code: str | None
    message: str = Field(description="The accounting system's own message, verbatim")
    field: str | None


class SyncErrorOut(BaseModel):
    code: str = Field(description="Our error category")
    detail: str
    resolution: str
    accounting_error: AccountingErrorOut
    occurred_at: datetime | None


class SyncOut(BaseModel):
    state: SyncState
    last_synced_at: datetime | None
    error: SyncErrorOut | None


class CustomerResponse(BaseModel):
    id: str
    display_name: str
    company_name: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    billing_address: AddressOut | None
    shipping_address: AddressOut | None
    currency: str | None
    company_type: CompanyType | None
    industry: str | None
    size: CompanySize | None
    country: str | None
    notes: str | None
    external: ExternalOut | None
    archived: bool
    balance: BalanceOut | None
    health: HealthOut
    sync: SyncOut
    version: int
    created_at: datetime
    updated_at: datetime


class CustomerListResponse(BaseModel):
    items: list[CustomerResponse]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page")


class SettingsResponse(BaseModel):
    import_inactive_customers: bool
    allow_customer_edits: bool
    updated_at: datetime | None


class SettingsPatchRequest(_Inbound):
    import_inactive_customers: bool | None = None
    allow_customer_edits: bool | None = None


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str | None = None


class GatewayMessage(BaseModel):
    """What API Gateway answers itself, e.g. 401 `{"message": "Unauthorized"}` from the authorizer."""

    message: str


class ProblemDocument(BaseModel):
    """RFC 9457 problem document with arsync's extensions."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Our error category")
    resolution: str
    accounting_error: AccountingErrorOut | None = None
    errors: list[FieldProblem] | None = None
    customer: CustomerResponse | None = Field(default=None, description="The customer as kept, on push refusals")
    choices: list[dict[str, Any]] | None = Field(default=None, description="Ways to resolve a duplicate name")


class ExplainingItemOut(BaseModel):
    kind: Literal["unapplied_payment", "credit_memo", "credit_note", "overpayment", "prepayment"]
    id: str
    number: str | None
    date: date | None
    amount: Money


class OpenInvoiceOut(BaseModel):
    id: str
    number: str | None
    issue_date: date | None
    due_date: date | None
    amount_due: Money


class BalanceCheckResponse(BaseModel):
    customer_id: str
    currency: str | None
    outstanding: Money = Field(description="The accounting system's balance for the customer")
    total_due: Money = Field(description="Sum of open invoice balances")
    difference: Money = Field(description="total_due - outstanding")
    explained: Money = Field(description="Sum of the unapplied items listed")
    unexplained: Money = Field(description="Part of the difference the listed items do not explain")
    items: list[ExplainingItemOut]
    open_invoices: list[OpenInvoiceOut]
    summary: str
    as_of: datetime | None


class ConnectionResponse(BaseModel):
    status: Literal["not_connected", "connected", "needs_reauth"]
    system: AccountingSystem | None
    company_id: str | None
    connected_at: datetime | None
    last_sync_at: datetime | None
    last_sync_run_id: str | None
    resolution: str | None = Field(default=None, description="What to do when status is needs_reauth")


class AuthorizeResponse(BaseModel):
    authorization_url: str
    state: str
    expires_at: datetime


class ConnectedResponse(BaseModel):
    status: Literal["connected"]
    system: AccountingSystem
    company_id: str


class LinkRequest(_Inbound):
    external_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    reactivate: bool = False


class SyncCountsOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    deactivated: int
    skipped: int
    failed: int


class SyncRunErrorOut(BaseModel):
    code: str = Field(description="Our error category")
    message: str = Field(description="The accounting system's message, verbatim")
    system: str | None
    http_status: int | None
    provider_code: str | None
    occurred_at: datetime | None


class SyncRunResponse(BaseModel):
    id: str
    trigger: str
    status: Literal["queued", "running", "succeeded", "failed", "skipped"]
    mode: Literal["full", "incremental"] | None
    counts: SyncCountsOut
    counts_by_entity: dict[str, SyncCountsOut]
    errors: list[SyncRunErrorOut]
    paused_until: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SyncRunListResponse(BaseModel):
    items: list[SyncRunResponse]
    next_cursor: str | None
