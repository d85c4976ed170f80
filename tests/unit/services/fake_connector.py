"""An in-memory accounting system with the rules that matter to pushes (unique names incl. inactive for
QBO, active-only for Xero; provider idempotency keys replay; SyncToken checks). Subclasses the real port."""

from __future__ import annotations

import datetime as dt
from typing import Any

from arsync.connectors.base import (
    AccountingConnector,
    ChangeBatch,
    Page,
    RemoteCredit,
    RemoteCustomer,
    RemoteInvoice,
    RemotePayment,
    TokenSet,
)
from arsync.connectors.errors import AccountingError, ErrorCategory, parse_accounting_error
from arsync.models.common import AccountingSystem
from arsync.models.customer import CustomerContact
from arsync.store.keys import name_key

QBO_DUPLICATE = {
    "Fault": {
        "Error": [
            {
                "Message": "Duplicate Name Exists Error",
                "Detail": "The name supplied already exists. : null",
                "code": "6240",
            }
        ],
        "type": "ValidationFault",
    }
}


def xero_duplicate(contact: CustomerContact) -> dict[str, Any]:
    message = (
        f"The contact name {contact.display_name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"Name": contact.display_name, "ValidationErrors": [{"Message": message}]}],
    }


class FakeAccounting(AccountingConnector):
    def __init__(self, system: AccountingSystem = AccountingSystem.QUICKBOOKS_ONLINE) -> None:
        self.system = system
        self.customers: dict[str, RemoteCustomer] = {}
        self.replies: dict[str, RemoteCustomer] = {}
        self.calls: list[tuple[str, Any]] = []
        self.fail_next: AccountingError | None = None
        self.crash_after_commit = False
        self.timeout_after_commit = False

    def _check_failure(self) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    def add_remote(self, name: str, *, active: bool = True) -> RemoteCustomer:
        remote = RemoteCustomer(id=str(100 + len(self.customers)), display_name=name, active=active, sync_token="0")
        self.customers[remote.id] = remote
        return remote

    def find_customers_by_name(self, name: str) -> list[RemoteCustomer]:
        self.calls.append(("find", name))
        self._check_failure()
        return [c for c in self.customers.values() if name_key(c.display_name) == name_key(name)]

    def create_customer(self, contact: CustomerContact, *, idempotency_key: str) -> RemoteCustomer:
        self.calls.append(("create", idempotency_key))
        if idempotency_key in self.replies:
            return self.replies[idempotency_key]
        self._check_failure()
        clashes = [
            c
            for c in self.customers.values()
            if name_key(c.display_name) == name_key(contact.display_name)
            and (c.active or self.system is AccountingSystem.QUICKBOOKS_ONLINE)
        ]
        if clashes:
            body = QBO_DUPLICATE if self.system is AccountingSystem.QUICKBOOKS_ONLINE else xero_duplicate(contact)
            raise parse_accounting_error(self.system, 400, {}, body)
        remote = RemoteCustomer(
            id=str(100 + len(self.customers)), display_name=contact.display_name, email=contact.email, sync_token="0"
        )
        self.customers[remote.id] = remote
        self.replies[idempotency_key] = remote
        if self.crash_after_commit:
            self.crash_after_commit = False
            raise KeyboardInterrupt("process killed after the provider committed")
        if self.timeout_after_commit:
            self.timeout_after_commit = False
            raise AccountingError.unavailable(self.system, "No response from the provider: ReadTimeout")
        return remote

    def get_customer(self, customer_id: str) -> RemoteCustomer:
        self.calls.append(("get", customer_id))
        self._check_failure()
        return self.customers[customer_id]

    def update_customer(
        self,
        customer_id: str,
        changes: dict[str, Any],
        *,
        sync_token: str | None = None,
        expected_updated_at: dt.datetime | None = None,
        idempotency_key: str | None = None,
    ) -> RemoteCustomer:
        self.calls.append(("update", changes))
        self._check_failure()
        current = self.customers[customer_id]
        if sync_token != current.sync_token:
            raise AccountingError(self.system, ErrorCategory.STALE_OBJECT, "Stale Object Error", code="5010")
        updated = current.model_copy(update={**changes, "sync_token": str(int(current.sync_token or "0") + 1)})
        self.customers[customer_id] = updated
        return updated

    def set_customer_active(self, customer_id: str, active: bool, *, sync_token: str | None = None) -> RemoteCustomer:
        self.calls.append(("set_active", (customer_id, active)))
        updated = self.customers[customer_id].model_copy(update={"active": active})
        self.customers[customer_id] = updated
        return updated

    # Not used by pushes.
    def authorization_url(self, state: str, redirect_uri: str) -> str:
        raise NotImplementedError

    def exchange_code(self, code: str, redirect_uri: str, company_id: str | None = None) -> TokenSet:
        raise NotImplementedError

    def refresh(self, refresh_token: str) -> TokenSet:
        raise NotImplementedError

    def revoke(self, tokens: TokenSet) -> None:
        raise NotImplementedError

    def list_customers(self, *, include_inactive: bool, cursor: str | None = None) -> Page[RemoteCustomer]:
        raise NotImplementedError

    def list_invoices(self, cursor: str | None = None) -> Page[RemoteInvoice]:
        raise NotImplementedError

    def list_payments(self, cursor: str | None = None) -> Page[RemotePayment]:
        raise NotImplementedError

    def list_credits(self, cursor: str | None = None) -> Page[RemoteCredit]:
        raise NotImplementedError

    def changes_since(self, since: dt.datetime, cursor: str | None = None) -> ChangeBatch:
        raise NotImplementedError
