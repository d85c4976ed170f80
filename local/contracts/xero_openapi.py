"""Validate HTTP traffic against Xero's official Accounting OpenAPI document (project copy, see NOTICE.md).

Why: the Xero emulator and the Xero connector are both checked against the vendor's own contract, so neither can
drift into a private dialect. Usage::

    from local.contracts.xero_openapi import validate_request, validate_response, ContractViolation
    validate_request(resp.request)            # requests.PreparedRequest
    validate_response(resp.request, resp)     # raises ContractViolation listing every failure

Only ``/api.xro/2.0/...`` traffic is checked; the emulator's host and port are mapped onto the document's server
``https://api.xero.com/api.xro/2.0``. Identity endpoints (``/connect/token``, ``/connections``) are not in this
document and are rejected with a clear error.

Known looseness of the document (what passing does *not* prove):

- No ``required`` lists on Contact/Invoice/… and no ``additionalProperties: false``: missing or unknown fields pass.
- Only 200 and 400 responses are defined. 401/403/404/406/429 are checked here only for shape by
  ``check_error_shape`` (problem object for 401/403, empty or text bodies otherwise); ``validate_response``
  refuses them with ``UndocumentedStatus`` so callers decide explicitly.
- MS-JSON dates (``/Date(1503348544227+0000)/``) are plain ``type: string`` (``x-is-msdate``): their format is
  checked by ``check_ms_dates`` (our own rule), not by the document.
- The document is not itself valid OpenAPI (e.g. ``default: "false"`` on booleans), so it is loaded without spec
  validation (``spec_validator_cls=None``), and those string boolean defaults/examples are turned into booleans
  in memory (otherwise openapi-core injects ``"false"`` into request bodies and rejects them). The file on disk
  stays a byte copy.
- OAuth2 security is not evaluated by openapi-core (it warns "Unsupported scheme type"; silenced here).
- ``readOnly`` properties are rejected in request bodies by openapi-core, which is stricter than Xero (Xero ignores
  echoed read-only fields such as ``UpdatedDateUTC``); ``validate_request`` therefore drops read-only errors.
- With ``summarizeErrors=false`` Xero returns rejected elements inside a 200 ``Contacts`` body, echoing what was
  sent; an over-long field then breaks the Contact schema's ``maxLength``. Such ``maxLength`` errors inside an
  element that carries ``HasValidationErrors: true`` are tolerated (the only tolerated class).
- The document is loaded once per process with a YAML loader that does not turn unquoted timestamps into
  ``datetime`` objects (PyYAML's SafeLoader would, breaking string examples/defaults).
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

CONTRACT_DIR = Path(__file__).resolve().parent
ACCOUNTING_DOC = CONTRACT_DIR / "xero_accounting.yaml"
WEBHOOKS_DOC = CONTRACT_DIR / "xero-webhooks.yaml"
BASE_PATH = "/api.xro/2.0"
DOC_SERVER = "https://api.xero.com"
_MS_DATE = re.compile(r"^/Date\(-?\d+([+-]\d{4})?\)/$")
_MS_DATE_KEYS = {"UpdatedDateUTC", "DateTimeUTC", "Date", "DueDate", "FullyPaidOnDate", "ExpectedPaymentDate"}


class ContractViolation(AssertionError):
    """Traffic does not match the Xero OpenAPI document; ``errors`` lists each failure."""

    def __init__(self, what: str, errors: list[str]):
        self.errors = errors
        super().__init__(f"{what} violates xero_accounting.yaml:\n  - " + "\n  - ".join(errors))


class UndocumentedStatus(ContractViolation):
    """The response status has no definition in the document (401/403/404/429 …)."""


class _NoTimestampLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader minus the implicit timestamp resolver (keeps ``2020-02-06T12:17:43`` a string)."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_document(path: Path = ACCOUNTING_DOC) -> dict[str, Any]:
    """Parse a contract YAML file without timestamp coercion."""
    with path.open("rb") as fh:
        doc = yaml.load(fh, Loader=_NoTimestampLoader)  # noqa: S506 - safe loader subclass
    if not isinstance(doc, dict):
        raise ValueError(f"{path} is not a mapping")
    return doc


def _repair_boolean_defaults(node: Any) -> int:
    """The document writes ``default: "false"`` on boolean schemas; openapi-core would inject the *string* into
    unmarshalled bodies and then fail its own type check, so such defaults/examples become real booleans."""
    fixed = 0
    if isinstance(node, dict):
        if node.get("type") == "boolean":
            for key in ("default", "example"):
                if node.get(key) in {"true", "false"}:
                    node[key] = node[key] == "true"
                    fixed += 1
        for value in node.values():
            fixed += _repair_boolean_defaults(value)
    elif isinstance(node, list):
        for value in node:
            fixed += _repair_boolean_defaults(value)
    return fixed


@functools.cache
def accounting_document() -> dict[str, Any]:
    """The Accounting document (parsed once), with string boolean defaults repaired (see module doc)."""
    doc = load_document(ACCOUNTING_DOC)
    _repair_boolean_defaults(doc)
    return doc


@functools.cache
def webhooks_document() -> dict[str, Any]:
    return load_document(WEBHOOKS_DOC)


@functools.cache
def openapi() -> OpenAPI:
    """The openapi-core app for the Accounting document (cached; ~0.4 s to build)."""
    return OpenAPI.from_dict(accounting_document(), config=Config(spec_validator_cls=None))


def _to_document_url(url: str) -> str:
    parts = urlparse(url)
    if not parts.path.startswith(BASE_PATH + "/") and parts.path != BASE_PATH:
        raise ContractViolation(url, [f"path {parts.path!r} is outside {BASE_PATH}; not covered by the document"])
    doc = urlparse(DOC_SERVER)
    return urlunparse((doc.scheme, doc.netloc, parts.path, parts.params, parts.query, ""))


def _as_document_request(prepared: requests.PreparedRequest) -> RequestsOpenAPIRequest:
    clone = prepared.copy()
    clone.url = _to_document_url(prepared.url or "")
    return RequestsOpenAPIRequest(clone)


def _flatten(exc: BaseException) -> list[Any]:
    """openapi-core nests jsonschema errors in ``__cause__``; collect the leaves."""
    out: list[Any] = []
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, InvalidSchemaValue):
            out.extend(cause.schema_errors)
            return out
        cause = cause.__cause__
    return out


def _describe(exc: BaseException) -> list[str]:
    leaves = _flatten(exc)
    if not leaves:
        return [f"{type(exc).__name__}: {exc}"]
    return [f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message[:300]}" for err in leaves]


def _tolerated(err: Any, body: Any) -> bool:
    """maxLength inside an element echoed with HasValidationErrors (summarizeErrors=false), see module doc."""
    if err.validator != "maxLength":
        return False
    path = list(err.absolute_path)
    if len(path) < 2 or not isinstance(body, dict):
        return False
    container = body.get(path[0])
    if not isinstance(container, list) or not isinstance(path[1], int) or path[1] >= len(container):
        return False
    element = container[path[1]]
    return isinstance(element, dict) and element.get("HasValidationErrors") is True


def validate_request(prepared: requests.PreparedRequest) -> None:
    """Check a request (path, method, parameters incl. ``xero-tenant-id``, JSON body) against the document."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Unsupported scheme type" for OAuth2
        result = openapi().unmarshal_request(_as_document_request(prepared))
    errors: list[str] = []
    for exc in result.errors:
        leaves = _flatten(exc)
        if leaves:
            kept = [e for e in leaves if "read-only" not in e.message and "readOnly" not in str(e.validator)]
            errors.extend(f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message[:300]}" for e in kept)
        else:
            errors.extend(_describe(exc))
    if errors:
        raise ContractViolation(f"request {prepared.method} {prepared.path_url}", errors)


