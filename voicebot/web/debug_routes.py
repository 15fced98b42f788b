"""GET /debug/tasks: the process's asyncio tasks by kind, and its threads, for leak hunts.

Task names carry call ids, so the view is behind the records token (issue 12: it was
open to anyone who could reach the port). Names are grouped with their ids stripped and
the answer is ASCII JSON: a call id no UTF-8 can carry ("\\ud800") cannot make it a 500.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from voicebot.web.auth import require_token

# "brain:<call id>" -> "brain", "Task-12" -> "Task": a kind, never a caller's id.
_ID_SUFFIX = re.compile(r":.*$|-\d+$", re.DOTALL)


def make_debug_router(token: str | None) -> APIRouter:
    router = APIRouter(dependencies=[Depends(require_token(token))])

    @router.get("/debug/tasks")
    async def debug_tasks() -> Response:
        # Leaks show up here: once every call has ended only the server's own tasks remain.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        kinds = Counter(_ID_SUFFIX.sub("", t.get_name()) for t in tasks)
        body = {"tasks": len(tasks), "by_name": dict(kinds), "threads": threading.active_count()}
        return Response(json.dumps(body, ensure_ascii=True), media_type="application/json")

    return router
