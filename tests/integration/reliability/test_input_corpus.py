"""B2 - input edge corpus against an unconnected tenant, over HTTP through the local gateway.

The string fields and their limits are read from `CustomerCreateRequest`'s JSON schema (nested address
included), so a new field is in the corpus without editing this file. Every rejection must be a 422 naming
the field, store nothing, echo nothing of the input and show no stack trace.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from arsync.models.api import CustomerCreateRequest
from local.template import PROJECT_ROOT
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

MARKER = "EchoMarker"  # put in every rejected value: it must not come back


def _string_fields() -> list[tuple[tuple[str, ...], int, dict[str, Any]]]:
    """(path, maxLength, schema) of every string field, nested objects followed."""
    document = CustomerCreateRequest.model_json_schema()
    definitions = document.get("$defs", {})

    def walk(properties: dict[str, Any], prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], int, dict[str, Any]]]:
        found = []
        for name, prop in properties.items():
            for option in prop.get("anyOf", [prop]):
                if "$ref" in option:
                    target = definitions[option["$ref"].rsplit("/", 1)[1]]
                    if target.get("type") == "object":
                        found += walk(target["properties"], (*prefix, name))
                elif option.get("type") == "string" and "maxLength" in option:
                    found.append(((*prefix, name), int(option["maxLength"]), option))
        return found

    return walk(document["properties"], ())


STRING_FIELDS = _string_fields()
FIELD_IDS = [".".join(path) for path, _, _ in STRING_FIELDS]
MULTILINE = {("notes",)}


def _value_of_length(path: tuple[str, ...], length: int) -> str:
    if path[-1] == "email":
        domain = "@example.com"
        return "a" * (length - len(domain)) + domain
    if path[-1] == "phone":
        return "5" * length
    return ("Ab" * length)[:length]


def _body(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body: dict[str, Any] = {} if path == ("display_name",) else {"display_name": f"Corpus {'.'.join(path)}"}
    target = body
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
    return body


def _read(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        body = body[part]
    return body


def _assert_rejected(api: Api, response: Any, field: str, *, secrets: tuple[str, ...] = (MARKER,)) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["code"] == "validation_failed"
    assert field in [e["field"] for e in problem["errors"]], problem
    _assert_no_leak(response.text, secrets)
    assert api.get("/customers", params={"archived": "all"}).json()["items"] == []  # nothing stored


def _assert_no_leak(text: str, secrets: tuple[str, ...]) -> None:
    for secret in secrets:
        assert secret not in text
    for trace in ("Traceback", 'File "', "site-packages", str(PROJECT_ROOT)):
        assert trace not in text


def test_the_corpus_covers_every_string_field() -> None:
    # Guard against the schema walk silently finding nothing (e.g. after a model refactor).
    assert {"display_name", "email", "phone", "notes", "billing_address.line1", "shipping_address.city"} <= set(
        FIELD_IDS
    )


@pytest.mark.parametrize(("path", "limit", "schema"), STRING_FIELDS, ids=FIELD_IDS)
def test_length_at_the_limit_is_accepted_and_one_more_is_422(
    api: Api, path: tuple[str, ...], limit: int, schema: dict[str, Any]
) -> None:
    over = api.post("/customers", json=_body(path, _value_of_length(path, limit + 1)))
    _assert_rejected(api, over, "body." + ".".join(path), secrets=())
    assert _value_of_length(path, limit + 1) not in over.text  # the value is not echoed
    at_limit = _value_of_length(path, limit)
    created = api.post("/customers", json=_body(path, at_limit))
    assert created.status_code == 201, created.text
    assert _read(created.json(), path) == at_limit
    assert _read(api.get(f"/customers/{created.json()['id']}").json(), path) == at_limit


HOSTILE = {
    "NUL": "\x00",
    "BEL": "\x07",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 NEL": "\x85",
    "RLO U+202E": "\u202e",
    "RLI U+2067": "\u2067",
    "LRM U+200E": "\u200e",
    "BOM": "\ufeff",
    "non-character": "\uffff",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize(("path", "limit", "schema"), STRING_FIELDS, ids=FIELD_IDS)
def test_control_and_bidi_characters_are_422_and_not_echoed(
    api: Api, path: tuple[str, ...], limit: int, schema: dict[str, Any], kind: str
) -> None:
    char = HOSTILE[kind]
    value = f"{MARKER}{char}{MARKER}"[:limit] if path[-1] not in ("email", "phone") else f"12{char}34"
    if path[-1] == "email":
        value = f"a{char}b@example.com"
    response = api.post("/customers", json=_body(path, value))
    _assert_rejected(api, response, "body." + ".".join(path), secrets=(MARKER, char, json.dumps(char)[1:-1]))


@pytest.mark.parametrize(("path", "limit", "schema"), STRING_FIELDS, ids=FIELD_IDS)
def test_line_breaks_are_refused_in_single_line_fields_only(
    api: Api, path: tuple[str, ...], limit: int, schema: dict[str, Any]
) -> None:
    value = "Line one\nLine two" if path[-1] != "phone" else "555\n123"
    if path[-1] == "email":
        value = "a\nb@example.com"
    response = api.post("/customers", json=_body(path, value))
    if path in MULTILINE:
        assert response.status_code == 201, response.text
        assert _read(response.json(), path) == value
    else:
        _assert_rejected(api, response, "body." + ".".join(path), secrets=())


@pytest.mark.parametrize(("path", "limit", "schema"), STRING_FIELDS, ids=FIELD_IDS)
def test_lone_surrogates_are_422(api: Api, path: tuple[str, ...], limit: int, schema: dict[str, Any]) -> None:
    # A lone surrogate cannot be produced by json.dumps from valid text: write the escape into the raw body.
    raw = json.dumps(_body(path, "12PLACEHOLDER34@example.com" if path[-1] == "email" else "12PLACEHOLDER34"))
    raw = raw.replace("PLACEHOLDER", "\\ud800")
    response = api.post("/customers", data=raw.encode(), headers={"Content-Type": "application/json"})
    _assert_rejected(api, response, "body." + ".".join(path), secrets=("\\ud800",))


def test_nfc_and_nfd_of_the_same_name_are_stored_identically_as_nfc(api: Api) -> None:
    nfc = unicodedata.normalize("NFC", "Café Zoë Ångström")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    first = api.create_customer(nfd, billing_address={"city": unicodedata.normalize("NFD", "Düsseldorf")})
    second = api.create_customer(nfc)
    assert first["display_name"] == second["display_name"] == nfc
    assert first["billing_address"]["city"] == unicodedata.normalize("NFC", "Düsseldorf")
    stored = {c["display_name"] for c in api.get("/customers").json()["items"]}
    assert stored == {nfc}


@pytest.mark.parametrize(
    "name",
    [
        "Blue Finch 🐦 Ltd",  # emoji (astral plane)
        "株式会社青い鳥",  # CJK
        "شركة الطائر الأزرق",  # Arabic (right-to-left, no override characters)
        "Ωmega Ünïcödé Ñandú",  # Latin with diacritics, already NFC
        "👩‍👩‍👧‍👦 Family Shop",  # ZWJ emoji sequence
    ],
)
def test_international_names_are_accepted_and_returned_unchanged(api: Api, name: str) -> None:
    created = api.post("/customers", json={"display_name": name, "notes": f"{name}\nsecond line", "company_name": name})
    assert created.status_code == 201, created.text
    body = api.get(f"/customers/{created.json()['id']}").json()
    assert body["display_name"] == body["company_name"] == name
    assert body["notes"] == f"{name}\nsecond line"


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "Big", "notes": "n" * 70_000},
        {"display_name": "Big", "billing_address": {"line1": "x" * 40_000, "line2": "y" * 40_000}},
        {"display_name": "Big", "padding": "p" * 65_537},  # unknown field and too big: size wins
    ],
    ids=["long notes", "long address", "unknown padding"],
)
def test_bodies_over_64_kib_are_refused_before_parsing(api: Api, body: dict[str, Any]) -> None:
    response = api.post("/customers", json=body)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    _assert_no_leak(response.text, ("nnnnnnnnnn", "xxxxxxxxxx", "pppppppppp"))
    assert api.get("/customers", params={"archived": "all"}).json()["items"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tenant_id", f"{MARKER}-other-tenant"),
        ("external", {"system": "xero", "id": MARKER, "active": True}),
        ("sync", {"state": "synced", "last_synced_at": None, "error": None}),
        ("id", f"cus_{MARKER}"),
        ("version", 7),
        ("archived", True),
        ("balance", {"outstanding": "1.00"}),
        ("health", {"score": 100}),
        ("created_at", "2020-01-01T00:00:00Z"),
    ],
)
def test_unknown_and_server_owned_fields_are_422(api: Api, field: str, value: Any) -> None:
    response = api.post("/customers", json={"display_name": "Mass Assignment", field: value})
    _assert_rejected(api, response, f"body.{field}")


def test_unknown_nested_field_is_422(api: Api) -> None:
    response = api.post("/customers", json={"display_name": "Nested", "billing_address": {"tenant_id": MARKER}})
    _assert_rejected(api, response, "body.billing_address.tenant_id")


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"display_name=Form+Post", "application/x-www-form-urlencoded", 415),
        (b'{"display_name": "Text"}', "text/plain", 415),
        (b'{"display_name": "Multipart"}', "multipart/form-data", 415),
        (b'{"display_name": "\xff\xfe not utf-8"}', "application/json", 422),
        (b"[1, 2, 3]", "application/json", 422),
        (b'"just a string"', "application/json", 422),
        (b"null", "application/json", 422),
    ],
    ids=["form", "text", "multipart without boundary", "not utf-8", "array", "string", "null"],
)
def test_bodies_that_are_not_a_json_object_are_4xx_and_store_nothing(
    api: Api, data: bytes, content_type: str, status: int
) -> None:
    response = api.post("/customers", data=data, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    _assert_no_leak(response.text, ("Form+Post", "not utf-8"))
    assert api.get("/customers", params={"archived": "all"}).json()["items"] == []
