"""The ONE place for outbound HTTP policy to accounting systems (both adapters go through `ProviderHttp`).

Policy: explicit (connect, read) timeouts; no redirects on data calls; capped exponential backoff with FULL
jitter (AWS Architecture blog); `Retry-After` honoured in seconds and as an HTTP-date, never sending before the
advertised instant; a Xero day-limit 429 is not retried (the connection is paused until `reset_at`); 4xx
validation errors are never retried; a 401 forces one token refresh and one retry; a client-side rate limiter
per (system, company) keeps us below provider limits; writes are only replayed after an ambiguous failure when
they carry an idempotency key, and the replay reuses the SAME key (that is what makes a lost create
exactly-once). Tokens and Authorization headers are never logged.
"""

from __future__ import annotations

import json
import math
import random as _random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field

from arsync.connectors.base import CredentialsProvider
from arsync.connectors.errors import AccountingError, ErrorCategory, parse_accounting_error
from arsync.models.common import AccountingSystem
from arsync.observability import logger

Clock = Callable[[], float]
WallClock = Callable[[], datetime]
Sleep = Callable[[float], None]
Random = Callable[[], float]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Timeouts(BaseModel):
    """(connect, read) seconds for `requests`; QBO times requests out server-side at 120 s."""

    model_config = ConfigDict(frozen=True)

    connect: float = Field(default=3.05, gt=0)
    read: float = Field(default=30.0, gt=0)

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


class RetryPolicy(BaseModel):
    """Capped exponential backoff with full jitter: sleep = random() * min(max_delay, base_delay * 2**n)."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=4, ge=1)
    base_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=20.0, ge=0)
    # A Retry-After longer than this is not slept through: the error (rate_limited, retry_after set) goes back to
    # the caller, which re-queues the work instead of burning Lambda time.
    max_retry_after: float = Field(default=65.0, ge=0)
    # Wait when a 429 carries no Retry-After. Intuit: "If you see this, wait 60 seconds before retrying" (§1.7);
    # Invoiced sleeps 61 s on Xero's minute limit (§6).
    throttle_default_wait: float = Field(default=60.0, ge=0)

    def backoff(self, failures: int, rand: Random) -> float:
        """Full jitter for the n-th failure (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2**failures))
        return rand() * ceiling


class RateLimits(BaseModel):
    """Client-side limits per connection, kept below the provider's (we are not its only client)."""

    model_config = ConfigDict(frozen=True)

    per_minute: int = Field(gt=0)
    concurrent: int = Field(gt=0)


QBO_LIMITS = RateLimits(per_minute=450, concurrent=8)  # provider: 500/min and 10 concurrent per realm (§1.7)
XERO_LIMITS = RateLimits(per_minute=55, concurrent=4)  # provider: 60/min, 5 concurrent, 5000/day per tenant (§2.7)


