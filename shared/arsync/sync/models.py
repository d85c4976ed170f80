"""Sync run, sync state and queue message models (what the engine, the store and the API share)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RunStatus = Literal["queued", "running", "succeeded", "failed", "skipped"]
Trigger = Literal["manual", "schedule", "webhook"]
Mode = Literal["full", "incremental"]
Phase = Literal["invoices", "payments", "credits", "customers", "changes"]

ACTIVE_STATUSES = frozenset({"queued", "running"})
FULL_PHASES: tuple[Phase, ...] = ("invoices", "payments", "credits", "customers")
"""Documents first, so customer balances can be computed from them on the customers phase."""

ENTITIES = ("customers", "invoices", "payments", "credits")


class Counts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    skipped: int = 0
    failed: int = 0

    def add(self, other: Counts) -> Counts:
        return Counts(**{name: getattr(self, name) + getattr(other, name) for name in Counts.model_fields})


class RunError(BaseModel):
    """A provider error as it stopped (or paused) the run: category plus the provider's words verbatim."""

    category: str
    message: str
    system: str | None = None
    http_status: int | None = None
    code: str | None = None
    occurred_at: datetime | None = None


class SyncRun(BaseModel):
    tenant_id: str
    id: str
    trigger: Trigger
    status: RunStatus = "queued"
    mode: Mode | None = None
    counts: dict[str, Counts] = Field(default_factory=lambda: {entity: Counts() for entity in ENTITIES})
    errors: list[RunError] = Field(default_factory=list)
    paused_until: datetime | None = None
    tick: str | None = None
    """The schedule tick (the EventBridge event's `time`) that queued this run, for scheduled runs."""
    created_at: datetime
    started_at: datetime | None = None
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.counts.values():
            total = total.add(counts)
        return total

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class Checkpoint(BaseModel):
    """Where a run stopped: resume reads from `cursor` of `phase` (the page after the last applied one)."""

    run_id: str
    mode: Mode
    phase: Phase
    cursor: str | None = None
    since: datetime | None = None  # incremental: the `changes_since` argument, fixed for the whole run
    # incremental: customers whose documents this batch is about to change, saved before the documents are
    # written, so a crash between the two still re-reads those customers' balances on resume
    touched: list[str] = Field(default_factory=list)


class SyncState(BaseModel):
    """Per-account sync state: the bookmark of the last successful run and the current run's checkpoint."""

    bookmark: datetime | None = None
    checkpoint: Checkpoint | None = None
    paused_until: datetime | None = None
    """No provider call before this instant: a day limit, or the circuit breaker after repeated failures."""
    provider_failures: int = 0
    """Consecutive runs slices that ended in a provider outage (5xx, timeouts); reset by the next success."""
    full_requested_at: datetime | None = None
    """Set when the import scope widens (B3): the next run reads everything, not just changes."""
    version: int = 0


class ActiveRun(BaseModel):
    """Pointer to the account's queued or running run: what sync-now, schedule and webhooks coalesce into.

    A scheduled run's pointer outlives the run (marked `finished`) so a retried schedule tick can tell the
    account was already served for that tick."""

    run_id: str
    since: datetime
    tick: str | None = None
    finished: bool = False


class SyncMessage(BaseModel):
    """The sync queue message body."""

    model_config = ConfigDict(extra="ignore")

    tenant_id: str = Field(min_length=1, max_length=64)
    run_id: str = Field(min_length=1, max_length=80)
    trigger: Trigger
    continuation: bool = False

    @classmethod
    def parse(cls, body: str) -> SyncMessage:
        """Raise ValueError for anything that is not our message (the record then fails alone)."""
        try:
            return cls.model_validate(json.loads(body))
        except (ValidationError, json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"not a sync message: {exc}") from exc

    def body(self) -> str:
        data = self.model_dump(mode="json", exclude_defaults=False)
        if not self.continuation:
            data.pop("continuation")
        return json.dumps(data, separators=(",", ":"))
