"""Domain model of an AR account's settings and accounting connection."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from arsync.models.common import AccountingSystem


class AccountSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    import_inactive_customers: bool = False
    allow_customer_edits: bool = False
    updated_at: datetime | None = None
    version: int = 0


ConnectionStatus = Literal["not_connected", "connected", "needs_reauth"]


class Connection(BaseModel):
    """The account's link to its accounting system. Tokens live in the token store, never here."""

    model_config = ConfigDict(frozen=True)

    system: AccountingSystem
    status: ConnectionStatus
    company_id: str
    company_name: str | None = None
    connected_at: datetime
    last_sync_at: datetime | None = None
    last_sync_run_id: str | None = None
    reauth_reason: str | None = None
    version: int = 1
