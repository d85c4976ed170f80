"""Regenerates events/*.json with `sam local generate-event`, then adds what the deployed event source
adds on top: the Cognito authorizer's claims on API routes. Run: `make events`."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"
SAM = Path(__file__).resolve().parent.parent / ".tools" / "sam" / "bin" / "sam"
CLAIMS = {
    "sub": "7d8b6f1e-0000-4000-8000-000000000001",
    "email": "ar.manager@example.com",
    "email_verified": "true",
    "custom:tenant_id": "tenant-events",
    "cognito:username": "ar.manager@example.com",
    "token_use": "id",
}

API_EVENTS: dict[str, dict[str, Any]] = {
    "create_customer": {
        "method": "POST",
        "resource": "/customers",
        "path": "/customers",
        "body": {"display_name": "Harbour Freight Co", "email": "ap@harbourfreight.example"},
    },
    "update_customer": {
        "method": "PATCH",
        "resource": "/customers/{customer_id}",
        "path": "/customers/cus_0123456789abcdef0123",
        "path_parameters": {"customer_id": "cus_0123456789abcdef0123"},
        "body": {"version": 1, "phone": "+1 415 555 0100"},
    },
    "customers": {"method": "GET", "resource": "/customers", "path": "/customers", "query": {"archived": "all"}},
    "account": {"method": "GET", "resource": "/settings", "path": "/settings"},
    "api_docs": {"method": "GET", "resource": "/openapi.json", "path": "/openapi.json", "authorized": False},
    "resync": {
        "method": "POST",
        "resource": "/customers/{customer_id}/resync",
        "path": "/customers/cus_0123456789abcdef0123/resync",
        "path_parameters": {"customer_id": "cus_0123456789abcdef0123"},
    },
    "webhooks": {
        "method": "POST",
        "resource": "/webhooks/xero",
        "path": "/webhooks/xero",
        "authorized": False,
        "body": {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "S0m3r4Nd0mt3xt"},
        "headers": {"x-xero-signature": "computed-by-the-test"},
    },
}
SCHEDULED_EVENTS = ("health_scoring",)


def _sam(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [str(SAM), "local", "generate-event", *args],
        check=True,
        capture_output=True,
        text=True,
        env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin"},
    ).stdout
    return dict(json.loads(output))


def api_event(spec: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(spec["body"]) if "body" in spec else ""
    event = _sam(
        "apigateway",
        "aws-proxy",
        "--method",
        spec["method"],
        "--path",
        spec["path"].lstrip("/"),
        "--resource",
        spec["resource"],
        "--body",
        body,
    )
    if body:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body.encode()).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = None, False
    event["path"] = spec["path"]
    event["pathParameters"] = spec.get("path_parameters")
    event["queryStringParameters"] = spec.get("query")
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in spec["query"].items()} if "query" in spec else None
    for name, value in spec.get("headers", {}).items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    event["requestContext"]["resourcePath"] = spec["resource"]
    event["requestContext"]["httpMethod"] = spec["method"]
    if spec.get("authorized", True):
        event["requestContext"]["authorizer"] = {"claims": CLAIMS}
    return event


def main() -> None:
    EVENTS.mkdir(exist_ok=True)
    for name, spec in API_EVENTS.items():
        (EVENTS / f"{name}.json").write_text(json.dumps(api_event(spec), indent=2) + "\n")
    for name in SCHEDULED_EVENTS:
        event = _sam("cloudwatch", "scheduled-event")
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
