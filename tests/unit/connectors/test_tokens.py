"""Token refresh under a per-connection lock: one refresh for many waiters, rotation persisted, invalid_grant stops."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from arsync.connectors.base import TokenSet
from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.connectors.http import connector_error
from arsync.connectors.tokens import InMemoryTokenStore, TokenManager, TokenVersionConflict
from arsync.models.common import AccountingSystem

KEY = "tenant-1#quickbooks_online"


def token_set(n: int, *, expires_in: timedelta) -> TokenSet:
    return TokenSet(
        access_token=SecretStr(f"access-{n}"),
        refresh_token=SecretStr(f"refresh-{n}"),
        expires_at=datetime.now(UTC) + expires_in,
        company_id="realm-1",
    )


class FakeRefresher:
    """Rotates like the providers: each refresh returns a new access AND refresh token."""

    system = AccountingSystem.QUICKBOOKS_ONLINE

    def __init__(self, *, delay: float = 0.0, fail_with: AccountingError | None = None) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.fail_with = fail_with
        self._lock = threading.Lock()

    def refresh(self, refresh_token: str) -> TokenSet:
        with self._lock:
            self.calls.append(refresh_token)
            n = len(self.calls) + 1
        time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        return TokenSet(
            access_token=SecretStr(f"access-{n}"),
            refresh_token=SecretStr(f"refresh-{n}"),
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )


def seeded_store(*, expired: bool) -> InMemoryTokenStore:
    store = InMemoryTokenStore()
    store.save(KEY, token_set(1, expires_in=timedelta(seconds=-10 if expired else 3600)), expected_version=None)
    return store


def manager(store: InMemoryTokenStore, refresher: FakeRefresher) -> TokenManager:
    return TokenManager(store, refresher, KEY, poll_interval_seconds=0.005, wait_timeout_seconds=5.0)


def test_valid_token_is_returned_without_refresh():
    refresher = FakeRefresher()
    assert manager(seeded_store(expired=False), refresher).access_token() == "access-1"
    assert refresher.calls == []


def test_ten_threads_with_an_expired_token_cause_exactly_one_refresh():
    # Given an expired token and ten workers, each with its own manager (as separate Lambda containers would)
    store = seeded_store(expired=True)
    refresher = FakeRefresher(delay=0.1)
    managers = [manager(store, refresher) for _ in range(10)]
    results: list[str] = []
    barrier = threading.Barrier(10)

    def work(m: TokenManager) -> None:
        barrier.wait()
        results.append(m.access_token())

    # When
    threads = [threading.Thread(target=work, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    # Then
    assert refresher.calls == ["refresh-1"]
    assert results == ["access-2"] * 10


def test_threads_sharing_one_manager_also_refresh_once():
    store = seeded_store(expired=True)
    refresher = FakeRefresher(delay=0.05)
    m = manager(store, refresher)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(m.access_token())) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(refresher.calls) == 1
    assert set(results) == {"access-2"}


def test_rotated_refresh_token_is_persisted_with_a_new_version():
    store = seeded_store(expired=True)
    manager(store, FakeRefresher()).access_token()
    stored = store.load(KEY)
    assert stored is not None
    assert stored.version == 2
    assert stored.tokens.refresh_token.get_secret_value() == "refresh-2"
    assert stored.tokens.company_id == "realm-1"  # kept across the refresh


def test_save_with_a_stale_version_is_a_conflict():
    store = seeded_store(expired=False)
    with pytest.raises(TokenVersionConflict):
        store.save(KEY, token_set(9, expires_in=timedelta(hours=1)), expected_version=0)
    with pytest.raises(TokenVersionConflict):
        store.save(KEY, token_set(9, expires_in=timedelta(hours=1)), expected_version=None)


def test_invalid_grant_stops_the_manager_without_a_retry_storm():
    # Given the provider rejects the refresh token
    error = AccountingError(
        AccountingSystem.QUICKBOOKS_ONLINE,
        ErrorCategory.AUTHENTICATION_FAILED,
        "invalid_grant: Incorrect or invalid refresh token",
        http_status=400,
    )
    refresher = FakeRefresher(fail_with=error)
    m = manager(seeded_store(expired=True), refresher)
    # When
    with pytest.raises(AccountingError) as info:
        m.access_token()
    # Then: authentication_failed, needs_reauth, and later calls never reach the provider
    assert info.value.category == ErrorCategory.AUTHENTICATION_FAILED
    assert m.needs_reauth
    with pytest.raises(AccountingError):
        m.access_token()
    with pytest.raises(AccountingError):
        m.force_refresh("access-1")
    assert len(refresher.calls) == 1


def test_transient_refresh_failure_keeps_the_old_refresh_token_for_a_retry():
    # A lost refresh response: the old refresh token may be re-used (Xero 30-minute grace, QBO 24 h).
    store = seeded_store(expired=True)
    refresher = FakeRefresher(
        fail_with=connector_error(AccountingSystem.XERO, ErrorCategory.PROVIDER_UNAVAILABLE, "no response")
    )
    m = manager(store, refresher)
    with pytest.raises(AccountingError):
        m.access_token()
    assert not m.needs_reauth
    refresher.fail_with = None
    assert m.access_token() == "access-3"
    assert refresher.calls == ["refresh-1", "refresh-1"]


def test_force_refresh_skips_when_another_worker_already_replaced_the_token():
    store = seeded_store(expired=False)
    refresher = FakeRefresher()
    m = manager(store, refresher)
    assert m.force_refresh("some-older-token") == "access-1"
    assert refresher.calls == []
    assert m.force_refresh("access-1") == "access-2"
    assert refresher.calls == ["refresh-1"]


def test_missing_tokens_is_authentication_failed():
    m = manager(InMemoryTokenStore(), FakeRefresher())
    with pytest.raises(AccountingError) as info:
        m.access_token()
    assert info.value.category == ErrorCategory.AUTHENTICATION_FAILED


def test_token_set_never_shows_its_secrets():
    tokens = token_set(1, expires_in=timedelta(hours=1))
    assert "access-1" not in repr(tokens) + str(tokens)
    assert "refresh-1" not in repr(tokens) + str(tokens)
    assert tokens.to_storage()["refresh_token"] == "refresh-1"


def test_lock_is_exclusive_until_released_or_expired():
    clock = [0.0]
    store = InMemoryTokenStore(clock=lambda: clock[0])
    assert store.try_lock(KEY, "a", 30)
    assert not store.try_lock(KEY, "b", 30)
    store.unlock(KEY, "b")  # not the holder: no effect
    assert not store.try_lock(KEY, "b", 30)
    clock[0] = 31.0
    assert store.try_lock(KEY, "b", 30)  # expired lease
    store.unlock(KEY, "b")
    assert store.try_lock(KEY, "a", 30)