def validate_response(prepared: requests.PreparedRequest, response: requests.Response) -> None:
    """Check a response body/status against the operation's documented responses (200/400 JSON)."""
    what = f"response {response.status_code} to {prepared.method} {prepared.path_url}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        app = openapi()
        doc_request = _as_document_request(prepared)
        try:
            result = app.unmarshal_response(doc_request, RequestsOpenAPIResponse(response))
        except Exception as exc:  # openapi-core raises for unknown paths/operations
            raise ContractViolation(what, _describe(exc)) from exc
    errors: list[str] = []
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    for failure in result.errors:
        if type(failure).__name__ == "ResponseNotFound":
            raise UndocumentedStatus(what, [f"status {response.status_code} is not defined for this operation"])
        leaves = _flatten(failure)
        if leaves:
            errors.extend(
                f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message[:300]}"
                for e in leaves
                if not _tolerated(e, body)
            )
        else:
            errors.extend(_describe(failure))
    if body is not None:
        errors.extend(check_ms_dates(body))
    if errors:
        raise ContractViolation(what, errors)


def check_ms_dates(body: Any, path: str = "") -> list[str]:
    """Our own rule for the MS-JSON date fields the document types only as ``string``."""
    problems: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            here = f"{path}/{key}" if path else key
            if key in _MS_DATE_KEYS and isinstance(value, str) and not _MS_DATE.match(value):
                problems.append(f"{here}: {value!r} is not an MS-JSON date /Date(ms+0000)/")
            else:
                problems.extend(check_ms_dates(value, here))
    elif isinstance(body, list):
        for i, item in enumerate(body):
            problems.extend(check_ms_dates(item, f"{path}/{i}"))
    return problems


