"""GET /calls and GET /calls/{id}: the call records, behind a bearer token.

Records hold phone numbers and what callers said, so there is no anonymous mode: with
no token configured the API answers 403 and says how to enable it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from voicebot.store.kinds import RecordStore
from voicebot.web.auth import require_token

MAX_LIST = 1000


def _json(body: dict[str, Any]) -> Response:
    # Records are JSON already: json.dumps writes them as they are. FastAPI's encoder
    # walks them in Python and ran out of stack on webhook data nested 300 deep (a 500).
    text = json.dumps(body, ensure_ascii=True, default=str)
    return Response(text, media_type="application/json")


def make_calls_router(store: RecordStore, token: str | None) -> APIRouter:
    router = APIRouter(dependencies=[Depends(require_token(token))])

    @router.get("/calls")
    async def list_calls(
        limit: int = Query(50, ge=1, le=MAX_LIST),
    ) -> Response:
        calls = await store.alist_calls(limit)
        return _json({"calls": calls, "count": len(calls)})

    @router.get("/calls/{call_id}")
    async def get_call(call_id: str) -> Response:
        record = await store.aget_call(call_id)
        if record is None:
            raise HTTPException(404, f"no call {call_id!r}")
        return _json(record)

    return router
