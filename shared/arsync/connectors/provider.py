"""Builds the adapter for an account's connection: config from Settings, tokens from the token store.

One instance per container: it keeps one `requests.Session` per system (connection reuse) and one
rate-limiter registry, so every connection's client-side limits hold across invocations of a warm container.

The adapters (and `requests` with them) are imported when a connection first needs one, not with the
function: creating a customer for an account that is not connected never calls an accounting system, and an
account on QuickBooks never needs the Xero adapter (nor the JWT library Xero's sign-in needs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from arsync.config import Settings
from arsync.connectors.base import AccountingConnector
from arsync.models.account import Connection
from arsync.models.common import AccountingSystem

if TYPE_CHECKING:
    import requests

    from arsync.connectors.adapter import OAuthHttpAdapter
    from arsync.connectors.http import RateLimiterRegistry, Timeouts
    from arsync.connectors.tokens import TokenStore


class ConnectorProvider:
    """`token_store` is a factory for the same reason: the token store module brings the HTTP policy with it.
    What is made on first use is made under a lock: two threads must never get different rate-limiter
    registries (each would allow the full limit)."""

    def __init__(self, settings: Settings, token_store: Callable[[], TokenStore]) -> None:
        self.settings = settings
        self._make_token_store = token_store
        self._lock = threading.Lock()
        self._token_store: TokenStore | None = None
        self._limiters: RateLimiterRegistry | None = None
        self._sessions: dict[AccountingSystem, requests.Session] = {}

    @property
    def token_store(self) -> TokenStore:
        with self._lock:
            if self._token_store is None:
                self._token_store = self._make_token_store()
            return self._token_store

    @property
    def limiters(self) -> RateLimiterRegistry:
        with self._lock:
            if self._limiters is None:
                from arsync.connectors.http import RateLimiterRegistry

                self._limiters = RateLimiterRegistry()
            return self._limiters

    def _session(self, system: AccountingSystem) -> requests.Session:
        with self._lock:
            if system not in self._sessions:
                import requests

                self._sessions[system] = requests.Session()
            return self._sessions[system]

    def _timeouts(self) -> Timeouts:
        from arsync.connectors.http import Timeouts

        return Timeouts(read=self.settings.CONNECTOR_TIMEOUT_SECONDS)

    def oauth(self, system: AccountingSystem, company_id: str | None = None) -> OAuthHttpAdapter:
        """An adapter without credentials: authorization URL, code exchange, refresh, revoke."""
        from arsync.connectors.http import RateLimits

        s = self.settings
        connector: OAuthHttpAdapter
        if system is AccountingSystem.QUICKBOOKS_ONLINE:
            from arsync.connectors.quickbooks import QuickBooksConfig, QuickBooksOnlineConnector

            connector = QuickBooksOnlineConnector(
                QuickBooksConfig(
                    client_id=s.QBO_CLIENT_ID,
                    client_secret=s.QBO_CLIENT_SECRET,
                    auth_url=s.QBO_AUTH_URL,
                    token_url=s.QBO_TOKEN_URL,
                    revoke_url=s.QBO_REVOKE_URL,
                    api_url=s.QBO_API_URL,
                    company_id=company_id,
                    timeouts=self._timeouts(),
                    limits=RateLimits(per_minute=s.QBO_RATE_LIMIT_PER_MINUTE, concurrent=s.QBO_RATE_LIMIT_CONCURRENT),
                ),
                session=self._session(system),
                limiters=self.limiters,
            )
        elif system is AccountingSystem.XERO:
            from arsync.connectors.xero import XeroConfig, XeroConnector

            connector = XeroConnector(
                XeroConfig(
                    client_id=s.XERO_CLIENT_ID,
                    client_secret=s.XERO_CLIENT_SECRET,
                    auth_url=s.XERO_AUTH_URL,
                    token_url=s.XERO_TOKEN_URL,
                    revoke_url=s.XERO_REVOKE_URL,
                    connections_url=s.XERO_CONNECTIONS_URL,
                    api_url=s.XERO_API_URL,
                    company_id=company_id,
                    timeouts=self._timeouts(),
                    limits=RateLimits(per_minute=s.XERO_RATE_LIMIT_PER_MINUTE, concurrent=s.XERO_RATE_LIMIT_CONCURRENT),
                ),
                session=self._session(system),
                limiters=self.limiters,
            )
        else:
            raise ValueError(f"no connector for {system}")
        return connector

    def connector(self, tenant_id: str, connection: Connection) -> AccountingConnector:
        """The adapter for this account, its credentials refreshed under the per-connection lease."""
        from arsync.connectors.tokens import TokenManager

        connector = self.oauth(connection.system, connection.company_id)
        connector.credentials = TokenManager(self.token_store, connector, connection_key=tenant_id)
        return connector
