"""Settings read once from the environment through one pydantic model (never `os.environ` elsewhere)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Settings(BaseModel):
    """Every knob a function reads. Names are the environment variable names."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    POWERTOOLS_SERVICE_NAME: str = "arsync"
    POWERTOOLS_METRICS_NAMESPACE: str = "arsync"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    TABLE_NAME: str = Field(default="arsync-app", min_length=1)
    SYNC_QUEUE_URL: str = ""
    TOKEN_SECRET_PREFIX: str = "arsync/connections/"
    OAUTH_STATE_SECRET: SecretStr = SecretStr("local-oauth-state-secret")
    OAUTH_REDIRECT_URI: str = "http://127.0.0.1:3000/connection/callback"
    QBO_CLIENT_ID: str = "arsync-local"
    QBO_CLIENT_SECRET: SecretStr = SecretStr("arsync-local-secret")
    QBO_AUTH_URL: str = "https://appcenter.intuit.com/connect/oauth2"
    QBO_TOKEN_URL: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    QBO_REVOKE_URL: str = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    QBO_API_URL: str = "https://quickbooks.api.intuit.com"
    QBO_WEBHOOK_VERIFIER: SecretStr = SecretStr("local-qbo-verifier")
    XERO_CLIENT_ID: str = "arsync-local"
    XERO_CLIENT_SECRET: SecretStr = SecretStr("arsync-local-secret")
    XERO_AUTH_URL: str = "https://login.xero.com/identity/connect/authorize"
    XERO_TOKEN_URL: str = "https://identity.xero.com/connect/token"
    XERO_REVOKE_URL: str = "https://identity.xero.com/connect/revocation"
    XERO_CONNECTIONS_URL: str = "https://api.xero.com/connections"
    XERO_API_URL: str = "https://api.xero.com/api.xro/2.0"
    XERO_WEBHOOK_KEY: SecretStr = SecretStr("local-xero-webhook-key")
    IDEMPOTENCY_TTL_SECONDS: int = Field(default=86_400, ge=60)
    SYNC_LEASE_SECONDS: int = Field(default=900, ge=30)
    CONNECTOR_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    # Client-side limits per connection, below the providers' (QBO 500/min, 10 concurrent; Xero 60/min, 5).
    QBO_RATE_LIMIT_PER_MINUTE: int = Field(default=450, gt=0)
    QBO_RATE_LIMIT_CONCURRENT: int = Field(default=8, gt=0)
    XERO_RATE_LIMIT_PER_MINUTE: int = Field(default=55, gt=0)
    XERO_RATE_LIMIT_CONCURRENT: int = Field(default=4, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Cached so every invocation of a warm container reuses one parse; tests call `cache_clear()`."""
    return Settings.model_validate(dict(os.environ))
