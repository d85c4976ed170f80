"""Every function's handler invoked with its events/<name>.json, as `sam local invoke -e` would."""

from __future__ import annotations

import base64
import importlib
import json
from typing import Any

import pytest

from local.lambda_context import LocalLambdaContext
from local.stack import LocalStack
from local.template import functions
from tests.conftest import EVENTS_DIR, load_event

pytestmark = pytest.mark.integration


def invoke(module: str, event: dict[str, Any]) -> dict[str, Any]:
    handler = importlib.import_module(module).lambda_handler
    result: dict[str, Any] = handler(event, LocalLambdaContext(function_name=module))
    return result


def body_of(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


def test_every_function_has_an_event_file() -> None:
    names = {spec.module.split(".")[1] for spec in functions()}
    assert names <= {path.stem for path in EVENTS_DIR.glob("*.json")}


def test_create_then_update_then_read_with_event_files(stack: LocalStack) -> None:
    created = invoke("functions.create_customer.app", load_event("create_customer"))
    assert created["statusCode"] == 201
    customer = body_of(created)
    assert customer["display_name"] == "Harbour Freight Co"

    update = load_event("update_customer")
    update["pathParameters"] = {"customer_id": customer["id"]}
    update["path"] = f"/customers/{customer['id']}"
    updated = invoke("functions.update_customer.app", update)
    assert updated["statusCode"] == 200, updated["body"]
    sent = json.loads(base64.b64decode(update["body"]))
    assert body_of(updated)["phone"] == sent["phone"] and body_of(updated)["version"] == 2

    listed = invoke("functions.customers.app", load_event("customers"))
    assert customer["id"] in [c["id"] for c in body_of(listed)["items"]]


def test_account_and_docs_with_event_files(stack: LocalStack) -> None:
    settings = invoke("functions.account.app", load_event("account"))
    assert settings["statusCode"] == 200 and "import_inactive_customers" in body_of(settings)
    docs = invoke("functions.api_docs.app", load_event("api_docs"))
    assert docs["statusCode"] == 200 and body_of(docs)["info"]["title"] == "arsync API"


def test_event_without_claims_is_refused(stack: LocalStack) -> None:
    event = load_event("customers")
    del event["requestContext"]["authorizer"]
    result = invoke("functions.customers.app", event)
    assert result["statusCode"] == 401 and body_of(result)["code"] == "unauthenticated"


def test_resync_event_on_an_unconnected_account_explains_why(stack: LocalStack) -> None:
    created = body_of(invoke("functions.create_customer.app", load_event("create_customer")))
    event = load_event("resync")
    event["pathParameters"] = {"customer_id": created["id"]}
    event["path"] = f"/customers/{created['id']}/resync"
    result = invoke("functions.resync.app", event)
    assert result["statusCode"] == 409 and body_of(result)["code"] == "not_connected"


def test_webhook_event_is_verified_on_the_raw_body(stack: LocalStack) -> None:
    from arsync.services.webhooks import signature
    from local.stack import XERO_WEBHOOK_KEY

    event = load_event("webhooks")
    raw = base64.b64decode(event["body"])
    event["headers"]["x-xero-signature"] = signature(XERO_WEBHOOK_KEY, raw)
    assert invoke("functions.webhooks.app", event)["statusCode"] == 200
    event["headers"]["x-xero-signature"] = signature("not-the-key", raw)
    refused = invoke("functions.webhooks.app", event)
    assert refused["statusCode"] == 401 and refused["body"] == ""


def test_health_scoring_event_scores_connected_accounts(stack: LocalStack) -> None:
    from tests.integration.faq.conftest import ConnectedApi

    account = ConnectedApi(stack, "xero")
    account.connect()
    customer = account.create_customer("Scored Later Ltd", company_type="private_company")
    assert customer["health"]["score"] is None
    result = invoke("functions.health_scoring.app", load_event("health_scoring"))
    assert result["scored"] >= 1 and result["changed"] >= 1
    health = account.get(f"/customers/{customer['id']}").json()["health"]
    assert health["basis"] == "prior" and health["source"] == "model" and 0 <= health["score"] <= 100
