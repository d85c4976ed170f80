"""Time and identifiers, injectable so tests are deterministic."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

SYNC_OVERLAP = timedelta(minutes=5)
"""How far an incremental read reaches back before its bookmark: provider clocks may run this far behind ours,
and a record stamped inside the window is read again rather than missed."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Random, URL-safe, unguessable ids (ids are not an authorisation boundary, but need not be guessable)."""
    return f"{prefix}_{secrets.token_hex(10)}"


def time_ordered_id(prefix: str, now: datetime) -> str:
    """Ids that sort by creation time (sync runs are listed newest first)."""
    return f"{prefix}_{now.strftime('%Y%m%dT%H%M%S%f')}_{secrets.token_hex(3)}"
