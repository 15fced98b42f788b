"""The operator's bearer token, shared by the routes that show what callers said or did:
the call records (GET /calls) and the debug view (GET /debug/tasks)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request


def require_token(token: str | None) -> Callable[[Request], None]:
    """A FastAPI dependency: 403 while no token is configured (there is no anonymous
    mode), 401 for a missing or wrong one. `Authorization: Bearer <t>` or `?token=<t>`."""

    def authorised(request: Request) -> None:
        if token is None:
            raise HTTPException(
                403,
                "disabled until a token is configured "
                "(set records.token in config.yaml, or VOICEBOT_RECORDS__TOKEN)",
            )
        given = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            given = credentials.strip()
        # Constant-time comparison: the token is the only lock on these records.
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"}
            )

    return authorised
