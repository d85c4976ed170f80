"""The one place that turns errors into RFC 9457 problem documents (`application/problem+json`).

Domain errors carry no HTTP codes; the status for each lives here. Provider messages are carried
verbatim in `accounting_error.message`; inputs are never echoed back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import ClientError

from arsync import errors
from arsync.api.auth import Unauthenticated
from arsync.aws import is_throttling
from arsync.connectors.errors import CATALOG, AccountingError, ErrorCategory
from arsync.models.customer import AccountingErrorInfo, Customer
from arsync.models.mapping import customer_response
from arsync.observability import logger

PROBLEM_JSON = "application/problem+json"

_STATUS: list[tuple[type[errors.DomainError], int, str]] = [
    (Unauthenticated, 401, "unauthenticated"),
    (errors.NotFound, 404, "not_found"),
    (errors.VersionConflict, 409, "version_conflict"),
    (errors.EditLocked, 409, "edit_locked"),
    (errors.RequestInProgress, 409, "request_in_progress"),
    (errors.NotConnected, 409, "not_connected"),
    (errors.ConnectionNeedsReauth, 409, "authentication_failed"),
    (errors.IdempotencyKeyReused, 422, "idempotency_key_reused"),
    (errors.SettingNotAllowed, 422, "setting_not_allowed"),
    (errors.InvalidCursor, 400, "invalid_cursor"),
    (errors.InvalidOAuthState, 400, "invalid_oauth_state"),
    (errors.NotLinked, 409, "not_linked"),
    (errors.CustomerAlreadyExists, 409, "already_exists"),
]

_RESOLUTION = {
    "unauthenticated": "Sign in again and send the access token in the Authorization header.",
    "not_found": "Check the id; list the collection to find the right one.",
    "version_conflict": "Fetch the record again, re-apply your change to the new version and retry.",
    "edit_locked": "Edit the customer in the accounting system, then run Sync.",
    "request_in_progress": "Retry with the same Idempotency-Key in a few seconds.",
    "not_connected": "Connect an accounting system first.",
    "authentication_failed": "Disconnect your accounting system account and re-connect it.",
    "idempotency_key_reused": "Send a new Idempotency-Key for a request with a different body.",
    "setting_not_allowed": "Leave the setting as it is for this accounting system.",
    "invalid_cursor": "Request the first page again without a cursor.",
    "invalid_oauth_state": "Start connecting again from the Connect button.",
    "not_linked": "Sync the customer first so it exists in the accounting system.",
    "already_exists": "Use a different id.",
    "validation_failed": "Correct the fields listed in `errors` and send the request again.",
    "payload_too_large": "Send a smaller request body.",
    "unsupported_media_type": "Send the body as JSON with `Content-Type: application/json`.",
    "service_busy": "Retry after the number of seconds in the Retry-After header.",
    "internal_error": "Try again later; if it keeps happening, contact support with the request id.",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    resolution: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    body: dict[str, Any] = {
        "type": f"urn:arsync:problem:{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "resolution": resolution or _RESOLUTION.get(code, ""),
    }
    if extra:
        body.update(extra)
    return Response(
        status_code=status,
        content_type=PROBLEM_JSON,
        body=json.dumps(body),
        headers=dict(headers or {}),
    )


def _field_path(location: Iterable[Any]) -> str:
    return ".".join(str(part) for part in location)


def validation_problem(error: RequestValidationError) -> Response[str]:
    """Name every field that failed and why, without echoing the submitted values."""
    fields = [
        {"field": _field_path(item.get("loc", ())), "message": item.get("msg", "is invalid"), "type": item.get("type")}
        for item in error.errors()
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return problem(
        422,
        "validation_failed",
        f"The request is not valid. {summary}",
        title="Unprocessable Content",
        extra={"errors": fields},
    )


_ACCOUNTING_STATUS = {
    ErrorCategory.AUTHENTICATION_FAILED: 409,
    ErrorCategory.AUTHORIZATION_FAILED: 409,
    ErrorCategory.DUPLICATE_NAME: 409,
    ErrorCategory.DUPLICATE_NAME_INACTIVE: 409,
    ErrorCategory.STALE_OBJECT: 409,
    ErrorCategory.NOT_FOUND: 409,
    ErrorCategory.RATE_LIMITED: 429,
    ErrorCategory.DAILY_LIMIT_REACHED: 429,
    ErrorCategory.PROVIDER_UNAVAILABLE: 502,
}
"""Statuses for accounting-system refusals; anything else the provider rejects is 422."""


def accounting_status(category: str) -> int:
    return _ACCOUNTING_STATUS.get(ErrorCategory(category), 422)


def _accounting_error_body(info: AccountingErrorInfo) -> dict[str, Any]:
    return {
        "system": info.system.value,
        "http_status": info.http_status,
        "code": info.code,
        "message": info.message,
        "field": info.field,
    }


def _choices(customer: Customer, info: AccountingErrorInfo) -> list[dict[str, Any]]:
    """What the user can do about a duplicate name besides renaming (FAQ: the record may be inactive)."""
    if (
        info.category not in (ErrorCategory.DUPLICATE_NAME, ErrorCategory.DUPLICATE_NAME_INACTIVE)
        or not info.existing_id
    ):
        return []
    link = {"method": "POST", "path": f"/customers/{customer.id}/link"}
    choices = [{"action": "link", **link, "body": {"external_id": info.existing_id, "reactivate": False}}]
    if info.category == ErrorCategory.DUPLICATE_NAME_INACTIVE:
        choices.append({"action": "reactivate", **link, "body": {"external_id": info.existing_id, "reactivate": True}})
    choices.append({"action": "rename", "method": "PATCH", "path": f"/customers/{customer.id}"})
    return choices


def push_problem(error: errors.PushRejected) -> Response[str]:
    """The customer was kept (sync.state = failed); the provider's words travel verbatim beside ours."""
    customer = error.customer
    assert isinstance(customer, Customer) and customer.sync.error is not None
    info = customer.sync.error
    return problem(
        accounting_status(info.category),
        info.category,
        info.explanation,
        title=CATALOG[ErrorCategory(info.category)].title,
        resolution=info.resolution,
        extra={
            "accounting_error": _accounting_error_body(info),
            "customer": customer_response(customer).model_dump(mode="json"),
            "choices": _choices(customer, info),
        },
    )


