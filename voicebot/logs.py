"""Logging: every line carries the call id, as text or as one JSON object per line.

The call id lives in a context variable set by the media handler; asyncio tasks inherit
it, and `call_plugin` carries it into executor threads, so even a plugin's own log
lines (e.g. faster-whisper's) say which call they belong to.

What a peer sends ends up in log lines (a call id, a path, an event name), so every
line is made safe before it is written (issue 12): control characters and lone
surrogates are escaped (a call id with a newline cannot forge a line, an ESC cannot
drive the terminal), credentials in URLs are redacted (`?token=` in uvicorn's access
log), and a line repeated faster than `RepeatLimiter` allows is counted, not written.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar

call_id_var: ContextVar[str] = ContextVar("call_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(call_id)s] %(message)s"

# C0 controls, DEL, C1 controls, lone surrogates, and the Unicode line/paragraph separators.
UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# A credential in a query string or form: token=..., key=..., api_key=..., signature=...
_SECRET = re.compile(
    r"(?i)((?:^|[?&;\s\"'])(?:token|access_token|api_key|apikey|key|secret|password|signature)=)"
    r"[^&;\s\"']+"
)
REDACTED = "<redacted>"


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` on one line, printable: control characters shown as \\xNN escapes."""
    return UNSAFE_CHARS.sub(_escape_char, text)


def redact(text: str) -> str:
    """`text` with the values of credential parameters replaced."""
    return _SECRET.sub(lambda m: m.group(1) + REDACTED, text)


def safe(text: object) -> str:
    return escape(redact(str(text)))


class CallIdFilter(logging.Filter):
    """Adds the call id, and makes the message safe: escaped and redacted (the record's
    args are folded into it, so no handler formats them raw afterwards)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_id = safe(getattr(record, "call_id", None) or call_id_var.get())
        try:
            message = record.getMessage()
        except Exception as exc:  # a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r} (unformattable: {exc})"
        record.msg, record.args = safe(message), ()
        return True


class RepeatLimiter(logging.Filter):
    """At most `burst` lines per `window_s` from one logger, message template and call;
    the rest are counted and reported on the next line let through from that source.

    Under a connection flood asyncio logged 194,559 tracebacks in 47 s (issue 12): the
    log, not the flood, was what filled the disk and took a core.
    """

    def __init__(self, burst: int = 50, window_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 4096) -> None:
        super().__init__()
        self.burst, self.window_s, self.clock, self.max_keys = burst, window_s, clock, max_keys
        self._seen: dict[tuple[str, int, str, str], list[float]] = {}  # [start, count, dropped]
        self._lock = threading.Lock()  # plugins log from executor threads
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        # Keyed on the template, before the arguments are folded in (CallIdFilter).
        key = (record.name, record.levelno, str(record.msg)[:200],
               str(getattr(record, "call_id", None) or call_id_var.get()))
        now = self.clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.window_s:
                dropped = int(entry[2]) if entry is not None else 0
                if len(self._seen) >= self.max_keys:
                    self._forget(now)
                self._seen[key] = [now, 1, 0]
                if dropped:
                    record.msg = f"{record.msg} ({dropped} similar lines suppressed)"
                return True
            entry[1] += 1
            if entry[1] <= self.burst:
                return True
            entry[2] += 1
            self.suppressed += 1
            return False

    def _forget(self, now: float) -> None:
        stale = [k for k, v in self._seen.items() if now - v[0] >= self.window_s]
        for k in stale or list(self._seen)[: self.max_keys // 2]:
            del self._seen[k]


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
            entry["exc"] = safe_exception(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]
        return safe_exception(super().formatException(ei))


def safe_exception(text: str) -> str:
    """A traceback keeps its own line breaks; each of its lines is made safe."""
    return "\n".join(safe(line) for line in text.split("\n"))


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    # Order matters: repeats are keyed on the message template, which CallIdFilter folds.
    handler.addFilter(RepeatLimiter())
    handler.addFilter(CallIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
