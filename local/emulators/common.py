"""Provider-neutral pieces of the local accounting-system emulators.

Everything here is shared machinery that a QuickBooks Online or a Xero emulator can reuse: a controllable
clock, the fault-rule engine (including the "ambiguous create" drop-after-commit), a request log that never
stores credentials, a per-company rate limiter (rolling minute, rolling day, in-flight concurrency), the
threaded loopback server runner and a blueprint with the admin endpoints whose behaviour is identical for
every provider (clock, faults, limits, request log). See ``ADMIN_API.md`` for the contract.

Nothing in this module knows a provider's wire format: bodies for throttling or injected failures are
produced by callbacks the provider module passes in.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

logger = logging.getLogger(__name__)

#: WSGI environ key a view sets to ask :class:`DropConnectionMiddleware` to close the socket unanswered.
DROP_CONNECTION_KEY = "emulator.drop_connection"

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

#: Query/form keys whose values are credentials; the request log replaces them with "***".
SENSITIVE_KEYS = frozenset(
    {
        "code",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "id_token",
        "assertion",
        "password",
    }
)


# --------------------------------------------------------------------------------------------- clock


class Clock:
    """The emulator's notion of "now": real UTC time shifted by an offset, optionally frozen.

    Token expiry, the CDC window, rate-limit windows and every timestamp the emulator writes read this clock,
    so tests can jump an hour ahead instead of sleeping. ``set`` moves the clock to an instant and lets it keep
    running from there (unless frozen), which keeps timestamps strictly increasing like a real service.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def time(self) -> float:
        """Epoch seconds of the emulator clock."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now(self) -> datetime:
        """Timezone-aware UTC datetime of the emulator clock."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def advance(self, seconds: float) -> None:
        """Jump forward (or backward for a negative value)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def set(self, when: datetime) -> None:
        """Make ``now()`` equal ``when`` (naive datetimes are taken as UTC)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        target = when.timestamp()
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._offset = target - time.time()

    def freeze(self, frozen: bool) -> None:
        """Stop (or restart) the clock at its current value; useful for exact timestamp assertions."""
        with self._lock:
            current = self._frozen_at if self._frozen_at is not None else time.time() + self._offset
            if frozen:
                self._frozen_at = current
            else:
                self._frozen_at = None
                self._offset = current - time.time()

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None

    def describe(self) -> dict[str, Any]:
        """Admin view of the clock."""
        return {
            "now": self.now().isoformat().replace("+00:00", "Z"),
            "offset_seconds": round(self.time() - time.time(), 3),
            "frozen": self._frozen_at is not None,
        }


def parse_iso_datetime(text: str) -> datetime:
    """Parse an ISO-8601 timestamp or date; ``Z`` and naive values are UTC.

    Raises ValueError on anything else, so callers can map it to their provider's validation error.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty datetime")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# --------------------------------------------------------------------------------------------- faults

FAULT_ACTIONS = frozenset({"latency", "status", "drop_after_commit", "drop_before_commit", "rate_limit", "revoke"})


@dataclass
class FaultRule:
    """One injected failure (see ADMIN_API.md "Fault rule").

    ``times`` counts down per applied match (``None`` = forever); ``probability`` draws from a per-rule
    ``random.Random(seed)`` so a failing run can be reproduced exactly.
    """

    action: str
    method: str | None = None
    path: str | None = None
    probability: float = 1.0
    times: int | None = None
    latency_ms: int = 0
    status: int = 503
    retry_after: str | None = None
    problem: str = "minute"
    seed: int | None = None
    company_id: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    applied: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _path_re: re.Pattern[str] | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FaultRule:
        """Validate and build a rule from the admin JSON shape; raises ValueError with a readable reason."""
        action = str(raw.get("action", ""))
        if action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault action {action!r}; expected one of {sorted(FAULT_ACTIONS)}")
        match = raw.get("match") or {}
        if not isinstance(match, dict):
            raise ValueError("match must be an object")
        retry_after = raw.get("retry_after")
        times = raw.get("times")
        seed = raw.get("seed")
        headers = raw.get("headers") or {}
        rule = cls(
            action=action,
            method=str(match["method"]).upper() if match.get("method") else None,
            path=str(match["path"]) if match.get("path") else None,
            probability=float(raw.get("probability", 1.0)),
            times=int(times) if times is not None else None,
            latency_ms=int(raw.get("latency_ms", 0) or 0),
            status=int(raw.get("status", 503) or 503),
            retry_after=str(retry_after) if retry_after is not None else None,
            problem=str(raw.get("problem", "minute") or "minute"),
            seed=int(seed) if seed is not None else None,
            company_id=str(match["company_id"]) if match.get("company_id") else None,
            body=raw.get("body"),
            headers={str(k): str(v) for k, v in dict(headers).items()},
        )
        rule._rng = random.Random(rule.seed)
        rule._path_re = re.compile(rule.path) if rule.path else None
        return rule

    def matches(self, method: str, path: str, company_id: str | None) -> bool:
        """Whether the request is in scope (before the probability draw and ``times`` budget)."""
        if self.method and self.method != method.upper():
            return False
        if self.company_id and self.company_id != company_id:
            return False
        return not (self._path_re is not None and not self._path_re.search(path))

    def to_json(self) -> dict[str, Any]:
        """Admin view."""
        return {
            "action": self.action,
            "match": {"method": self.method, "path": self.path, "company_id": self.company_id},
            "probability": self.probability,
            "times": self.times,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "retry_after": self.retry_after,
            "problem": self.problem,
            "seed": self.seed,
            "applied": self.applied,
        }


class FaultEngine:
    """Ordered fault rules; the first rule that matches and wins its probability draw applies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def set_rules(self, rules: Iterable[FaultRule], *, append: bool = True) -> None:
        """Install rules (appended by default so several admin calls can build a scenario)."""
        with self._lock:
            if not append:
                self._rules = []
            self._rules.extend(rules)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules = []

    def rules(self) -> list[FaultRule]:
        """Snapshot of the installed rules."""
        with self._lock:
            return list(self._rules)

    def pick(self, method: str, path: str, company_id: str | None) -> FaultRule | None:
        """Return the rule to apply to this request, consuming one of its ``times``; None if no fault."""
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.times <= 0:
                    continue
                if not rule.matches(method, path, company_id):
                    continue
                if rule.probability < 1.0 and rule._rng.random() >= rule.probability:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                rule.applied += 1
                return rule
        return None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Interpret a Retry-After value (delta-seconds or HTTP-date) relative to ``now``; None if absent."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# --------------------------------------------------------------------------------------------- drop


