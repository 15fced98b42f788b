"""GET /calls and GET /calls/{id}: the call records, behind a bearer token.

Records hold phone numbers and what callers said, so there is no anonymous mode: with
no token configured the API answers 403 and says how to enable it.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from voicebot.store.records import CallStore

MAX_LIST = 1000


def make_calls_router(store: CallStore, token: str | None) -> APIRouter:
    def authorised(request: Request) -> None:
        if token is None:
            raise HTTPException(
                403,
                "the call records API is disabled until a token is configured "
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

    router = APIRouter(dependencies=[Depends(authorised)])

    @router.get("/calls")
    async def list_calls(
        limit: int = Query(50, ge=1, le=MAX_LIST),
    ) -> dict[str, Any]:
        calls = await store.alist_calls(limit)
        return {"calls": calls, "count": len(calls)}

    @router.get("/calls/{call_id}")
    async def get_call(call_id: str) -> dict[str, Any]:
        record = await store.aget_call(call_id)
        if record is None:
            raise HTTPException(404, f"no call {call_id!r}")
        return record

    return router
