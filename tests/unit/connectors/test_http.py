"""The outbound HTTP policy: backoff, Retry-After, day limit, no retry on 4xx, 401 refresh, rate limiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from arsync.connectors.errors import AccountingError, ErrorCategory
from arsync.connectors.http import (
    ProviderHttp,
    RateLimiter,
    RateLimiterRegistry,
    RateLimits,
    RetryPolicy,
    Timeouts,
    parse_retry_after,
)
from arsync.models.common import AccountingSystem
from tests.unit.connectors.fake_transport import FakeCredentials, FakeTransport, Reply, session_with

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
URL = "https://api.example.test/v3/company/1/customer/1"
QBO = AccountingSystem.QUICKBOOKS_ONLINE
XERO = AccountingSystem.XERO


def make_http(
    transport: FakeTransport,
    system: AccountingSystem = QBO,
    *,
    sleeps: list[float] | None = None,
    rand: float = 0.5,
    credentials: FakeCredentials | None = None,
    retry: RetryPolicy | None = None,
) -> ProviderHttp:
    sink = sleeps if sleeps is not None else []
    return ProviderHttp(
        system,
        session=session_with(transport),
        timeouts=Timeouts(connect=2.0, read=9.0),
        retry=retry or RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=20.0),
        company_id="c1",
        credentials=credentials or FakeCredentials(),
        limiters=RateLimiterRegistry(),
        sleep=sink.append,
        random=lambda: rand,
        now=lambda: NOW,
    )


# --- backoff -------------------------------------------------------------------------------------------------------


def test_full_jitter_backoff_is_random_times_capped_exponential():
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(policy.backoff(n, lambda: 0.0) == 0.0 for n in range(6))
    assert policy.backoff(2, lambda: 0.25) == 0.5


def test_5xx_is_retried_with_full_jitter_then_succeeds():
    # Given two 503s then a 200
    transport = FakeTransport(Reply(503), Reply(502), Reply(200, {"ok": True}))
    sleeps: list[float] = []
    http = make_http(transport, sleeps=sleeps, rand=0.5)
    # When
    response = http.request("GET", URL)
    # Then: slept random * base * 2**n for each failure
    assert response.status_code == 200
    assert sleeps == [0.25, 0.5]
    assert len(transport.sent) == 3


def test_5xx_gives_up_after_max_attempts_as_provider_unavailable():
    transport = FakeTransport(default=Reply(503))
    http = make_http(transport)
    with pytest.raises(AccountingError) as info:
        http.request("GET", URL)
    assert info.value.category == ErrorCategory.PROVIDER_UNAVAILABLE
    assert len(transport.sent) == 4


def test_every_call_has_connect_and_read_timeouts_and_no_redirects():
    transport = FakeTransport(Reply(302, "", {"Location": "https://evil.example/"}))
    http = make_http(transport)
    with pytest.raises(AccountingError):
        http.request("GET", URL)
    assert len(transport.sent) == 1  # the redirect was not followed
    assert transport.sent[0].kwargs["timeout"] == (2.0, 9.0)


# --- Retry-After -----------------------------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured():
    transport = FakeTransport(Reply(429, "", {"Retry-After": "7"}), Reply(200, {}))
    sleeps: list[float] = []
    make_http(transport, sleeps=sleeps, rand=0.0).request("GET", URL)
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured_never_earlier():
    when = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    transport = FakeTransport(Reply(429, "", {"Retry-After": when}), Reply(200, {}))
    sleeps: list[float] = []
    make_http(transport, sleeps=sleeps, rand=0.9).request("GET", URL)
    assert len(sleeps) == 1
    assert 30.0 <= sleeps[0] <= 30.0 + 0.5  # the jitter only ever adds


def test_parse_retry_after_both_forms():
    assert parse_retry_after("12", NOW) == 12.0
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90.0
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=90), usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_429_without_retry_after_waits_the_documented_default():
    transport = FakeTransport(Reply(429, {"fault": {"error": []}}), Reply(200, {}))
    sleeps: list[float] = []
    make_http(transport, sleeps=sleeps, rand=0.0).request("GET", URL)
    assert sleeps == [60.0]  # Intuit: "wait 60 seconds before retrying"


def test_retry_after_beyond_the_cap_is_returned_to_the_caller():
    transport = FakeTransport(Reply(429, "", {"Retry-After": "600"}))
    http = make_http(transport)
    with pytest.raises(AccountingError) as info:
        http.request("GET", URL)
    assert info.value.category == ErrorCategory.RATE_LIMITED
    assert info.value.retry_after == 600.0
    assert len(transport.sent) == 1


def test_xero_day_limit_is_not_retried_and_pauses_the_connection():
    # Given Xero's daily limit
    headers = {"Retry-After": "3600", "X-Rate-Limit-Problem": "day"}
    transport = FakeTransport(Reply(429, "", headers))
    sleeps: list[float] = []
    http = make_http(transport, XERO, sleeps=sleeps)
    # When
    with pytest.raises(AccountingError) as info:
        http.request("GET", URL)
    # Then: no retry, reset_at is when the window reopens
    assert info.value.category == ErrorCategory.DAILY_LIMIT_REACHED
    assert info.value.reset_at == NOW + timedelta(seconds=3600)
    assert sleeps == []
    assert len(transport.sent) == 1
    # And the next call fails fast without reaching Xero
    with pytest.raises(AccountingError) as again:
        http.request("GET", URL)
    assert again.value.category == ErrorCategory.DAILY_LIMIT_REACHED
    assert len(transport.sent) == 1


# --- 4xx and 401 -----------------------------------------------------------------------------------------------------


def test_validation_4xx_is_never_retried():
    fault = {
        "Fault": {
            "Error": [
                {
                    "Message": "Duplicate Name Exists Error",
                    "Detail": "The name supplied already exists. : null",
                    "code": "6240",
                }
            ],
            "type": "ValidationFault",
        }
    }
    transport = FakeTransport(Reply(400, fault))
    sleeps: list[float] = []
    http = make_http(transport, sleeps=sleeps)
    with pytest.raises(AccountingError) as info:
        http.request("POST", URL, json_body={}, replay_safe=True)
    assert info.value.category == ErrorCategory.DUPLICATE_NAME
    assert info.value.message == "Duplicate Name Exists Error: The name supplied already exists. : null"
    assert len(transport.sent) == 1
    assert sleeps == []


def test_401_forces_one_refresh_and_retries_once():
    creds = FakeCredentials()
    transport = FakeTransport(Reply(401, {"fault": {"error": [{"code": "3200"}]}}), Reply(200, {}))
    make_http(transport, credentials=creds).request("GET", URL)
    assert creds.forced == ["token-1"]
    assert [s.headers["Authorization"] for s in transport.sent] == ["Bearer token-1", "Bearer token-2"]


def test_second_401_is_authentication_failed():
    creds = FakeCredentials()
    transport = FakeTransport(default=Reply(401, {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}))
    with pytest.raises(AccountingError) as info:
        make_http(transport, XERO, credentials=creds).request("GET", URL)
    assert info.value.category == ErrorCategory.AUTHENTICATION_FAILED
    assert len(creds.forced) == 1
    assert len(transport.sent) == 2


# --- ambiguous failures and idempotency ------------------------------------------------------------------------------


def test_lost_create_is_replayed_with_the_same_idempotency_key():
    transport = FakeTransport(requests.exceptions.ConnectionError("reset after commit"), Reply(200, {"Customer": {}}))
    http = make_http(transport)
    http.request("POST", URL, params={"requestid": "op-123"}, json_body={"DisplayName": "A"}, replay_safe=True)
    assert [s.query["requestid"] for s in transport.sent] == ["op-123", "op-123"]
    assert transport.sent[0].body == transport.sent[1].body


def test_write_without_idempotency_key_is_not_replayed_after_an_ambiguous_failure():
    transport = FakeTransport(requests.exceptions.ReadTimeout("lost"))
    http = make_http(transport)
    with pytest.raises(AccountingError) as info:
        http.request("POST", URL, json_body={})
    assert info.value.category == ErrorCategory.PROVIDER_UNAVAILABLE
    assert info.value.retryable
    assert len(transport.sent) == 1


def test_connect_timeout_is_always_retried_because_nothing_was_sent():
    transport = FakeTransport(requests.exceptions.ConnectTimeout("syn lost"), Reply(200, {}))
    make_http(transport).request("POST", URL, json_body={})
    assert len(transport.sent) == 2


def test_tokens_never_reach_the_logs(capsys):
    creds = FakeCredentials()
    transport = FakeTransport(Reply(503), Reply(200, {}))
    make_http(transport, credentials=creds).request("GET", URL)
    out = capsys.readouterr()
    assert "token-1" not in out.out + out.err


# --- client-side rate limiter ----------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_rate_limiter_keeps_under_the_per_minute_limit():
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(per_minute=3, concurrent=10), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        with limiter.slot():
            pass
    assert clock.slept == []
    with limiter.slot():
        pass
    assert clock.slept == [pytest.approx(60.0)]


def test_rate_limiter_caps_concurrency():
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(per_minute=100, concurrent=1), clock=clock, sleep=clock.sleep)
    limiter.acquire()
    import threading

    acquired = threading.Event()

    def second() -> None:
        limiter.acquire()
        acquired.set()

    worker = threading.Thread(target=second)
    worker.start()
    assert not acquired.wait(0.2)
    limiter.release()
    assert acquired.wait(2.0)
    worker.join()


def test_limiters_are_keyed_by_system_and_company():
    registry = RateLimiterRegistry()
    limits = RateLimits(per_minute=1, concurrent=1)
    assert registry.get(QBO, "a", limits) is registry.get(QBO, "a", limits)
    assert registry.get(QBO, "a", limits) is not registry.get(QBO, "b", limits)
    assert registry.get(QBO, "a", limits) is not registry.get(XERO, "a", limits)