_NAIVE_UTC = re.compile(r"eventDateUtc: '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?' is not a 'date-time'$")
_PROBLEM_KEYS = {"Type", "Title", "Status", "Detail", "Instance", "Extensions"}


def check_error_shape(response: requests.Response) -> None:
    """Shape checks for statuses the document omits (observed Xero behaviour, accounting-apis.md §2.2/§2.6)."""
    status = response.status_code
    errors: list[str] = []
    if status in {401, 403}:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or set(body) != _PROBLEM_KEYS:
            errors.append(f"expected problem object with keys {sorted(_PROBLEM_KEYS)}, got {body!r}")
        elif body["Status"] != status or body["Type"] is not None or not isinstance(body["Detail"], str):
            errors.append(f"problem object fields inconsistent: {body!r}")
    elif status == 429:
        if not response.headers.get("Retry-After"):
            errors.append("429 without Retry-After")
        if not response.headers.get("X-Rate-Limit-Problem"):
            errors.append("429 without X-Rate-Limit-Problem")
    else:
        errors.append(f"no shape rule for status {status}")
    if errors:
        raise ContractViolation(f"response {status}", errors)


def validate_webhook_payload(raw_body: bytes) -> None:
    """Validate a webhook POST body against ``WebhookEvent`` in xero-webhooks.yaml (OpenAPI 3.1 → JSON Schema)."""
    import jsonschema

    doc = webhooks_document()
    schema = {"$ref": "#/components/schemas/WebhookEvent", "components": doc["components"]}
    payload = json.loads(raw_body)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in validator.iter_errors(payload)
    ]
    if payload.get("events") == [] and all("minimum" in e for e in errors):
        # The intent-to-receive payload uses sequence 0, below the document's ``minimum: 1``: Xero's own
        # documentation shows it, so the document is the one that is too strict here.
        errors = []
    # ``eventDateUtc`` is ``format: date-time`` but Xero sends (and the document's own examples show) a UTC time
    # without offset, e.g. ``2024-06-21T01:15:39.902``; accept that form, nothing looser.
    errors = [e for e in errors if not (e.startswith("events/") and _NAIVE_UTC.search(e))]
    if errors:
        raise ContractViolation("webhook payload", errors)
