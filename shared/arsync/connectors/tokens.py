"""OAuth token lifecycle for one connection: refresh under a per-connection lock, persist rotations atomically.

Both providers rotate refresh tokens, so two workers refreshing the same token set concurrently can strand one
of them with a dead token (`invalid_grant`). Hence: only the holder of the per-connection lock refreshes; the
others poll the store until the holder has saved the rotated set (conditional write on `version`). A refresh
whose response was lost leaves the stored (old) refresh token in place; re-using it is allowed (Xero: 30-minute
grace; QBO: the previous refresh token stays valid for 24 h after rotation). `invalid_grant` is terminal: the
manager stops and the caller marks the connection `needs_reauth` (no retry storm).
"""

from __future__ import annotations

import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from arsync.connectors.base import TokenSet
from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.connectors.http import connector_error, utc_now
from arsync.models.common import AccountingSystem
from arsync.observability import logger


class StoredTokens(BaseModel):
    """A token set plus the store's version for optimistic concurrency."""

    model_config = ConfigDict(frozen=True)

    tokens: TokenSet
    version: int


class TokenVersionConflict(Exception):
    """`save` lost a race: someone else saved a newer token set first."""

    def __init__(self, connection_key: str, expected_version: int | None, actual_version: int | None) -> None:
        super().__init__(
            f"token set of {connection_key!r} changed (expected version {expected_version}, found {actual_version})"
        )
        self.connection_key = connection_key
        self.expected_version = expected_version
        self.actual_version = actual_version


class TokenStore(ABC):
    """Port: where token sets live (DynamoDB + Secrets Manager in AWS; memory in tests)."""

    @abstractmethod
    def load(self, connection_key: str) -> StoredTokens | None: ...

    @abstractmethod
    def save(self, connection_key: str, tokens: TokenSet, expected_version: int | None) -> StoredTokens:
        """Conditional write: `expected_version=None` means "must not exist yet". Raises TokenVersionConflict."""

    @abstractmethod
    def try_lock(self, connection_key: str, owner: str, ttl_seconds: float) -> bool:
        """Take the per-connection refresh lease if free or expired; True if `owner` now holds it."""

    @abstractmethod
    def unlock(self, connection_key: str, owner: str) -> None:
        """Release the lease if `owner` still holds it."""


