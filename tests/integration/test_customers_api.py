"""Local-only accounts over HTTP through the local gateway against the moto server (issue 1 acceptance)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Api

pytestmark = pytest.mark.integration


def test_create_get_edit_archive_filter(api: Api) -> None:
    # Given two customers
    acme = api.create_customer("Acme Supplies", email="ap@acme.example", company_type="private_company")
    api.create_customer("Beta Logistics")
    # When the first is read back
    fetched = api.get(f"/customers/{acme['id']}").json()
    # Then every field survived the round trip
    assert fetched["display_name"] == "Acme Supplies" and fetched["email"] == "ap@acme.example"
    assert fetched["sync"]["state"] == "local_only" and fetched["version"] == 1

    # Edit with the current version, then again with the stale one
    edited = api.patch(f"/customers/{acme['id']}", json={"version": 1, "phone": "+44 20 7946 0000"})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = api.patch(f"/customers/{acme['id']}", json={"version": 1, "phone": "+44 20 7946 9999"})
    assert stale.status_code == 409
    assert stale.headers["Content-Type"] == "application/problem+json"
    assert stale.json()["code"] == "version_conflict"
    assert api.get(f"/customers/{acme['id']}").json()["phone"] == "+44 20 7946 0000"

    # Archive: hidden by default, found with archived=yes, both with all
    assert api.post(f"/customers/{acme['id']}/archive").json()["archived"] is True
    default_names = [c["display_name"] for c in api.get("/customers").json()["items"]]
    archived_names = [c["display_name"] for c in api.get("/customers", params={"archived": "yes"}).json()["items"]]
    all_names = [c["display_name"] for c in api.get("/customers", params={"archived": "all"}).json()["items"]]
    assert default_names == ["Beta Logistics"]
    assert archived_names == ["Acme Supplies"]
    assert all_names == ["Acme Supplies", "Beta Logistics"]
    assert api.post(f"/customers/{acme['id']}/unarchive").json()["archived"] is False


def test_cursor_paging_visits_every_customer_once_in_name_order(api: Api) -> None:
    names = [f"Paging Customer {i:02d}" for i in range(23)]
    for name in reversed(names):
        api.create_customer(name)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        body = api.get("/customers", params=params).json()
        seen.extend(c["display_name"] for c in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    assert pages == 5


def test_name_prefix_filter_is_case_and_accent_insensitive(api: Api) -> None:
    api.create_customer("Émile Bakery")
    api.create_customer("Emerald Farms")
    api.create_customer("Other Co")
    names = [c["display_name"] for c in api.get("/customers", params={"q": "em"}).json()["items"]]
    assert names == ["Emerald Farms", "Émile Bakery"]


def test_sync_state_filter(api: Api) -> None:
    api.create_customer("Local One")
    assert len(api.get("/customers", params={"sync_state": "local_only"}).json()["items"]) == 1
    assert api.get("/customers", params={"sync_state": "failed"}).json()["items"] == []


def test_cursor_from_other_filter_is_refused(api: Api) -> None:
    for i in range(3):
        api.create_customer(f"Cursor {i}")
    cursor = api.get("/customers", params={"limit": 1}).json()["next_cursor"]
    response = api.get("/customers", params={"limit": 1, "cursor": cursor, "archived": "all"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def test_idempotency_key_replays_the_same_customer(api: Api) -> None:
    headers = {"Idempotency-Key": "create-harbour-1"}
    first = api.post("/customers", json={"display_name": "Harbour Co"}, headers=headers)
    second = api.post("/customers", json={"display_name": "Harbour Co"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert len(api.get("/customers").json()["items"]) == 1
    reused = api.post("/customers", json={"display_name": "Another Co"}, headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert len(api.get("/customers").json()["items"]) == 1


def test_settings_round_trip(api: Api) -> None:
    assert api.get("/settings").json()["import_inactive_customers"] is False
    patched = api.patch("/settings", json={"import_inactive_customers": True})
    assert patched.status_code == 200 and patched.json()["import_inactive_customers"] is True
    assert api.get("/settings").json()["import_inactive_customers"] is True


def test_openapi_document_describes_every_route(stack: object, api: Api) -> None:
    from local.template import api_routes

    spec = api.get("/openapi.json").json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    authorised = {(r.method, r.path) for r in api_routes() if r.authorized}
    assert authorised <= documented
    assert api.get("/docs").status_code == 200


def test_sync_now_without_a_connection_says_so(api: Api) -> None:
    response = api.post("/sync")
    assert response.status_code == 409 and response.json()["code"] == "not_connected"
    assert api.get("/sync/runs").json()["items"] == []