def accounting_problem(error: AccountingError) -> Response[str]:
    info = error.to_info()
    headers = {"Retry-After": str(int(error.retry_after) + 1)} if error.retry_after else None
    return problem(
        accounting_status(info.category),
        info.category,
        info.explanation,
        title=error.title,
        resolution=info.resolution,
        extra={"accounting_error": _accounting_error_body(info)},
        headers=headers,
    )


def _domain_handler(status: int, code: str) -> Any:
    def handle(error: errors.DomainError) -> Response[str]:
        return problem(status, code, error.detail)

    return handle


def _busy(detail: str, retry_after_seconds: int) -> Response[str]:
    return problem(503, "service_busy", detail, headers={"Retry-After": str(retry_after_seconds)})


def register(app: APIGatewayRestResolver) -> None:
    """Attach every handler; routes themselves contain no try/except."""

    @app.exception_handler(RequestValidationError)
    def _validation(error: RequestValidationError) -> Response[str]:
        return validation_problem(error)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_media_type(error: RequestUnsupportedContentType) -> Response[str]:
        return problem(415, "unsupported_media_type", "The request body must be JSON (Content-Type: application/json).")

    for exc_type, status, code in _STATUS:
        app.exception_handler(exc_type)(_domain_handler(status, code))
    app.exception_handler(errors.PushRejected)(push_problem)
    app.exception_handler(AccountingError)(accounting_problem)

    @app.not_found
    def _not_found(error: NotFoundError) -> Response[str]:
        return problem(404, "not_found", "No such resource.", resolution="Check the URL against /openapi.json.")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error", error_type=type(error).__name__)
        return problem(500, "internal_error", "Something went wrong on our side.")

    @app.exception_handler(errors.StoreBusy)
    def _store_busy(error: errors.StoreBusy) -> Response[str]:
        return _busy(str(error), error.retry_after_seconds)

    @app.exception_handler(ClientError)
    def _aws_error(error: ClientError) -> Response[str]:
        """DynamoDB throttling that outlasted the client's retries is a 503 to retry, not a 500."""
        if is_throttling(error):
            return _busy(str(errors.StoreBusy()), errors.StoreBusy.retry_after_seconds)
        return _unexpected(error)
