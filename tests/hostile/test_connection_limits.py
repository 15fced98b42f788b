"""Issue 12, finding 2, through the real server: no credentials are needed to open
connections, so their number and their silence are what is limited. A flood of silent
sockets, slow-loris handshakes, silent media WebSockets and calls beyond the cap are each
closed, counted, and a legitimate call still connects and is answered meanwhile.

The limits are set low here (tens and hundreds) so the floods stay small and short;
bench/fuzz_floods.py runs the 20,000-connection version."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
import websockets

from tests.faults.helpers import (
    TOKEN,
    connect_and_listen,
    health_status,
    media_url,
    open_fds,
    value,
    wait_until,
)
from voicebot.testing.server import running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parents[1] / "faults" / "flows" / "faults.yaml"
MAX_CONNECTIONS = 100
CLOSED = "voicebot_connections_closed_total"


@pytest.fixture(scope="module")
def server():
    with running_server(FLOW, server={"media_token": TOKEN, "max_connections": MAX_CONNECTIONS,
                                      "max_calls": 3, "handshake_timeout_s": 2.0,
                                      "idle_timeout_s": 2.0}) as srv:
        yield srv


def _address(srv: dict) -> tuple[str, int]:
    host, port = srv["http"].removeprefix("http://").split(":")
    return host, int(port)


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        while sock.recv(4096):
            pass  # a 408 first, then the end
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_slow_loris_handshakes_are_closed_at_the_handshake_timeout(server) -> None:
    before = value(server, CLOSED, reason="handshake_timeout")
    socks = [socket.create_connection(_address(server)) for _ in range(30)]
    try:
        started = time.monotonic()
        for i, s in enumerate(socks):  # half send nothing, half one byte at a time
            if i % 2:
                s.sendall(b"G")
        for _ in range(2):
            time.sleep(1.0)
            for s in socks[1::2]:
                try:
                    s.sendall(b"E")
                except OSError:
                    pass
        deadline = started + 15  # the timeout is 2 s; the rest is slack for a loaded machine
        assert all(_closed_by_server(s, deadline) for s in socks)
    finally:
        for s in socks:
            s.close()
    assert value(server, CLOSED, reason="handshake_timeout") - before >= 30


def test_a_silent_media_websocket_is_closed_when_idle(server) -> None:
    async def silent() -> tuple[int | None, str | None]:
        async with websockets.connect(media_url(server)) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 20)
            except websockets.ConnectionClosed:
                pass
            return ws.close_code, ws.close_reason

    before = value(server, CLOSED, reason="idle")
    code, reason = asyncio.run(silent())
    assert code == 1008 and reason and "idle" in reason
    assert value(server, CLOSED, reason="idle") - before == 1


def test_calls_beyond_the_cap_are_closed_with_1013(server) -> None:
    async def scenario() -> int | None:
        held = [await websockets.connect(media_url(server)) for _ in range(3)]
        try:
            keep = asyncio.gather(*(ws.send(b"\x00" * 160) for ws in held))
            await keep
            refused = await connect_and_listen(media_url(server))
            return refused.closed_code
        finally:
            for ws in held:
                await ws.close()

    before = value(server, "voicebot_calls_refused_total", reason="max_calls")
    assert asyncio.run(scenario()) == 1013
    assert value(server, "voicebot_calls_refused_total", reason="max_calls") - before == 1


def test_a_flood_of_silent_connections_cannot_lock_out_a_call(server) -> None:
    pid = server["process"].pid
    fds_before = open_fds(pid)
    before = value(server, CLOSED, reason="evicted")
    flood = []
    try:
        for _ in range(1000):  # ten times the cap, held open by the client
            flood.append(socket.create_connection(_address(server)))
        wait_until(lambda: value(server, CLOSED, reason="evicted") - before >= 800, 20,
                   "the server to drop the flood's oldest connections")
        # The server holds at most its cap, whatever the client holds open.
        assert open_fds(pid) <= fds_before + MAX_CONNECTIONS + 10
        assert health_status(server) == 200
        caller = asyncio.run(connect_and_listen(media_url(server)))
        assert caller.kinds() and caller.kinds()[0] == "streamAudio", caller.kinds()
    finally:
        for s in flood:
            s.close()
    assert "Traceback" not in server["log"].read_text()
