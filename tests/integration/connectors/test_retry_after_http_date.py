"""F5 - Retry-After as an HTTP-date, end to end: the emulator's 429 carries an absolute instant, and the real
connector sends nothing to that provider before it (measured on the wire, 0 s early tolerated)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, cast

import requests
from requests.adapters import BaseAdapter

from arsync.connectors.adapter import OAuthHttpAdapter
from local.emulators.common import http_date
from tests.integration.connectors.conftest import Env


class SendTimes(BaseAdapter):
    """Wraps the session's adapter and notes when each request left and what came back."""

    def __init__(self, inner: BaseAdapter) -> None:
        super().__init__()
        self.inner = inner
        self.sent: list[tuple[float, int, str | None]] = []  # (wall clock at send, status, Retry-After)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        at = time.time()
        response = self.inner.send(request, *args, **kwargs)
        self.sent.append((at, response.status_code, response.headers.get("Retry-After")))
        return response

    def close(self) -> None:
        self.inner.close()


def test_no_request_before_an_http_date_retry_after(env: Env) -> None:
    session = cast(OAuthHttpAdapter, env.connector).http.session
    recorder = SendTimes(session.get_adapter("http://"))
    session.mount("http://", recorder)
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    # The first request of a full customer read: QBO's query (or batch), Xero's GET /Contacts.
    path = r"/(batch|query)$" if env.system == "quickbooks_online" else r"/Contacts$"
    rule = {"match": {"path": path}, "action": "rate_limit", "times": 1}
    rule.update({"retry_after": http_date(until), "problem": "minute"})
    env.admin.call("POST", "faults", {"rules": [rule]})

    env.connector.list_customers(include_inactive=False)

    throttled = [i for i, (_, status, _) in enumerate(recorder.sent) if status == 429]
    assert len(throttled) == 1, recorder.sent
    _, _, header = recorder.sent[throttled[0]]
    assert header is not None and parsedate_to_datetime(header) == until  # the date went over the wire
    after = recorder.sent[throttled[0] + 1 :]
    assert after and after[0][1] == 200
    assert min(at for at, _, _ in after) >= until.timestamp()  # nothing sent before the advertised instant
