"""Account settings (B2 override switch, B3 import scope)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from arsync.clock import Clock, utc_now
from arsync.errors import SettingNotAllowed
from arsync.models.account import AccountSettings
from arsync.models.api import SettingsPatchRequest
from arsync.models.common import EDIT_OVERRIDE_SYSTEMS
from arsync.store.base import AccountRepository
from arsync.system_names import system_label


@dataclass
class SettingsService:
    accounts: AccountRepository
    on_scope_widened: Callable[[str], object] | None = None
    """Called when inactive customers come into scope (B3): they need a full read, not just changes."""
    clock: Clock = utc_now

    def get(self, tenant_id: str) -> AccountSettings:
        return self.accounts.get_settings(tenant_id)

    def patch(self, tenant_id: str, request: SettingsPatchRequest) -> AccountSettings:
        current = self.accounts.get_settings(tenant_id)
        changes = {name: getattr(request, name) for name in request.model_fields_set}
        if any(value is None for value in changes.values()):
            raise SettingNotAllowed("Settings are true or false; null is not a value they can take.")
        if changes.get("allow_customer_edits"):
            connection = self.accounts.get_connection(tenant_id)
            if connection is not None and connection.system not in EDIT_OVERRIDE_SYSTEMS:
                label = system_label(connection.system)
                raise SettingNotAllowed(
                    f"Customer edits in AR can only be allowed for QuickBooks Online and Xero. This account is "
                    f"connected to {label}, which stays the source of truth: edit customers in {label}."
                )
        updated = current.model_copy(update={**changes, "updated_at": self.clock(), "version": current.version + 1})
        self.accounts.save_settings(tenant_id, updated, expected_version=current.version)
        widened = updated.import_inactive_customers and not current.import_inactive_customers
        if widened and self.on_scope_widened is not None and self.accounts.get_connection(tenant_id) is not None:
            self.on_scope_widened(tenant_id)
        return updated
