"""FAQ 'Errors' and 'Why can't I edit my customers?', over HTTP through the local gateway against the
QuickBooks Online and Xero emulators: the provider's message verbatim, our explanation, what to do."""

from __future__ import annotations

import uuid

import pytest
import requests

from local.stack import LocalStack
from tests.integration.faq.conftest import ConnectedApi

pytestmark = pytest.mark.integration

DUPLICATE_MESSAGES = {
    "quickbooks_online": "Duplicate Name Exists Error: The name supplied already exists. : null",
    "xero": "The contact name {name} is already assigned to another contact. "
    "The contact name must be unique across all active contacts.",
}


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def test_create_while_connected_pushes_at_once(connected: ConnectedApi) -> None:
    created = connected.create_customer(unique("Pushed Co"), email="ap@pushed.example")
    assert created["sync"]["state"] == "synced"
    assert created["external"]["system"] == connected.system and created["external"]["active"] is True


def test_duplicate_active_name_shows_provider_message_and_keeps_customer(connected: ConnectedApi) -> None:
    name = unique("Twice Ltd")
    connected.create_customer(name)
    response = connected.post("/customers", json={"display_name": name, "email": "kept@twice.example"})
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "duplicate_name"
    assert problem["accounting_error"]["message"] == DUPLICATE_MESSAGES[connected.system].format(name=name)
    assert problem["accounting_error"]["system"] == connected.system
    assert "already exists" in problem["detail"]
    # Nothing the user typed is lost: the customer is kept, failed, with the error attached
    kept = connected.get(f"/customers/{problem['customer']['id']}").json()
    assert kept["email"] == "kept@twice.example" and kept["sync"]["state"] == "failed"
    assert kept["sync"]["error"]["accounting_error"]["message"] == problem["accounting_error"]["message"]
    failed = connected.get("/customers", params={"sync_state": "failed"}).json()["items"]
    assert [c["id"] for c in failed] == [kept["id"]]


def test_duplicate_inactive_name_is_explained_and_can_be_reactivated(connected: ConnectedApi) -> None:
    response = connected.post("/customers", json={"display_name": "Acme Supplies"})
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "duplicate_name_inactive"
    assert "inactive" in problem["detail"] or "archived" in problem["detail"]
    actions = {choice["action"]: choice for choice in problem["choices"]}
    assert set(actions) == {"link", "reactivate", "rename"}
    # The user chooses to reactivate the existing record and link to it
    reactivate = actions["reactivate"]
    linked = connected.post(reactivate["path"], json=reactivate["body"])
    assert linked.status_code == 200, linked.text
    body = linked.json()
    assert body["sync"]["state"] == "synced" and body["external"]["active"] is True
    assert body["external"]["id"] == reactivate["body"]["external_id"]


