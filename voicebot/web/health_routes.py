"""GET /readyz and /livez: what a load balancer and an orchestrator ask a worker.

/readyz answers 200 only while the worker should be sent new calls: its plugins are
loaded, it is not draining, and (in a cluster) it reaches the call directory, without
which webhooks from other workers would not find its calls. A draining worker answers
503 at once, so the load balancer stops sending it calls while the live ones finish.
/livez answers 200 while the event loop runs at all: restart the process only when it
does not (a draining worker is alive, only not ready).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse


def make_health_router(services: Any) -> APIRouter:
    """`services`: voicebot.call.services.Services (web/ sits beside call/, not above it)."""
    router = APIRouter()

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        calls = services.calls
        checks = {
            "loaded": bool(services.ready),
            "accepting": not services.draining,
            "directory": calls is None or calls.healthy(),
        }
        ready = all(checks.values())
        body: dict[str, Any] = {"ready": ready, **checks, "active_calls": services.active_calls}
        worker = getattr(calls, "worker", None)
        if worker is not None:
            body["worker"] = worker
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/livez")
    async def livez() -> JSONResponse:
        return JSONResponse({"alive": True, "draining": services.draining})

    return router
