"""Logging: every line carries the call id, as text or as one JSON object per line.

The call id lives in a context variable set by the media handler; asyncio tasks inherit
it, and `call_plugin` carries it into executor threads, so even a plugin's own log
lines (e.g. faster-whisper's) say which call they belong to.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar

call_id_var: ContextVar[str] = ContextVar("call_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(call_id)s] %(message)s"


class CallIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "call_id"):
            record.call_id = call_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "call_id": getattr(record, "call_id", "-"),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(CallIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
