"""S4 - secret hygiene: a representative flow with every log line, response body and queue message kept,
then an exact-value search for every secret the flow handled.

Flow, for QuickBooks Online and Xero: OAuth connect, create customers (pushed), a duplicate name refused by
the provider, a provider 401 that forces a token refresh (rotation), revoked tokens (401, refresh refused,
needs_reauth), reconnect, signed and forged webhooks, reads, Sync now, disconnect. Secrets searched for:
every access and refresh token and authorization code the emulators issued (harvested from their state
after every step, so rotated-away tokens are included), the tokens in Secrets Manager, the OAuth client
secrets, the webhook keys, the OAuth state signing key and the bearer tokens the app clients sent.
Places searched: every response body, every log record (caplog at DEBUG, all loggers), the Powertools JSON
lines (a handler on the `arsync` logger at DEBUG, plus stdout/stderr via capsys), the SQS queue and DLQ,
and the whole DynamoDB table (tokens at rest live only in Secrets Manager).
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from arsync.observability import logger as app_logger
from arsync.services.webhooks import signature
from local.stack import QBO_CLIENT, QBO_WEBHOOK_VERIFIER, XERO_CLIENT, XERO_WEBHOOK_KEY, LocalStack
from tests.integration.faq.conftest import ConnectedApi
from tests.integration.reliability.conftest import ours
from tests.integration.reliability.test_webhooks_http import HEADERS, KEYS, Queue, notification

pytestmark = pytest.mark.integration

BEARER = re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{16,}")
APP_LOGGERS = ("arsync", "local")  # the layer's Powertools logger and the local gateway
MIN_SECRET_LENGTH = 12  # shorter values could match by accident


class Evidence:
    """Everything the flow exposed, and every secret it handled."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.bodies: list[str] = []
        self.secrets: dict[str, str] = {  # value -> what it is
            QBO_CLIENT[1]: "QBO client secret",
            XERO_CLIENT[1]: "Xero client secret",
            QBO_WEBHOOK_VERIFIER: "QBO webhook verifier",
            XERO_WEBHOOK_KEY: "Xero webhook key",
            stack.provider_environment()["OAUTH_STATE_SECRET"]: "OAuth state signing key",
        }
        self.issued_tokens = 0

    def keep(self, response: requests.Response) -> requests.Response:
        self.bodies.append(response.text)
        self.bodies.append(json.dumps(dict(response.headers)))
        return response

    def harvest(self) -> None:
        """Every token and code the emulators know now (they drop some on rotation, so call it often)."""
        qbo, xero = self.stack.qbo.state, self.stack.xero.state
        for kind, values in (
            ("QBO access token", qbo.access),
            ("QBO refresh token", qbo.refresh),
            ("QBO authorization code", qbo.codes),
            ("Xero access token", xero.access_tokens),
            ("Xero refresh token", xero.refresh_tokens),
            ("Xero authorization code", xero.auth_codes),
        ):
            for value in list(values):
                if value not in self.secrets:
                    self.secrets[value] = kind
                    self.issued_tokens += kind.endswith("token")


@pytest.fixture
def evidence(stack: LocalStack) -> Evidence:
    return Evidence(stack)


