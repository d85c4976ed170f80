"""API shapes: what clients send and receive. Inbound models forbid unknown fields (no mass assignment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from arsync.models import common
from arsync.models.common import (
    AccountingSystem,
    CompanySize,
    CompanyType,
    CurrencyCode,
    HealthBand,
    SyncState,
)

# What the text validators in `common` accept, as JSON Schema patterns, so the OpenAPI document tells clients
# (and contract fuzzers) the real rule instead of "any string": outer whitespace (Python `str.isspace`) is
# stripped; what remains is not blank and holds no C0/C1 control, bidi mark/override/isolate, BOM or
# non-character; single-line text also holds no tab or line break. Lone surrogates (refused too) are left out:
# they are not Unicode scalar values, so an ECMA-262 `u` pattern cannot name them. Documentation only:
# validation stays with the validators (tests/integration/reliability/test_contract_fuzzing.py checks that the
# two agree).
_WS = "\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_FORBIDDEN = (
    "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
    "\\ufeff\\ufffe\\uffff"
)
_BREAKS = "\\u0009\\u000a\\u000d\\u2028\\u2029"
_VISIBLE = f"[^{_WS}{_FORBIDDEN}]"
# Outer whitespace that is trimmed; whitespace that is also a control character is refused, not trimmed.
_OUTER = "\\u0009\\u000a\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
SINGLE_LINE_PATTERN = f"^[{_OUTER}]*{_VISIBLE}(?:[^{_FORBIDDEN}{_BREAKS}]*{_VISIBLE})?[{_OUTER}]*$"
MULTI_LINE_PATTERN = f"^[{_OUTER}]*{_VISIBLE}(?:[^{_FORBIDDEN}]*{_VISIBLE})?[{_OUTER}]*$"
_EMAIL_PART = f"[^@{_WS}{_FORBIDDEN}]+"
EMAIL_PATTERN = f"^{_EMAIL_PART}@{_EMAIL_PART}\\.{_EMAIL_PART}$"
_PHONE = "[0-9+().\\-/xX#*]"
_PHONE_OUTER = "[\\u0009\\u000a\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
_PHONE_INNER = "[0-9+().\\-/xX#*\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000]"
PHONE_PATTERN = f"^{_PHONE_OUTER}*{_PHONE}(?:{_PHONE_INNER}*{_PHONE})?{_PHONE_OUTER}*$"


@dataclass(frozen=True)
class _DocumentedPattern:
    pattern: str

    def __get_pydantic_json_schema__(self, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        schema["pattern"] = self.pattern
        return schema


DisplayName = Annotated[common.DisplayName, _DocumentedPattern(SINGLE_LINE_PATTERN)]
ShortText = Annotated[common.ShortText, _DocumentedPattern(SINGLE_LINE_PATTERN)]
LineText = Annotated[common.LineText, _DocumentedPattern(SINGLE_LINE_PATTERN)]
PostalCode = Annotated[common.PostalCode, _DocumentedPattern(SINGLE_LINE_PATTERN)]
CountryName = Annotated[common.CountryName, _DocumentedPattern(SINGLE_LINE_PATTERN)]
Reason = Annotated[common.Reason, _DocumentedPattern(SINGLE_LINE_PATTERN)]
Notes = Annotated[common.Notes, _DocumentedPattern(MULTI_LINE_PATTERN)]
Email = Annotated[common.Email, _DocumentedPattern(EMAIL_PATTERN)]
Phone = Annotated[common.Phone, _DocumentedPattern(PHONE_PATTERN)]

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", description="Decimal amount as a string, e.g. '120.50'")]


def _json_integer(value: object) -> object:
    """JSON Schema's integer: a whole number, `3.0` included; never a string or a boolean."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class _Inbound(BaseModel):
    """Inbound JSON: unknown fields are refused, and numbers and booleans are not coerced from other JSON types
    (`"1"`, `1.0`, `0` or `"true"` are refused where the document says integer or boolean)."""

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

    version: JsonInt = Field(ge=1, description="The version you read; a stale version is refused with 409")

    def changes(self) -> dict[str, object]:
        """Only the fields the client actually sent (explicit nulls included)."""
        return {name: getattr(self, name) for name in self.model_fields_set if name != "version"}


class HealthOverrideRequest(_Inbound):
    score: JsonInt = Field(ge=0, le=100)
    reason: Reason


class ArchiveRequest(_Inbound):
    version: Annotated[int, Field(ge=1), BeforeValidator(_json_integer)] | None = None


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


_Setting = Annotated[StrictBool | None, WithJsonSchema({"type": "boolean"})]
"""A setting may be left out of a PATCH, but when sent it is true or false (the document says so too)."""


class SettingsPatchRequest(_Inbound):
    import_inactive_customers: _Setting = None
    allow_customer_edits: _Setting = None

    @field_validator("import_inactive_customers", "allow_customer_edits", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must be true or false, not null")
        return value


class ConnectableSystem(StrEnum):
    """The systems `POST /connection/{system}/authorize` accepts (AccountingSystem also names others)."""

    QUICKBOOKS_ONLINE = AccountingSystem.QUICKBOOKS_ONLINE.value
    XERO = AccountingSystem.XERO.value


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
    reactivate: StrictBool = False


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
