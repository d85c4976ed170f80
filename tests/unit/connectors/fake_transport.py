"""A scripted `requests` transport: mount it on a Session and the adapters run without a network."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)


Script = Reply | Exception | Callable[[requests.PreparedRequest], "Reply | Exception"]


@dataclass
class Sent:
    method: str
    url: str
    headers: CaseInsensitiveDict[str]
    body: bytes | None
    kwargs: dict[str, Any]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def text(self) -> str:
        return (self.body or b"").decode()


class FakeTransport(BaseAdapter):
    """Replies from a script, in order; a callable script item decides from the request."""

    def __init__(self, *script: Script, default: Script | None = None) -> None:
        super().__init__()
        self.script: list[Script] = list(script)
        self.default = default
        self.sent: list[Sent] = []

    def add(self, *items: Script) -> None:
        self.script.extend(items)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body.encode() if isinstance(request.body, str) else request.body
        self.sent.append(
            Sent(request.method or "", request.url or "", CaseInsensitiveDict(request.headers), body, kwargs)
        )
        if self.script:
            item = self.script.pop(0)
        elif self.default is not None:
            item = self.default
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if callable(item) and not isinstance(item, Reply | Exception):
            item = item(request)
        if isinstance(item, Exception):
            raise item
        return _response(request, item)

    def close(self) -> None:
        pass


def _response(request: requests.PreparedRequest, reply: Reply) -> requests.Response:
    response = requests.Response()
    response.status_code = reply.status
    if isinstance(reply.body, dict | list):
        content = json.dumps(reply.body).encode()
        headers = {"Content-Type": "application/json", **reply.headers}
    elif isinstance(reply.body, str):
        content, headers = reply.body.encode(), dict(reply.headers)
    else:
        content, headers = reply.body or b"", dict(reply.headers)
    response._content = content
    response.headers = CaseInsensitiveDict(headers)
    response.url = request.url or ""
    response.request = request
    response.encoding = "utf-8"
    return response


def session_with(transport: FakeTransport) -> requests.Session:
    session = requests.Session()
    session.mount("https://", transport)
    session.mount("http://", transport)
    return session


class FakeCredentials:
    """CredentialsProvider fake: hands out token-1, token-2, ... on each forced refresh."""

    def __init__(self) -> None:
        self.n = 1
        self.forced: list[str | None] = []

    def access_token(self) -> str:
        return f"token-{self.n}"

    def force_refresh(self, rejected_token: str | None = None) -> str:
        self.forced.append(rejected_token)
        self.n += 1
        return self.access_token()