def request_connection_drop() -> None:
    """Ask the middleware to close this request's TCP connection without sending the response.

    Call it from a Flask view; the view's work (the "commit") has already happened or not, depending on
    where it is called. The response the view returns is discarded.
    """
    request.environ[DROP_CONNECTION_KEY] = True


class DropConnectionMiddleware:
    """WSGI middleware that turns :func:`request_connection_drop` into a real half-open failure.

    It runs outside Flask so Flask's error handling cannot turn the drop into a 500: after the inner app has
    fully run (commit done, after-request hooks released their resources), it shuts the socket down and
    raises ``ConnectionAbortedError``, which werkzeug's server treats as a dropped client and swallows. The
    client sees the connection close with no status line (``requests`` raises ``ConnectionError``).
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        captured: list[Any] = []

        def _capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            if environ.get(DROP_CONNECTION_KEY):
                captured.append(status)
                return lambda _data: None
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.app(environ, _capture)
        if not environ.get(DROP_CONNECTION_KEY):
            return result
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("socket already closed while dropping connection")
        raise ConnectionAbortedError("emulator fault: connection dropped on purpose")


# --------------------------------------------------------------------------------------------- request log


def scrub_query(query_string: str) -> str:
    """Return the query string with credential-like parameters masked (tokens never reach the log)."""
    if not query_string:
        return ""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode([(k, "***" if k.lower() in SENSITIVE_KEYS else v) for k, v in pairs])


def rule_to_template(rule: str) -> str:
    """Flask rule ``/v3/company/<realm>/customer/<entity_id>`` → ``/v3/company/{realm}/customer/{entity_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


class RequestLog:
    """Thread-safe log of provider-API requests with per-endpoint counts.

    Entries are bounded (oldest dropped) so a long benchmark does not grow memory without limit; ``total``
    and ``by_endpoint`` keep counting everything since the last clear.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._by_endpoint: dict[str, int] = {}
        self._total = 0

    def record(self, entry: dict[str, Any], endpoint: str) -> None:
        """Append one entry (callers must already have scrubbed credentials)."""
        with self._lock:
            self._entries.append(entry)
            self._by_endpoint[endpoint] = self._by_endpoint.get(endpoint, 0) + 1
            self._total += 1

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._by_endpoint = {}
            self._total = 0

    def snapshot(self, limit: int | None = None) -> dict[str, Any]:
        """The admin JSON shape: total, by_endpoint and the (most recent ``limit``) entries."""
        with self._lock:
            entries = list(self._entries)
            if limit is not None:
                entries = entries[-limit:] if limit > 0 else []
            return {"total": self._total, "by_endpoint": dict(self._by_endpoint), "entries": entries}


# --------------------------------------------------------------------------------------------- rate limits


@dataclass
class Limits:
    """Per-company request limits; ``None`` disables a limit."""

    per_minute: int | None = None
    concurrent: int | None = None
    per_day: int | None = None

    def to_json(self) -> dict[str, int | None]:
        """Admin view."""
        return {"per_minute": self.per_minute, "concurrent": self.concurrent, "per_day": self.per_day}


class _Bucket:
    __slots__ = ("day", "in_flight", "minute")

    def __init__(self) -> None:
        self.minute: deque[float] = deque()
        self.day: deque[float] = deque()
        self.in_flight = 0


class RateLimiter:
    """Rolling-window and concurrency limiter keyed by company.

    Windows are measured on the emulator :class:`Clock`, so ``advance_seconds: 60`` frees the minute budget.
    Rejected requests are not counted against the windows (a client that waits out the window recovers its
    full budget); whether the real providers count them is unknown.
    """

    def __init__(self, clock: Clock, defaults: Limits) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._defaults = Limits(defaults.per_minute, defaults.concurrent, defaults.per_day)
        self.default_limits = Limits(defaults.per_minute, defaults.concurrent, defaults.per_day)
        self._overrides: dict[str, Limits] = {}
        self._buckets: dict[str, _Bucket] = {}

    def limits_for(self, key: str) -> Limits:
        """Effective limits of one company."""
        return self._overrides.get(key, self.default_limits)

    def configure(self, raw: dict[str, Any], key: str | None = None) -> Limits:
        """Apply an admin ``/_admin/limits`` body to the defaults or to one company; returns the result."""
        with self._lock:
            base = self.limits_for(key) if key else self.default_limits
            updated = Limits(base.per_minute, base.concurrent, base.per_day)
            for name in ("per_minute", "concurrent", "per_day"):
                if name in raw:
                    value = raw[name]
                    setattr(updated, name, int(value) if value is not None else None)
            if key:
                self._overrides[key] = updated
            else:
                self.default_limits = updated
            return updated

    def reset(self) -> None:
        """Back to construction defaults, forgetting all windows."""
        with self._lock:
            self.default_limits = Limits(self._defaults.per_minute, self._defaults.concurrent, self._defaults.per_day)
            self._overrides = {}
            self._buckets = {}

    def acquire(self, key: str) -> str | None:
        """Admit one request; returns None when admitted or the problem (``minute|day|concurrent``) when not.

        Every admitted request must be paired with :meth:`release`.
        """
        now = self._clock.time()
        limits = self.limits_for(key)
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket())
            minute, day = bucket.minute, bucket.day
            while minute and minute[0] <= now - 60.0:
                minute.popleft()
            while day and day[0] <= now - 86_400.0:
                day.popleft()
            if limits.concurrent is not None and bucket.in_flight >= limits.concurrent:
                return "concurrent"
            if limits.per_minute is not None and len(minute) >= limits.per_minute:
                return "minute"
            if limits.per_day is not None and len(day) >= limits.per_day:
                return "day"
            minute.append(now)
            if limits.per_day is not None:
                day.append(now)
            bucket.in_flight += 1
            return None

    def release(self, key: str) -> None:
        """End of an admitted request."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None and bucket.in_flight > 0:
                bucket.in_flight -= 1

    def usage(self, key: str) -> dict[str, int]:
        """Current window counts of one company (for provider rate headers and the admin view)."""
        now = self._clock.time()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return {"minute": 0, "day": 0, "in_flight": 0}
            return {
                "minute": sum(1 for t in bucket.minute if t > now - 60.0),
                "day": sum(1 for t in bucket.day if t > now - 86_400.0),
                "in_flight": bucket.in_flight,
            }


# --------------------------------------------------------------------------------------------- runtime


@dataclass
class EmulatorRuntime:
    """The provider-neutral services one emulator instance owns."""

    clock: Clock
    faults: FaultEngine
    log: RequestLog
    limiter: RateLimiter

    @classmethod
    def create(cls, limits: Limits, max_log_entries: int = 50_000) -> EmulatorRuntime:
        """Fresh runtime with real-time clock and the given default limits."""
        clock = Clock()
        return cls(
            clock=clock, faults=FaultEngine(), log=RequestLog(max_log_entries), limiter=RateLimiter(clock, limits)
        )

    def reset(self) -> None:
        """Drop faults, logs and rate windows; the clock goes back to real time."""
        self.faults.clear()
        self.log.clear()
        self.limiter.reset()
        self.clock.reset()


# --------------------------------------------------------------------------------------------- admin helpers


class AdminError(Exception):
    """Raised by admin handlers; rendered as ``{"error": message}`` with the given status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def json_object_body() -> dict[str, Any]:
    """The request's JSON object body (``{}`` when empty); AdminError 400 if it is not an object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise AdminError("body must be a JSON object")
    return payload


def make_common_admin_blueprint(runtime: EmulatorRuntime, on_revoke_company: Callable[[str], int]) -> Blueprint:
    """Admin endpoints that behave the same for every provider: clock, faults, limits, request log, revoke.

    ``on_revoke_company`` revokes every token of a company and returns how many grants it revoked.
    """
    bp = Blueprint("common_admin", __name__, url_prefix="/_admin")

    @bp.errorhandler(AdminError)
    def _admin_error(exc: AdminError) -> tuple[Response, int]:
        return jsonify({"error": exc.message}), exc.status

    @bp.get("/clock")
    def get_clock() -> Response:
        return jsonify(runtime.clock.describe())

    @bp.post("/clock")
    def set_clock() -> Response:
        body = json_object_body()
        if "set" in body:
            try:
                runtime.clock.set(parse_iso_datetime(str(body["set"])))
            except ValueError as exc:
                raise AdminError(f"invalid 'set' datetime: {exc}") from exc
        if "advance_seconds" in body:
            runtime.clock.advance(float(body["advance_seconds"]))
        if "freeze" in body:
            runtime.clock.freeze(bool(body["freeze"]))
        if body.get("reset"):
            runtime.clock.reset()
        return jsonify(runtime.clock.describe())

    @bp.get("/faults")
    def list_faults() -> Response:
        return jsonify({"rules": [r.to_json() for r in runtime.faults.rules()]})

    @bp.post("/faults")
    def add_faults() -> Response:
        body = json_object_body()
        raw_rules = body.get("rules")
        if raw_rules is None and "action" in body:
            raw_rules = [body]
        if not isinstance(raw_rules, list):
            raise AdminError("expected {'rules': [...]}")
        try:
            rules = [FaultRule.from_json(r) for r in raw_rules]
        except (ValueError, TypeError, re.error) as exc:
            raise AdminError(str(exc)) from exc
        runtime.faults.set_rules(rules, append=not body.get("replace", False))
        return jsonify({"rules": [r.to_json() for r in runtime.faults.rules()]})

    @bp.delete("/faults")
    def clear_faults() -> Response:
        runtime.faults.clear()
        return jsonify({"rules": []})

    @bp.get("/limits")
    def get_limits() -> Response:
        return jsonify(runtime.limiter.default_limits.to_json())

    @bp.post("/limits")
    def set_limits() -> Response:
        body = json_object_body()
        key = body.get("company_id")
        try:
            limits = runtime.limiter.configure(body, str(key) if key else None)
        except (TypeError, ValueError) as exc:
            raise AdminError(str(exc)) from exc
        return jsonify(limits.to_json())

    @bp.get("/requests")
    def get_requests() -> Response:
        limit = request.args.get("limit")
        return jsonify(runtime.log.snapshot(int(limit) if limit else None))

    @bp.delete("/requests")
    def clear_requests() -> Response:
        runtime.log.clear()
        return jsonify({"total": 0, "by_endpoint": {}, "entries": []})

    @bp.post("/tokens/revoke")
    def revoke_tokens() -> Response:
        body = json_object_body()
        company_id = body.get("company_id")
        if not company_id:
            raise AdminError("company_id is required")
        return jsonify({"company_id": str(company_id), "revoked": on_revoke_company(str(company_id))})

    return bp


# --------------------------------------------------------------------------------------------- server


@dataclass
class RunningEmulator:
    """A server running in a daemon thread; ``state`` is the provider's in-memory model (for tests)."""

    base_url: str
    state: Any
    app: Flask
    _server: BaseWSGIServer
    _thread: threading.Thread

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        return int(self._server.server_port)

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without the per-request access line (the emulator keeps its own request log)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Suppress access logging."""


def check_loopback(host: str) -> None:
    """Refuse to listen anywhere but loopback: the emulators have no authentication on /_admin."""
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"emulators only listen on loopback, not {host!r}")


def serve_app_in_thread(
    app: Flask, state: Any, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True
) -> RunningEmulator:
    """Serve a Flask app threaded on loopback in a daemon thread (``port=0`` picks a free port)."""
    check_loopback(host)
    handler = QuietRequestHandler if quiet else WSGIRequestHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, name=f"emulator-{server.server_port}", daemon=True)
    thread.start()
    shown_host = f"[{host}]" if ":" in host else host
    return RunningEmulator(
        base_url=f"http://{shown_host}:{server.server_port}", state=state, app=app, _server=server, _thread=thread
    )


def serve_forever(app: Flask, host: str, port: int) -> None:
    """Foreground server for ``python -m local.emulators.<name>``."""
    check_loopback(host)
    server = make_server(host, port, app, threaded=True)
    logger.info("emulator listening on http://%s:%s", host, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("emulator stopped")
    finally:
        server.server_close()


def http_date(when: datetime) -> str:
    """RFC 7231 IMF-fixdate, e.g. for Retry-After as an HTTP-date."""
    return when.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