def test_xero_angle_brackets_are_refused_before_the_round_trip(stack: LocalStack) -> None:
    api = ConnectedApi(stack, "xero")
    api.connect()
    before = api.requests_to("PUT", "/Contacts")
    response = api.post("/customers", json={"display_name": "Fish <and> Chips"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_characters"
    assert problem["accounting_error"]["field"] == "display_name"
    assert "Edit the customer name" in problem["resolution"]
    assert api.requests_to("PUT", "/Contacts") == before  # never sent
    assert problem["customer"]["sync"]["state"] == "failed"


def test_over_long_field_for_this_system_is_caught_and_named(stack: LocalStack) -> None:
    api = ConnectedApi(stack, "quickbooks_online")
    api.connect()
    response = api.post(
        "/customers", json={"display_name": unique("Long Postcode Co"), "billing_address": {"postal_code": "9" * 31}}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "field_too_long"
    assert problem["accounting_error"]["field"] == "billing_address.postal_code"
    assert "QuickBooks Online" in problem["accounting_error"]["message"]
    # Fix it and sync again: the same customer goes through
    customer = problem["customer"]
    fixed = api.patch(
        f"/customers/{customer['id']}",
        json={"version": customer["version"], "billing_address": {"postal_code": "94103"}},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["sync"]["state"] == "synced"


def test_required_name_missing_names_the_field(connected: ConnectedApi) -> None:
    response = connected.post("/customers", json={"email": "no-name@example.com"})
    assert response.status_code == 422
    assert "body.display_name" in [e["field"] for e in response.json()["errors"]]


def test_authentication_failure_says_reconnect_and_stops_calls(connected: ConnectedApi) -> None:
    connected.admin("POST", "/tokens/revoke", json={"company_id": connected.company_id})
    response = connected.post("/customers", json={"display_name": unique("After Revoke")})
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "authentication_failed"
    resolution = problem["resolution"].lower()
    assert "disconnect" in resolution and ("connect it again" in resolution or "re-connect" in resolution)
    # the provider's own 401, verbatim (QBO: the lower-case `fault` body of the FAQ's "status code 401")
    assert problem["accounting_error"]["http_status"] == 401
    if connected.system == "quickbooks_online":
        assert "AuthenticationFailed" in problem["accounting_error"]["message"]
        assert "statusCode=401" in problem["accounting_error"]["message"]
    assert connected.get("/connection").json()["status"] == "needs_reauth"
    # Further pushes fail fast with the same advice, without calling the provider
    calls = connected.admin("GET", "/requests").json()["total"]
    again = connected.post("/customers", json={"display_name": unique("Still Revoked")})
    assert again.status_code == 409 and again.json()["code"] == "authentication_failed"
    assert connected.admin("GET", "/requests").json()["total"] == calls
    # Reconnecting fixes it
    connected.connect()
    assert connected.get("/connection").json()["status"] == "connected"
    assert connected.create_customer(unique("After Reconnect"))["sync"]["state"] == "synced"


def test_edit_locked_while_connected_then_allowed_with_override(connected: ConnectedApi) -> None:
    customer = connected.create_customer(unique("Lockable Co"))
    locked = connected.patch(
        f"/customers/{customer['id']}", json={"version": customer["version"], "email": "a@b.example"}
    )
    assert locked.status_code == 409
    problem = locked.json()
    assert problem["code"] == "edit_locked"
    assert ("QuickBooks Online" if connected.system == "quickbooks_online" else "Xero") in problem["detail"]
    # AR-only fields stay editable
    notes = connected.patch(f"/customers/{customer['id']}", json={"version": customer["version"], "notes": "VIP"})
    assert notes.status_code == 200
    assert connected.patch("/settings", json={"allow_customer_edits": True}).status_code == 200
    edited = connected.patch(
        f"/customers/{customer['id']}", json={"version": notes.json()["version"], "email": "ap@lockable.example"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["sync"]["state"] == "synced"
    # The change reached the accounting system: a Re-Sync reads it back from there
    reread = connected.post(f"/customers/{customer['id']}/resync")
    assert reread.status_code == 200, reread.text
    assert reread.json()["email"] == "ap@lockable.example"


def test_state_and_callback_are_single_use(stack: LocalStack) -> None:
    api = ConnectedApi(stack, "quickbooks_online")
    start = api.post("/connection/quickbooks_online/authorize").json()
    consent = requests.get(start["authorization_url"], allow_redirects=False, timeout=30)
    first = requests.get(consent.headers["Location"], timeout=30)
    replay = requests.get(consent.headers["Location"], timeout=30)
    assert first.status_code == 200
    assert replay.status_code == 400 and replay.json()["code"] == "invalid_oauth_state"
    forged = requests.get(f"{stack.api_url}/connection/callback", params={"code": "x", "state": "forged"}, timeout=30)
    assert forged.status_code == 400


def test_edit_override_cannot_be_enabled_for_other_systems(stack: LocalStack) -> None:
    """Only QuickBooks Online and Xero let AR edit customers; an account on Sage Intacct is refused."""
    from datetime import UTC, datetime

    from arsync.models.account import Connection
    from arsync.models.common import AccountingSystem
    from arsync.store.dynamodb import DynamoAccountRepository
    from tests.integration.conftest import Api

    api = Api(stack.api_url, f"t-intacct-{uuid.uuid4().hex[:8]}")
    assert stack.resources is not None
    DynamoAccountRepository(stack.resources.table_name).save_connection(
        api.tenant_id,
        Connection(
            system=AccountingSystem.SAGE_INTACCT,
            status="connected",
            company_id="intacct-co",
            connected_at=datetime.now(UTC),
        ),
        expected_version=0,
    )
    refused = api.patch("/settings", json={"allow_customer_edits": True})
    assert refused.status_code == 422 and refused.json()["code"] == "setting_not_allowed"
    assert "Sage Intacct" in refused.json()["detail"]
    assert api.get("/settings").json()["allow_customer_edits"] is False


def test_over_long_address_line_is_refused_naming_the_field(connected: ConnectedApi) -> None:
    """FAQ: 'The string "..." in the field "Addr2" is too long.' Address lines longer than any connected
    system accepts (500) are refused by the API itself, naming the field; nothing is stored or sent."""
    before = connected.admin("GET", "/requests").json()["total"]
    response = connected.post(
        "/customers", json={"display_name": unique("Long Address Co"), "billing_address": {"line2": "x" * 501}}
    )
    assert response.status_code == 422
    assert "body.billing_address.line2" in [e["field"] for e in response.json()["errors"]]
    assert connected.get("/customers", params={"archived": "all"}).json()["items"] == []
    assert connected.admin("GET", "/requests").json()["total"] == before
