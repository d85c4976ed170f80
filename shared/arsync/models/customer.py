"""Domain model of a customer: what the business rules work on (no HTTP, no DynamoDB shapes)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from arsync.models.common import (
    AccountingSystem,
    CompanySize,
    CompanyType,
    HealthBand,
    SyncState,
)


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class ExternalRef(BaseModel):
    """Where the customer lives in the connected accounting system."""

    model_config = ConfigDict(frozen=True)

    system: AccountingSystem
    id: str
    active: bool = True
    sync_token: str | None = None  # QBO SyncToken; Xero has none (UpdatedDateUTC is used instead)
    updated_at: datetime | None = None


class AccountingErrorInfo(BaseModel):
    """A provider error as the user sees it: the provider's words verbatim plus ours."""

    model_config = ConfigDict(frozen=True)

    system: AccountingSystem
    category: str
    http_status: int | None = None
    code: str | None = None
    message: str
    field: str | None = None
    explanation: str
    resolution: str
    retryable: bool = False
    occurred_at: datetime | None = None
    existing_id: str | None = None  # the clashing record, when a duplicate can be linked or reactivated
    existing_name: str | None = None


class Balance(BaseModel):
    model_config = ConfigDict(frozen=True)

    outstanding: Decimal
    total_due: Decimal
    unapplied_credit: Decimal
    currency: str | None = None
    source: Literal["accounting_system", "computed"]
    as_of: datetime


class HealthFactor(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    label: str
    value: float | str | None = None
    direction: Literal["improves", "worsens"]
    impact: float


class HealthOverride(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: int = Field(ge=0, le=100)
    band: HealthBand
    reason: str
    set_by: str
    set_at: datetime


class Health(BaseModel):
    """The model's assessment, plus the user's override when one stands (B10, B11)."""

    model_config = ConfigDict(frozen=True)

    model_score: int | None = Field(default=None, ge=0, le=100)
    model_band: HealthBand | None = None
    probability_late: float | None = None
    factors: tuple[HealthFactor, ...] = ()
    model_version: str | None = None
    basis: Literal["history", "prior"] | None = None
    computed_at: datetime | None = None
    override: HealthOverride | None = None

    @property
    def score(self) -> int | None:
        return self.override.score if self.override else self.model_score

    @property
    def band(self) -> HealthBand | None:
        return self.override.band if self.override else self.model_band

    @property
    def source(self) -> Literal["override", "model"] | None:
        if self.override:
            return "override"
        return "model" if self.model_score is not None else None


class SyncStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: SyncState = SyncState.LOCAL_ONLY
    last_synced_at: datetime | None = None
    error: AccountingErrorInfo | None = None


class CustomerContact(BaseModel):
    """Contact data the accounting system owns while connected (B2 edit lock)."""

    model_config = ConfigDict(frozen=True)

    display_name: str
    company_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    currency: str | None = None


CONTACT_FIELDS = frozenset(CustomerContact.model_fields)
"""Fields locked while connected (B2)."""

AR_ONLY_FIELDS = frozenset({"company_type", "industry", "size", "country", "notes"})
"""Fields the accounting systems do not carry: always editable in AR (B2)."""


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    id: str
    contact: CustomerContact
    company_type: CompanyType | None = None
    industry: str | None = None
    size: CompanySize | None = None
    country: str | None = None
    notes: str | None = None
    external: ExternalRef | None = None
    archived: bool = False
    balance: Balance | None = None
    health: Health = Health()
    sync: SyncStatus = SyncStatus()
    version: int = 1
    created_at: datetime
    updated_at: datetime