@pytest.fixture
def powertools_lines() -> Iterator[io.StringIO]:
    """The JSON lines the Powertools logger writes, at DEBUG, formatted exactly as in Lambda."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(app_logger.registered_formatter)
    previous = app_logger.log_level
    app_logger.addHandler(handler)
    app_logger.setLevel(logging.DEBUG)
    yield stream
    app_logger._logger.removeHandler(handler)
    app_logger.setLevel(previous)


def _aws(stack: LocalStack, service: str) -> Any:
    assert stack.resources is not None
    return boto3.client(
        service,
        endpoint_url=stack.resources.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _fault(api: ConnectedApi, rule: dict[str, Any] | None) -> None:
    if rule is None:
        api.admin("DELETE", "/faults")
    else:
        api.admin("POST", "/faults", json={"rules": [rule]})


def _run_flow(stack: LocalStack, evidence: Evidence, system: str) -> ConnectedApi:
    api = ConnectedApi(stack, system)
    ours(api.tenant_id)
    evidence.secrets[str(api.session.headers["Authorization"]).removeprefix("Bearer ")] = "app bearer token"
    keep, harvest = evidence.keep, evidence.harvest

    authorize = keep(api.post(f"/connection/{system}/authorize"))
    consent = requests.get(
        authorize.json()["authorization_url"], params={"company": api.company_id}, allow_redirects=False, timeout=30
    )
    harvest()  # the authorization code is in the redirect
    callback = keep(requests.get(consent.headers["Location"], timeout=60))
    assert callback.status_code == 200, callback.text
    harvest()

    keep(api.post("/customers", json={"display_name": f"Hygiene {uuid.uuid4().hex[:8]}", "email": "h@example.com"}))
    duplicate = keep(api.post("/customers", json={"display_name": "Acme Supplies"}))
    assert duplicate.status_code == 409, duplicate.text  # the sandbox already has it
    harvest()

    # A provider 401 on the next write: the connector refreshes (rotating the refresh token) and retries.
    _fault(api, {"match": {"method": "POST"}, "action": "status", "status": 401, "times": 1})
    refreshed = keep(api.post("/customers", json={"display_name": f"After Refresh {uuid.uuid4().hex[:8]}"}))
    _fault(api, None)
    harvest()
    assert refreshed.status_code == 201, refreshed.text

    # Revoked grant: 401, refresh refused (invalid_grant), needs_reauth; then reconnect.
    api.admin("POST", "/tokens/revoke", json={"company_id": api.company_id})
    revoked = keep(api.post("/customers", json={"display_name": f"Revoked {uuid.uuid4().hex[:8]}"}))
    assert revoked.status_code == 409 and revoked.json()["code"] == "authentication_failed", revoked.text
    keep(api.get("/connection"))
    harvest()
    api.connect()
    harvest()

    body = notification(system, api.company_id)
    for sig in (signature(KEYS[system], body), signature("wrong-key", body), None):
        headers = {"Content-Type": "application/json"} | ({HEADERS[system]: sig} if sig else {})
        keep(requests.post(f"{stack.api_url}/webhooks/{system}", data=body, headers=headers, timeout=30))

    for path in ("/customers", "/connection", "/sync/runs", "/settings"):
        keep(api.get(path))
    keep(api.post("/sync"))
    keep(api.get("/customers", params={"cursor": "forged-cursor"}))
    harvest()
    return api


def _search(haystacks: dict[str, str], secrets: dict[str, str]) -> list[str]:
    found = []
    for where, text in haystacks.items():
        for value, kind in secrets.items():
            if len(value) >= MIN_SECRET_LENGTH and value in text:
                found.append(f"{kind} in {where}")
        for match in BEARER.findall(text):
            found.append(f"Authorization header value {match[:14]}... in {where}")
    return found


def test_no_secret_reaches_logs_responses_queues_or_the_table(
    stack: LocalStack,
    evidence: Evidence,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    powertools_lines: io.StringIO,
) -> None:
    caplog.set_level(logging.DEBUG)  # root: every logger, including boto, urllib3, werkzeug, the gateway
    tenants = [_run_flow(stack, evidence, system) for system in ("quickbooks_online", "xero")]

    secretsmanager = _aws(stack, "secretsmanager")
    at_rest = []
    for api in tenants:
        for secret in secretsmanager.list_secrets()["SecretList"]:
            if secret["Name"].endswith(api.tenant_id):
                payload = json.loads(secretsmanager.get_secret_value(SecretId=secret["ARN"])["SecretString"])
                at_rest.append(payload)
                for key in ("access_token", "refresh_token"):
                    evidence.secrets.setdefault(str(payload["tokens"][key]), f"stored {key}")
    # The search is only as good as the secrets it knows: both tenants' tokens were found at rest, and
    # every one of them is also among the tokens harvested from the emulators.
    assert len(at_rest) == 2, "tokens at rest not found in Secrets Manager"
    assert all(evidence.secrets.get(str(p["tokens"]["access_token"])) != "stored access_token" for p in at_rest)
    assert evidence.issued_tokens >= 8

    queue = Queue(stack)
    assert stack.resources is not None
    messages = queue.messages_for("")  # every message, any tenant
    queue.url = stack.resources.dlq_url
    dead = queue.messages_for("")
    table = _aws(stack, "dynamodb").scan(TableName=stack.resources.table_name)["Items"]
    captured = capsys.readouterr()

    def records(app: bool) -> dict[str, str]:
        names = {r.name for r in caplog.records if r.name.startswith(APP_LOGGERS) == app}
        return {
            f"log records of {name}": "\n".join(
                f"{r.getMessage()} {r.__dict__.get('exc_text') or ''} {r.args!r}"
                for r in caplog.records
                if r.name == name
            )
            for name in names
        }

    app_side = {
        "responses": "\n".join(evidence.bodies),
        **records(app=True),
        "powertools JSON logs": powertools_lines.getvalue(),
        "stdout": captured.out,
        "stderr": captured.err,
        "SQS queue": "\n".join(messages),
        "SQS DLQ": "\n".join(dead),
        "DynamoDB table": json.dumps(table),
    }
    assert caplog.records and powertools_lines.getvalue(), "nothing was logged: the capture is not working"
    assert len(evidence.bodies) > 40 and table
    assert _search(app_side, evidence.secrets) == []

    # Third-party libraries at DEBUG would log Secrets Manager bodies and URLs with the OAuth `code`:
    # arsync.observability pins them to WARNING, so even a DEBUG root logger must not leak anything.
    library = _search(records(app=False), evidence.secrets)
    assert library == [], f"secrets in third-party logs: {sorted(set(library))}"


def test_the_search_finds_a_planted_secret(stack: LocalStack, evidence: Evidence) -> None:
    # The detector itself: an exact token value and a bearer header are both reported.
    evidence.secrets["tok_" + "x" * 20] = "planted token"
    found = _search({"here": "... tok_xxxxxxxxxxxxxxxxxxxx ... Bearer abcdefghijklmnopqrstuvwxyz"}, evidence.secrets)
    assert found == ["planted token in here", "Authorization header value Bearer abcdefg... in here"]
