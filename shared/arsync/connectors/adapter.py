"""What every OAuth 2.0 + HTTP adapter shares: construction around `ProviderHttp`, the bindable
credentials, the consent URL and HTTP Basic client authentication. The adapters add the provider's API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from pydantic import SecretStr

from arsync.connectors.base import AccountingConnector, CredentialsProvider
from arsync.connectors.http import ProviderHttp, RateLimiterRegistry, RateLimits, RetryPolicy, Timeouts, utc_now


class OAuthConfig(Protocol):
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> SecretStr: ...
    @property
    def auth_url(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def company_id(self) -> str | None: ...
    @property
    def timeouts(self) -> Timeouts: ...
    @property
    def retry(self) -> RetryPolicy: ...
    @property
    def limits(self) -> RateLimits: ...


class OAuthHttpAdapter(AccountingConnector):
    """`credentials` may be bound after construction (the TokenManager needs the adapter too)."""

    def __init__(
        self,
        config: OAuthConfig,
        *,
        session: requests.Session | None = None,
        credentials: CredentialsProvider | None = None,
        limiters: RateLimiterRegistry | None = None,
        sleep: Callable[[float], None] | None = None,
        random: Callable[[], float] | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._now = now
        extra: dict[str, Any] = {}
        if sleep is not None:
            extra["sleep"] = sleep
        if random is not None:
            extra["random"] = random
        self.http = ProviderHttp(
            self.system,
            session=session,
            timeouts=config.timeouts,
            retry=config.retry,
            limits=config.limits,
            company_id=config.company_id,
            credentials=credentials,
            limiters=limiters,
            now=now,
            **extra,
        )
        self._oauth = config

    @property
    def credentials(self) -> CredentialsProvider | None:
        return self.http.credentials

    @credentials.setter
    def credentials(self, value: CredentialsProvider | None) -> None:
        self.http.credentials = value

    def authorization_url(self, state: str, redirect_uri: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self._oauth.client_id,
            "redirect_uri": redirect_uri,
            "scope": self._oauth.scope,
            "state": state,
        }
        return f"{self._oauth.auth_url}?{urlencode(query)}"

    def _basic(self) -> tuple[str, str]:
        return (self._oauth.client_id, self._oauth.client_secret.get_secret_value())