class InMemoryTokenStore(TokenStore):
    """Thread-safe fake for tests and the local stack."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._mutex = threading.Lock()
        self._data: dict[str, StoredTokens] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self.saves = 0

    def load(self, connection_key: str) -> StoredTokens | None:
        with self._mutex:
            return self._data.get(connection_key)

    def save(self, connection_key: str, tokens: TokenSet, expected_version: int | None) -> StoredTokens:
        with self._mutex:
            current = self._data.get(connection_key)
            actual = current.version if current else None
            if actual != expected_version:
                raise TokenVersionConflict(connection_key, expected_version, actual)
            stored = StoredTokens(tokens=tokens, version=(actual or 0) + 1)
            self._data[connection_key] = stored
            self.saves += 1
            return stored

    def try_lock(self, connection_key: str, owner: str, ttl_seconds: float) -> bool:
        with self._mutex:
            now = self._clock()
            held = self._locks.get(connection_key)
            if held is not None and held[0] != owner and held[1] > now:
                return False
            self._locks[connection_key] = (owner, now + ttl_seconds)
            return True

    def unlock(self, connection_key: str, owner: str) -> None:
        with self._mutex:
            held = self._locks.get(connection_key)
            if held is not None and held[0] == owner:
                del self._locks[connection_key]


class TokenRefresher(Protocol):
    """What the manager needs from a connector: the refresh grant (no credentials needed for it)."""

    system: AccountingSystem

    def refresh(self, refresh_token: str) -> TokenSet: ...


class TokenManager:
    """Credentials provider for adapters: `access_token()` and `force_refresh()` (after a 401).

    Raises the provider's `AccountingError` (category authentication_failed) when the grant is dead; after that
    `needs_reauth` is True and every later call fails fast without touching the network.
    """

    def __init__(
        self,
        store: TokenStore,
        connector: TokenRefresher,
        connection_key: str,
        clock: Callable[[], datetime] = utc_now,
        *,
        sleep: Callable[[float], None] = time.sleep,
        skew: timedelta = timedelta(minutes=5),
        lock_ttl_seconds: float = 30.0,
        wait_timeout_seconds: float = 20.0,
        poll_interval_seconds: float = 0.05,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.connection_key = connection_key
        self._clock = clock
        self._sleep = sleep
        self._skew = skew
        self._lock_ttl = lock_ttl_seconds
        self._wait_timeout = wait_timeout_seconds
        self._poll = poll_interval_seconds
        self._owner = owner or f"tm-{uuid.uuid4().hex}"
        self._local = threading.Lock()  # one refresh attempt per process at a time (threads share the owner id)
        self._reauth_error: AccountingError | None = None
        self.refresh_count = 0

    @property
    def needs_reauth(self) -> bool:
        return self._reauth_error is not None

    @property
    def reauth_error(self) -> AccountingError | None:
        return self._reauth_error

    def current(self) -> StoredTokens:
        stored = self.store.load(self.connection_key)
        if stored is None:
            raise self._auth_failed("No tokens are stored for this connection; connect the accounting system.")
        return stored

    def access_token(self) -> str:
        """A valid access token, refreshing first when it expires within the skew."""
        self._fail_if_stopped()
        stored = self.current()
        if not self._expiring(stored.tokens):
            return stored.tokens.access_token.get_secret_value()
        return self._refresh(stale_access_token=stored.tokens.access_token.get_secret_value())

    def force_refresh(self, rejected_token: str | None = None) -> str:
        """After a 401: refresh unless another worker already replaced the rejected token."""
        self._fail_if_stopped()
        stored = self.current()
        current = stored.tokens.access_token.get_secret_value()
        if rejected_token is not None and current != rejected_token and not self._expiring(stored.tokens):
            return current
        return self._refresh(stale_access_token=rejected_token or current, forced=True)

    # -- internals ---------------------------------------------------------------------------------------------------
    def _expiring(self, tokens: TokenSet) -> bool:
        return tokens.expires_at - self._skew <= self._clock()

    def _fail_if_stopped(self) -> None:
        if self._reauth_error is not None:
            raise self._reauth_error

    def _replaced(self, stored: StoredTokens, stale_access_token: str, forced: bool) -> bool:
        """Did someone else already refresh (a new access token that is not about to expire)?"""
        if stored.tokens.access_token.get_secret_value() == stale_access_token:
            return False
        return not self._expiring(stored.tokens) or not forced

    def _refresh(self, *, stale_access_token: str, forced: bool = False) -> str:
        deadline = time.monotonic() + self._wait_timeout
        while True:
            with self._local:
                if self.store.try_lock(self.connection_key, self._owner, self._lock_ttl):
                    try:
                        return self._refresh_locked(stale_access_token, forced)
                    finally:
                        self.store.unlock(self.connection_key, self._owner)
            # Another worker holds the lease: wait for it to save the rotated set, then use that.
            self._sleep(self._poll)
            self._fail_if_stopped()
            stored = self.current()
            if self._replaced(stored, stale_access_token, forced) and not self._expiring(stored.tokens):
                return stored.tokens.access_token.get_secret_value()
            if time.monotonic() > deadline:
                raise connector_error(
                    self.connector.system,
                    ErrorCategory.PROVIDER_UNAVAILABLE,
                    "Timed out waiting for another worker to refresh the access token.",
                    retryable=True,
                )

    def _refresh_locked(self, stale_access_token: str, forced: bool) -> str:
        self._fail_if_stopped()
        stored = self.current()  # reload under the lease: someone may have refreshed while we waited
        if self._replaced(stored, stale_access_token, forced) and not self._expiring(stored.tokens):
            return stored.tokens.access_token.get_secret_value()
        used_refresh_token = stored.tokens.refresh_token.get_secret_value()
        try:
            fresh = self.connector.refresh(used_refresh_token)
        except AccountingError as exc:
            if not exc.needs_reauth:
                raise  # transient: the stored refresh token stays, a later call retries it (grace period)
            latest = self.store.load(self.connection_key)
            if latest is not None and latest.tokens.refresh_token.get_secret_value() != used_refresh_token:
                # Rotated by someone else between our load and the call: theirs is current, not a dead grant.
                return latest.tokens.access_token.get_secret_value()
            self._reauth_error = exc
            logger.warning(
                "token refresh rejected; connection needs re-authorisation",
                extra={"system": str(self.connector.system), "connection_key": self.connection_key},
            )
            raise
        self.refresh_count += 1
        if fresh.company_id is None and stored.tokens.company_id is not None:
            fresh = fresh.model_copy(update={"company_id": stored.tokens.company_id})
        # Persist the rotated refresh token at once: losing it would strand the connection.
        self.store.save(self.connection_key, fresh, expected_version=stored.version)
        logger.info("access token refreshed", extra={"system": str(self.connector.system)})
        return fresh.access_token.get_secret_value()

    def _auth_failed(self, message: str) -> AccountingError:
        return connector_error(self.connector.system, ErrorCategory.AUTHENTICATION_FAILED, message)
