"""Issue 12 through the real server: what a media connection can send to hurt it.

Findings 1 (the sample rate as a memory and CPU bomb) and 3 (a burst of key presses
hanging up the call). Each attack runs against `voicebot serve` over a real WebSocket,
beside a legitimate call or followed by one, which must go on unharmed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from tests.faults.helpers import TOKEN, RawCaller, media_url, value, wait_until
from voicebot.testing.server import running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parents[1] / "faults" / "flows" / "faults.yaml"


@pytest.fixture(scope="module")
def server():
    with running_server(FLOW, server={"media_token": TOKEN}) as srv:
        yield srv


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _close_code(url: str, first: str | bytes | None = None) -> tuple[int | None, str]:
    """Connect, send `first` (and a raw 480-byte frame), return how the server closed."""
    async with websockets.connect(url, open_timeout=10) as ws:
        if first is not None:
            await ws.send(first)
        try:
            await ws.send(b"\x00" * 480)  # the frame that built a 2.3 GB filter
            await asyncio.wait_for(ws.recv(), 10)
            await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed:
            pass
        except TimeoutError:
            return None, "still open"
        return ws.close_code, ws.close_reason or ""


@pytest.mark.parametrize("query", ["sample_rate=1", "sample_rate=249989", "sample_rate=abc",
                                   "sample_rate=0", "sample_rate=-8000", "encoding=bogus",
                                   "sample_rate=8001"])
def test_exotic_rates_in_the_url_are_refused_with_1003(server, query: str) -> None:
    before = _rss_kb(server["process"].pid)
    code, reason = asyncio.run(_close_code(media_url(server) + "&" + query))
    assert code == 1003, (code, reason)
    assert "8000" in reason or "pcmu" in reason  # it says what is accepted
    # No filter was built: the server did not grow by the hundreds of MB it used to.
    assert _rss_kb(server["process"].pid) - before < 50_000
    assert "Traceback" not in server["log"].read_text()


def test_a_start_message_with_an_exotic_rate_is_refused_with_1003(server) -> None:
    start = json.dumps({"event": "start", "call_id": "bomb-start", "sample_rate": 8009})
    code, reason = asyncio.run(_close_code(media_url(server), start))
    assert code == 1003, (code, reason)
    assert value(server, "voicebot_calls_refused_total", reason="unsupported_media") >= 1


def test_accepted_rates_still_work(server) -> None:
    for rate in (8000, 16000, 44100):
        code, reason = asyncio.run(_close_code(media_url(server) + f"&sample_rate={rate}"))
        # The bot answers (a greeting arrives) instead of closing.
        assert code is None or code == 1000, (rate, code, reason)


async def _key_flood(url: str, digits: str) -> tuple[RawCaller, int, int | None]:
    """Press `digits` in one message during the greeting; keep the line up 3 s more."""
    async with websockets.connect(url) as ws:
        caller = RawCaller(ws)
        receiver = asyncio.create_task(caller.receive())
        await ws.send(json.dumps({"event": "start", "call_id": "key-flood"}))
        for _ in range(100):  # until the greeting is playing
            if "streamAudio" in caller.kinds():
                break
            await caller.silence(0.1)
        await ws.send(json.dumps({"event": "dtmf", "digits": digits}))
        await caller.silence(1.0)
        flood_events = len(caller.received)
        await caller.silence(3.0)
        code_while_up = caller.closed_code
        await ws.close()
        await receiver
    return caller, flood_events, code_while_up


def test_forty_keys_at_once_are_one_break_and_the_call_goes_on(server) -> None:
    caller, flood_events, code_while_up = asyncio.run(_key_flood(media_url(server), "7" * 40))
    kinds = caller.kinds()
    assert kinds[:flood_events].count("break") == 1, kinds
    assert code_while_up is None  # the flood did not hang up the call
    # ... and the bot went on talking to it (the keys' no-match prompt).
    assert "streamAudio" in kinds[flood_events:], kinds
    wait_until(lambda: value(server, "voicebot_active_calls") == 0, 10, "the call to end")
    assert "Traceback" not in server["log"].read_text()
