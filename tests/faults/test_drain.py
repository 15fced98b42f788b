"""SIGTERM drains: with a call in progress the server stops taking new calls (and says so
on /healthz), lets the call finish, and then exits by itself."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import pytest

from tests.faults.helpers import connect_and_listen, health_status, value, wait_until
from voicebot.simulator import Key, Silence, SimResult, WaitFor, simulate
from voicebot.testing.server import running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parent / "flows" / "faults.yaml"


def test_sigterm_lets_the_active_call_finish_then_exits() -> None:
    with running_server(FLOW, server={"shutdown_grace_s": 20}) as srv:
        proc = srv["process"]
        outcome: dict[str, SimResult] = {}
        # The caller listens to part of the greeting, then presses 0 for an agent: the
        # transfer is the call's natural end, and it comes after SIGTERM.
        script = [WaitFor("streamAudio", after=2.5, timeout=20), Key("0"), Silence(5.0)]
        call = threading.Thread(target=lambda: outcome.update(
            result=asyncio.run(simulate(srv["url"], script, timeout=30))))
        call.start()
        try:
            wait_until(lambda: value(srv, "voicebot_active_calls") == 1, 15, "the call")
            proc.send_signal(signal.SIGTERM)
            wait_until(lambda: health_status(srv) == 503, 5, "/healthz to say draining")

            refused = asyncio.run(connect_and_listen(srv["url"]))
            assert not refused.received
            # Accepted, then closed with 1013 "try again later": not a 403, which a media
            # server would take for an authentication failure.
            assert refused.closed_code == 1013, refused.closed_code
            assert proc.poll() is None, "the server must wait for the active call"
        finally:
            call.join(40)

        result = outcome["result"]
        assert [r.event for r in result.of("transfer")] == [
            {"event": "transfer", "data": "+33123456789"}]
        # uvicorn re-raises the signal it caught once it has shut down, so the exit status
        # says "ended by SIGTERM", as a process manager expects after sending one.
        assert proc.wait(15) in (0, -signal.SIGTERM)
        assert "Traceback" not in srv["log"].read_text()
