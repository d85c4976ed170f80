"""Local stand-in for the Cognito user pool: HS256 ID tokens carrying `custom:tenant_id`.

The secret comes from ARSYNC_LOCAL_JWT_SECRET (default `local-dev-secret`). Only the local gateway
accepts these tokens; deployed stacks use the real Cognito authorizer.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
import warnings
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

DEFAULT_SECRET = "local-dev-secret"  # documented default; set ARSYNC_LOCAL_JWT_SECRET for anything shared
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
ISSUER = "arsync-local-cognito"
AUDIENCE = "arsync-local-web"


def jwt_secret() -> str:
    return os.environ.get("ARSYNC_LOCAL_JWT_SECRET", DEFAULT_SECRET)


def issue_token(
    tenant_id: str, user: str = "demo@example.com", ttl_seconds: int = 3600, secret: str | None = None
) -> str:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{user}")),
        "email": user,
        "custom:tenant_id": tenant_id,
        "token_use": "id",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret or jwt_secret(), algorithm="HS256")


def verify_token(authorization: str | None, secret: str | None = None) -> dict[str, Any] | None:
    """The authorizer's decision: the verified claims, or None (→ 401) for a missing, forged, expired,
    `alg:none` or tenant-less token."""
    if not authorization:
        return None
    token = authorization.removeprefix("Bearer ").strip()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret or jwt_secret(),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "custom:tenant_id"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("token_use") != "id" or not isinstance(claims.get("custom:tenant_id"), str):
        return None
    return claims


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a local ID token for a tenant (for curl against make serve)")
    parser.add_argument("--tenant", default="demo-tenant")
    parser.add_argument("--user", default="demo@example.com")
    parser.add_argument("--ttl", type=int, default=3600)
    args = parser.parse_args()
    print(issue_token(args.tenant, args.user, args.ttl))


if __name__ == "__main__":
    main()
