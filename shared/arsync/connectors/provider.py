"""Builds the adapter for an account's connection: config from Settings, tokens from the token store.

One instance per container: it keeps one `requests.Session` per system (connection reuse) and one
rate-limiter registry, so every connection's client-side limits hold across invocations of a warm container.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from arsync.config import Settings
from arsync.connectors.adapter import OAuthHttpAdapter
from arsync.connectors.base import AccountingConnector
from arsync.connectors.http import RateLimiterRegistry, RateLimits, Timeouts
from arsync.connectors.quickbooks import QuickBooksConfig, QuickBooksOnlineConnector
from arsync.connectors.tokens import TokenManager, TokenStore
from arsync.connectors.xero import XeroConfig, XeroConnector
from arsync.models.account import Connection
from arsync.models.common import AccountingSystem


class ConnectorProvider:
    def __init__(
        self,
        settings: Settings,
        token_store: TokenStore,
        session_factory: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        self.settings = settings
        self.token_store = token_store
        self._session_factory = session_factory
        self._sessions: dict[AccountingSystem, requests.Session] = {}
        self.limiters = RateLimiterRegistry()

    def _session(self, system: AccountingSystem) -> requests.Session:
        if system not in self._sessions:
            self._sessions[system] = self._session_factory()
        return self._sessions[system]

    def _timeouts(self) -> Timeouts:
        return Timeouts(read=self.settings.CONNECTOR_TIMEOUT_SECONDS)

    def oauth(self, system: AccountingSystem, company_id: str | None = None) -> OAuthHttpAdapter:
        """An adapter without credentials: authorization URL, code exchange, refresh, revoke."""
        s = self.settings
        connector: OAuthHttpAdapter
        if system is AccountingSystem.QUICKBOOKS_ONLINE:
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
        connector = self.oauth(connection.system, connection.company_id)
        connector.credentials = TokenManager(self.token_store, connector, connection_key=tenant_id)
        return connector
