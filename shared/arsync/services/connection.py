"""Connecting an AR account to its accounting system (B12): OAuth, status, disconnect, needs_reauth."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt

from arsync.clock import Clock, utc_now
from arsync.connectors.errors import AccountingError
from arsync.connectors.provider import ConnectorProvider
from arsync.errors import InvalidOAuthState, NotConnected
from arsync.models.account import Connection
from arsync.models.common import CONNECTABLE_SYSTEMS, AccountingSystem
from arsync.observability import logger
from arsync.store.base import AccountRepository
from arsync.store.connections import DynamoConnectionExtras
from arsync.store.tokens import SecretsManagerTokenStore

STATE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class AuthorizationStart:
    authorization_url: str
    state: str
    expires_at: int


@dataclass
class ConnectionService:
    accounts: AccountRepository
    extras: DynamoConnectionExtras
    tokens: SecretsManagerTokenStore
    connectors: ConnectorProvider
    state_secret: str
    redirect_uri: str
    clock: Clock = utc_now

    def status(self, tenant_id: str) -> Connection | None:
        return self.accounts.get_connection(tenant_id)

    def authorize(self, tenant_id: str, system: AccountingSystem) -> AuthorizationStart:
        """A signed, expiring, single-use `state` bound to the tenant, and the provider's consent URL."""
        if system not in CONNECTABLE_SYSTEMS:
            raise InvalidOAuthState()
        nonce = secrets.token_urlsafe(18)
        expires_at = int((self.clock() + STATE_TTL).timestamp())
        state = jwt.encode({"t": tenant_id, "s": system.value, "n": nonce, "exp": expires_at}, self.state_secret)
        self.extras.remember_state(tenant_id, nonce, expires_at)
        url = self.connectors.oauth(system).authorization_url(state, self.redirect_uri)
        return AuthorizationStart(authorization_url=url, state=state, expires_at=expires_at)

    def complete(self, code: str, state: str, realm_id: str | None) -> tuple[str, Connection]:
        """The OAuth redirect: only a valid, unexpired, unused state names the tenant."""
        try:
            claims = jwt.decode(state, self.state_secret, algorithms=["HS256"], options={"require": ["exp"]})
            tenant_id, system = str(claims["t"]), AccountingSystem(claims["s"])
            nonce = str(claims["n"])
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidOAuthState() from exc
        if not self.extras.consume_state(tenant_id, nonce):
            raise InvalidOAuthState()
        token_set = self.connectors.oauth(system, realm_id).exchange_code(code, self.redirect_uri, realm_id)
        company_id = token_set.company_id or realm_id
        if not company_id:
            raise InvalidOAuthState()
        existing = self.tokens.load(tenant_id)
        self.tokens.save(tenant_id, token_set, expected_version=existing.version if existing else None)
        previous = self.accounts.get_connection(tenant_id)
        connection = Connection(
            system=system,
            status="connected",
            company_id=company_id,
            connected_at=self.clock(),
            version=(previous.version + 1) if previous else 1,
        )
        self.accounts.save_connection(tenant_id, connection, expected_version=previous.version if previous else 0)
        self.extras.map_company(system.value, company_id, tenant_id)
        logger.info("accounting system connected", tenant_id=tenant_id, system=system.value)
        return tenant_id, connection

    def disconnect(self, tenant_id: str) -> None:
        """Revoke the tokens (best effort), forget them, keep every imported record."""
        connection = self.accounts.get_connection(tenant_id)
        if connection is None:
            raise NotConnected()
        stored = self.tokens.load(tenant_id)
        if stored is not None:
            try:
                self.connectors.oauth(connection.system, connection.company_id).revoke(stored.tokens)
            except AccountingError as exc:
                logger.warning("token revocation failed; forgetting the tokens anyway", category=exc.category)
            self.tokens.delete(tenant_id)
        self.extras.unmap_company(connection.system.value, connection.company_id)
        self.accounts.delete_connection(tenant_id)

    def mark_needs_reauth(self, tenant_id: str, error: AccountingError) -> None:
        record_needs_reauth(self.accounts, tenant_id, error)


def record_needs_reauth(accounts: AccountRepository, tenant_id: str, error: AccountingError) -> None:
    """Stop calling the provider for this account until it is reconnected (B12)."""
    connection = accounts.get_connection(tenant_id)
    if connection is None or connection.status == "needs_reauth":
        return
    updated = connection.model_copy(
        update={"status": "needs_reauth", "reauth_reason": error.message, "version": connection.version + 1}
    )
    accounts.save_connection(tenant_id, updated, expected_version=connection.version)
    logger.warning("connection needs re-authorisation", tenant_id=tenant_id, system=connection.system.value)
