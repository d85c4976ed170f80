"""The idempotency port used for `Idempotency-Key` on create (Powertools idempotency in production)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any


class IdempotencyGuard(ABC):
    @abstractmethod
    def run(
        self,
        tenant_id: str,
        key: str,
        payload: dict[str, Any],
        operation: Callable[[], dict[str, Any]],
        lambda_context: Any | None = None,
    ) -> dict[str, Any]:
        """Run `operation` once per (tenant, key); replay its stored result for retries with the same payload.

        Raises IdempotencyKeyReused for a different payload and RequestInProgress while the first runs."""
