"""Domain errors. They carry no HTTP codes: `arsync.api.problems` maps them to problem documents."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user can cause or see."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The thing does not exist for this tenant (never says whether it exists for another)."""


class CustomerNotFound(NotFound):
    def __init__(self, customer_id: str) -> None:
        super().__init__(f"No customer with id {customer_id!r} exists in this account.")
        self.customer_id = customer_id


class CustomerAlreadyExists(DomainError):
    """Raised by repositories when an id is taken (deterministic ids make retries land here)."""

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"A customer with id {customer_id!r} already exists.")
        self.customer_id = customer_id


class PushRejected(DomainError):
    """The accounting system refused the customer; it is kept locally with `sync.state = failed` (B1)."""

    def __init__(self, customer: object, category: str, explanation: str) -> None:
        super().__init__(explanation)
        self.customer = customer
        self.category = category


class NotLinked(DomainError):
    def __init__(self) -> None:
        super().__init__("This customer is not linked to a record in the accounting system yet.")


class SyncRunNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"No sync run with id {run_id!r} exists in this account.")


class VersionConflict(DomainError):
    """Optimistic concurrency: the caller edited an older version than the stored one."""

    def __init__(self, entity_id: str, expected: int, actual: int | None) -> None:
        detail = (
            f"The record was changed since you read it (you sent version {expected}, the current version is "
            f"{actual}). Reload it, re-apply your change and try again."
            if actual is not None
            else f"The record was changed since you read it (you sent version {expected}). Reload it and try again."
        )
        super().__init__(detail)
        self.entity_id = entity_id
        self.expected = expected
        self.actual = actual


class EditLocked(DomainError):
    """B2: contact data is owned by the connected accounting system."""

    def __init__(self, system_label: str, fields: list[str]) -> None:
        super().__init__(
            f"While this account is connected to {system_label}, customer contact data is read-only in AR: "
            f"{system_label} is the source of truth and its changes arrive with the next sync. Edit "
            f"{', '.join(fields)} in {system_label}, then use Sync, or ask an administrator to turn on "
            f"'allow_customer_edits' in the accounting settings."
        )
        self.fields = fields


class SettingNotAllowed(DomainError):
    """A setting that the connected system cannot support."""


class InvalidCursor(DomainError):
    def __init__(self) -> None:
        super().__init__("The cursor is not valid for this query; start again without a cursor.")


class IdempotencyKeyReused(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used with a different request body. Use a new key for a new request."
        )


class RequestInProgress(DomainError):
    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still being processed. Retry in a moment.")


class StoreBusy(DomainError):
    """DynamoDB kept throttling after the client's own retries: the caller should come back shortly."""

    retry_after_seconds = 1

    def __init__(self) -> None:
        super().__init__(
            "The service is handling more writes than it can store right now. Retry in a moment; a retry with "
            "the same Idempotency-Key is safe."
        )


class NotConnected(DomainError):
    def __init__(self) -> None:
        super().__init__("This account is not connected to an accounting system. Connect one first.")


class ConnectionNeedsReauth(DomainError):
    def __init__(self, system_label: str) -> None:
        super().__init__(
            f"The connection to {system_label} is no longer authorised. Disconnect the accounting system and "
            f"reconnect it."
        )
        self.system_label = system_label


class InvalidOAuthState(DomainError):
    def __init__(self) -> None:
        super().__init__("The authorization request is invalid, expired or was already used. Start connecting again.")
