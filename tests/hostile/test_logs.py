"""Log lines are escaped, redacted and rate-limited (issue 12, findings 2 and 4)."""

from __future__ import annotations

import io
import json
import logging

from voicebot.logs import (
    REDACTED,
    CallIdFilter,
    JsonFormatter,
    RepeatLimiter,
    TextFormatter,
    call_id_var,
    escape,
    redact,
)


def _logger(fmt: logging.Formatter, limiter: RepeatLimiter | None = None
            ) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    if limiter is not None:
        handler.addFilter(limiter)
    handler.addFilter(CallIdFilter())
    handler.setFormatter(fmt)
    logger = logging.getLogger(f"test-logs-{id(out)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, out


def test_escape_keeps_one_line_and_no_control_characters() -> None:
    assert escape("a\nb\r\x1b[31m\x07\x00\x7f\x85\u2028\ud800") == (
        "a\\x0ab\\x0d\\x1b[31m\\x07\\x00\\x7f\\x85\\u2028\\ud800")
    assert escape("plain café ☎") == "plain café ☎"


def test_redact_hides_credentials_in_urls() -> None:
    line = '127.0.0.1:5 - "GET /calls?limit=5&token=s3cret&x=1 HTTP/1.1" 200'
    assert redact(line) == f'127.0.0.1:5 - "GET /calls?limit=5&token={REDACTED}&x=1 HTTP/1.1" 200'
    assert "abc" not in redact("WebSocket /media?token=abc")
    assert redact("tokens=3 keyboard") == "tokens=3 keyboard"


def test_a_forged_call_id_stays_on_its_line_in_text_and_json() -> None:
    forged = "x\n2026-01-01 INFO voicebot.app [admin] FORGED\x1b"
    for fmt in (TextFormatter("[%(call_id)s] %(message)s"), JsonFormatter()):
        logger, out = _logger(fmt)
        token = call_id_var.set(forged)
        try:
            logger.info("start of call %s with %s", forged, "\ud800")
        finally:
            call_id_var.reset(token)
        text = out.getvalue()
        assert text.count("\n") == 1 and "\x1b" not in text
        text.encode()  # no lone surrogate reaches the stream
        if isinstance(fmt, JsonFormatter):
            assert json.loads(text)["call_id"].startswith("x\\x0a")


def test_a_flood_of_one_line_is_cut_and_counted() -> None:
    now = [0.0]
    limiter = RepeatLimiter(burst=5, window_s=10, clock=lambda: now[0])
    logger, out = _logger(TextFormatter("%(message)s"), limiter)
    for i in range(1000):
        logger.error("socket.accept() out of system resource %d", i)
    logger.warning("another line")  # other lines are not held back by the flood
    assert out.getvalue().count("out of system resource") == 5
    assert "another line" in out.getvalue()
    now[0] = 11.0
    logger.error("socket.accept() out of system resource %d", 1000)
    assert "(995 similar lines suppressed)" in out.getvalue()
    assert limiter.suppressed == 995
