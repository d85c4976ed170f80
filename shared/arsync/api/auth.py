"""Who is calling: the tenant and user come only from the verified Cognito authorizer claims."""

import re
from dataclasses import dataclass

from aws_lambda_powertools.event_handler import Request

from arsync.errors import DomainError

_TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Unauthenticated(DomainError):
    """No verified tenant claim reached the function (API Gateway should have refused it already)."""


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user: str


def current_caller(request: Request) -> Caller:
    """Read the verified claims API Gateway attached; never the path, query, body or headers."""
    context = request.resolved_event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    tenant = claims.get("custom:tenant_id")
    if not isinstance(tenant, str) or not _TENANT_ID.match(tenant):
        raise Unauthenticated("The request carries no valid tenant claim.")
    user = claims.get("email") or claims.get("cognito:username") or claims.get("sub") or "unknown"
    return Caller(tenant_id=tenant, user=str(user))