class RateLimiter:
    """Sliding one-minute window plus an in-flight cap for one (system, company) key; thread-safe.

    Process-local: Lambda containers do not share it, so it protects one worker's burst, not the fleet (the
    provider 429 handling below covers the rest).
    """

    WINDOW = 60.0

    def __init__(self, limits: RateLimits, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._window: deque[float] = deque()
        self._in_flight = 0
        self._blocked: AccountingError | None = None

    def block(self, error: AccountingError) -> None:
        """Pause this connection until `error.reset_at` (Xero day limit): later calls fail fast, unsent."""
        with self._cond:
            self._blocked = error

    def _check_blocked(self, now: datetime) -> None:
        err = self._blocked
        if err is None:
            return
        reset_at = getattr(err, "reset_at", None)
        if reset_at is not None and now >= reset_at:
            self._blocked = None
            return
        raise err

    def acquire(self, now: WallClock = utc_now) -> None:
        while True:
            with self._cond:
                self._check_blocked(now())
                t = self._clock()
                while self._window and self._window[0] <= t - self.WINDOW:
                    self._window.popleft()
                if self._in_flight >= self.limits.concurrent:
                    self._cond.wait(timeout=1.0)
                    continue
                if len(self._window) < self.limits.per_minute:
                    self._window.append(t)
                    self._in_flight += 1
                    return
                wait = self._window[0] + self.WINDOW - t
            self._sleep(max(wait, 0.001))

    def release(self) -> None:
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify()

    @contextmanager
    def slot(self, now: WallClock = utc_now) -> Iterator[None]:
        self.acquire(now)
        try:
            yield
        finally:
            self.release()


class RateLimiterRegistry:
    """One limiter per (system, company id), shared by every client in the process."""

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._limiters: dict[tuple[str, str], RateLimiter] = {}

    def get(self, system: AccountingSystem, company_id: str, limits: RateLimits) -> RateLimiter:
        key = (str(system), company_id)
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = RateLimiter(limits, clock=self._clock, sleep=self._sleep)
                self._limiters[key] = limiter
            return limiter


DEFAULT_LIMITERS = RateLimiterRegistry()


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Round up so we never send before the advertised instant.
    return max(0.0, math.ceil((when - now).total_seconds()))


def connector_error(
    system: AccountingSystem,
    category: ErrorCategory,
    message: str,
    *,
    http_status: int | None = None,
    code: str | None = None,
    field: str | None = None,
    retryable: bool | None = None,
    retry_after: float | None = None,
    reset_at: datetime | None = None,
) -> AccountingError:
    """An AccountingError raised by us rather than parsed from a provider body (timeouts, stale checks).

    `retryable=None` lets the error derive it from the category.
    """
    return AccountingError(
        system,
        category,
        message,
        http_status=http_status,
        code=code,
        field=field,
        retryable=retryable,
        retry_after=retry_after,
        reset_at=reset_at,
    )


def read_json(system: AccountingSystem, response: requests.Response) -> Any:
    """Body as JSON with decimals kept exact; a malformed body is a provider fault, not a crash."""
    if not response.content:
        return {}
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise connector_error(
            system,
            ErrorCategory.PROVIDER_UNAVAILABLE,
            f"Malformed JSON from provider (HTTP {response.status_code})",
            http_status=response.status_code,
            retryable=True,
        ) from exc


_REQUEST_ID_HEADERS = ("intuit_tid", "Xero-Correlation-Id")


def _provider_request_id(response: requests.Response | None) -> str | None:
    if response is None:
        return None
    for name in _REQUEST_ID_HEADERS:
        if name in response.headers:
            return response.headers[name]
    return None


class ProviderHttp:
    """Outbound HTTP for one connection (system + company). Adapters build URLs and bodies; this sends them."""

    def __init__(
        self,
        system: AccountingSystem,
        *,
        session: requests.Session | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        limits: RateLimits | None = None,
        company_id: str | None = None,
        credentials: CredentialsProvider | None = None,
        limiters: RateLimiterRegistry | None = None,
        sleep: Sleep = time.sleep,
        random: Random = _random.random,
        now: WallClock = utc_now,
    ) -> None:
        self.system = system
        self.session = session or requests.Session()
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.limits = limits or (QBO_LIMITS if system == AccountingSystem.QUICKBOOKS_ONLINE else XERO_LIMITS)
        self.company_id = company_id
        self.credentials = credentials
        self._limiters = limiters or DEFAULT_LIMITERS
        self._sleep = sleep
        self._random = random
        self._now = now

    # -- public API ----------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Any = None,
        bearer: bool = True,
        basic_auth: tuple[str, str] | None = None,
        replay_safe: bool | None = None,
        expect_statuses: tuple[int, ...] = (),
    ) -> requests.Response:
        """Send with the full policy. Returns a 2xx response (or one in `expect_statuses`); raises AccountingError.

        `replay_safe`: may the request be re-sent after an ambiguous failure (timeout after sending, connection
        reset, 5xx)? Default: True for GET/HEAD, False otherwise. Writes pass True only when they carry an
        idempotency key (QBO `requestid`, Xero `Idempotency-Key`), which is re-sent unchanged.
        """
        method = method.upper()
        if replay_safe is None:
            replay_safe = method in ("GET", "HEAD")
        limiter = self._limiter() if bearer else None
        failures = 0
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            send_headers = {"Accept": "application/json", **(headers or {})}
            token: str | None = None
            if bearer:
                token = self._access_token()
                send_headers["Authorization"] = f"Bearer {token}"
            try:
                if limiter is not None:
                    with limiter.slot(self._now):
                        response = self._send(method, url, params, send_headers, json_body, data, basic_auth)
                else:
                    response = self._send(method, url, params, send_headers, json_body, data, basic_auth)
            except requests.exceptions.ConnectTimeout as exc:
                # Never reached the provider: always safe to re-send.
                failures += 1
                self._log_failure(method, url, attempt, None, exc)
                if attempt < self.retry.max_attempts:
                    self._sleep(self.retry.backoff(failures - 1, self._random))
                    continue
                raise self._unavailable(f"Connection to the provider timed out: {type(exc).__name__}") from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                # Possibly processed (e.g. the response was lost after commit): only replay with an idempotency key.
                failures += 1
                self._log_failure(method, url, attempt, None, exc)
                if replay_safe and attempt < self.retry.max_attempts:
                    self._sleep(self.retry.backoff(failures - 1, self._random))
                    continue
                raise self._unavailable(f"No response from the provider: {type(exc).__name__}") from exc

            status = response.status_code
            if 200 <= status < 300 or status in expect_statuses:
                self._log_ok(method, url, attempt, response)
                return response

            self._log_failure(method, url, attempt, response, None)
            if status == 401 and bearer and not refreshed and self.credentials is not None:
                # One forced refresh, then one retry; a second 401 is authentication_failed.
                refreshed = True
                try:
                    self.credentials.force_refresh(token)
                except AccountingError as refresh_error:
                    if refresh_error.needs_reauth:
                        # The user's action was refused with this 401: report the provider's own words for it
                        # (the FAQ's "Authentication Failed, status code 401"), the dead grant as its cause.
                        raise self._parse(response) from refresh_error
                    raise
                attempt -= 1  # the auth retry does not spend a retry attempt
                continue

            error = self._parse(response)
            if status == 429:
                wait = self._throttle_wait(error, response)
                if wait is None or attempt >= self.retry.max_attempts:
                    raise error
                self._sleep(wait)
                failures += 1
                continue
            if status >= 500 or status == 408:
                failures += 1
                if replay_safe and attempt < self.retry.max_attempts:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"), self._now())
                    backoff = self.retry.backoff(failures - 1, self._random)
                    if retry_after is not None and retry_after > self.retry.max_retry_after:
                        raise error
                    self._sleep(max(backoff, retry_after or 0.0))
                    continue
                raise error
            # 3xx (redirects are not followed) and 4xx: the provider rejected it; never retried.
            raise error

    # -- internals ---------------------------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
        json_body: Any,
        data: Any,
        basic_auth: tuple[str, str] | None,
    ) -> requests.Response:
        return self.session.request(
            method,
            url,
            params=params,
            headers=headers,
            json=json_body,
            data=data,
            auth=basic_auth,
            timeout=self.timeouts.as_tuple(),
            allow_redirects=False,
        )

    def _limiter(self) -> RateLimiter:
        return self._limiters.get(self.system, self.company_id or "-", self.limits)

    def _access_token(self) -> str:
        if self.credentials is None:
            raise RuntimeError("connector has no credentials provider; bind one before data calls")
        return self.credentials.access_token()

    def _parse(self, response: requests.Response) -> AccountingError:
        return parse_accounting_error(
            self.system, response.status_code, dict(response.headers), response.content, now=self._now()
        )

    def _unavailable(self, message: str) -> AccountingError:
        return connector_error(self.system, ErrorCategory.PROVIDER_UNAVAILABLE, message, code="timeout", retryable=True)

    def _throttle_wait(self, error: AccountingError, response: requests.Response) -> float | None:
        """Seconds to wait before re-sending after a 429, or None to give the error back to the caller."""
        now = self._now()
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        problem = response.headers.get("X-Rate-Limit-Problem", "").strip().lower()
        if error.category == ErrorCategory.DAILY_LIMIT_REACHED or problem == "day":
            if getattr(error, "reset_at", None) is None and retry_after is not None:
                error.reset_at = now + timedelta(seconds=retry_after)
            if getattr(error, "retry_after", None) is None:
                error.retry_after = retry_after
            error.retryable = False
            self._limiter().block(error)
            return None
        wait = retry_after if retry_after is not None else self.retry.throttle_default_wait
        if wait > self.retry.max_retry_after:
            if getattr(error, "retry_after", None) is None:
                error.retry_after = wait
            return None
        # Small positive jitter spreads a herd of throttled workers; never earlier than Retry-After.
        return wait + self._random() * self.retry.base_delay

    def _log_ok(self, method: str, url: str, attempt: int, response: requests.Response) -> None:
        logger.debug(
            "provider call",
            extra={
                "system": str(self.system),
                "method": method,
                "path": urlsplit(url).path,
                "status": response.status_code,
                "attempt": attempt,
                "provider_request_id": _provider_request_id(response),
            },
        )

    def _log_failure(
        self, method: str, url: str, attempt: int, response: requests.Response | None, exc: Exception | None
    ) -> None:
        logger.warning(
            "provider call failed",
            extra={
                "system": str(self.system),
                "method": method,
                "path": urlsplit(url).path,
                "status": response.status_code if response is not None else None,
                "error_type": type(exc).__name__ if exc is not None else None,
                "attempt": attempt,
                "provider_request_id": _provider_request_id(response),
            },
        )
