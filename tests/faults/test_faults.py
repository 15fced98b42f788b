"""Faults against the real server: a plugin that raises or hangs, a media server that
goes away mid-prompt or sends what it should not, a caller without the media token.
Each costs at most one turn or one connection; the server and the other calls live on.

One `voicebot serve` for the module, with the fault plugins registered by import path
and a media token; the calls are real-time PCMU RTP from the simulator.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import numpy as np
import pytest
import websockets

from tests.faults.helpers import (
    RECORDS_TOKEN,
    TOKEN,
    RawCaller,
    call_record,
    connect_and_listen,
    media_url,
    open_fds,
    server_tasks,
    value,
    wait_until,
)
from voicebot.simulator import Key, Silence, Speech, WaitFor, WaitQuiet, simulate
from voicebot.testing.callers import espeak_8k
from voicebot.testing.server import running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parent / "flows" / "faults.yaml"
AGENT = "+33123456789"
TTS_TIMEOUT_S = 1.5
ERRORS = "voicebot_errors_total"
WHISPER = {"model": "bundled", "compute_type": "int8", "beam_size": 1, "cpu_threads": 2}
# A 20 ms silent "utterance": a labelled mark in the simulator's timeline.
MARK = np.zeros(160, np.int16)


@pytest.fixture(scope="module")
def server():
    with running_server(
        FLOW,
        stt={"use": "tests.faults.fault_plugins:FaultySTT",
             "options": {"raise_on": r"weather", "whisper": WHISPER}},
        tts={"use": "tests.faults.fault_plugins:HangingTTS",
             "options": {"hang_on": r"weather report", "hang_s": 6.0}},
        listen={"tts_timeout_s": TTS_TIMEOUT_S},
        server={"media_token": TOKEN},
        records={"token": RECORDS_TOKEN},
    ) as srv:
        yield srv


def _audio_between(result, start: float, end: float) -> list:
    return [r for r in result.of("streamAudio") if start < r.at < end]


def _seconds(events: list) -> float:
    return sum(len(base64.b64decode(r.event["data"]["audioData"])) / 2
               / r.event["data"]["sampleRate"] for r in events)


def test_raising_stt_costs_one_turn(server) -> None:
    errors = value(server, ERRORS, kind="stt")
    weather = espeak_8k("What is the weather like today?")
    agent = espeak_8k("I would like to speak to an agent")
    script = [WaitQuiet(0.6, timeout=20), Silence(0.5), Speech(weather, "weather"),
              Silence(7.0), Speech(agent, "agent"), Silence(5.0)]
    result = asyncio.run(simulate(
        media_url(server), script, timeout=50,
        start_message={"event": "start", "call_id": "fault-stt"}))

    assert value(server, ERRORS, kind="stt") == errors + 1
    # The flow's error prompt is heard after the failed turn, before the caller speaks again.
    apology = _audio_between(result, result.marks["weather.end"], result.marks["agent.start"])
    assert _seconds(apology) > 2.0, "the error prompt must be spoken"
    # ... and the call goes on: the next turn is understood and transferred.
    assert [r.event for r in result.of("transfer")] == [{"event": "transfer", "data": AGENT}]
    _call, turns = call_record(server["db"], "fault-stt")
    assert any((t["error"] or "").startswith("stt") for t in turns), turns
    assert any(t["intent"] == "agent" for t in turns), turns


def test_hung_tts_times_out_and_the_call_lives_on(server) -> None:
    errors = value(server, ERRORS, kind="tts")
    # Key 1: a prompt the TTS hangs on, then the next state's prompt; key 0: an agent.
    script = [WaitQuiet(0.6, timeout=20), Speech(MARK, "key1"), Key("1"), Silence(6.0),
              Speech(MARK, "key0"), Key("0"), Silence(5.0)]
    result = asyncio.run(simulate(media_url(server), script, timeout=40))

    after = _audio_between(result, result.marks["key1.end"], result.marks["key0.start"])
    assert after, "the prompt after the hung one must be spoken"
    waited = after[0].at - result.marks["key1.end"]
    # Nothing until the time-out (the hung sentence was skipped), then the next prompt.
    assert TTS_TIMEOUT_S - 0.2 < waited < TTS_TIMEOUT_S + 4.0, waited
    assert value(server, ERRORS, kind="tts") == errors + 1
    assert [r.event for r in result.of("transfer")] == [{"event": "transfer", "data": AGENT}]


def test_disconnect_mid_playback_cleans_up(server) -> None:
    pid = server["process"].pid
    wait_until(lambda: value(server, "voicebot_active_calls") == 0, 10, "no active call")
    fds, tasks = open_fds(pid), server_tasks(server)
    # Hang up 2.5 s into the call: the greeting (about 7 s) is still playing.
    result = asyncio.run(simulate(
        media_url(server), [Silence(0.2)], timeout=2.5, until=(),
        start_message={"event": "start", "call_id": "fault-hangup"}))
    assert result.of("streamAudio") and not result.of("transfer")

    wait_until(lambda: value(server, "voicebot_active_calls") == 0, 5, "the call to close")
    wait_until(lambda: call_record(server["db"], "fault-hangup")[0].get("closed_at"), 5,
               "the record to be closed")
    assert call_record(server["db"], "fault-hangup")[0]["close_reason"] == "disconnect"
    # The WebSocket's socket is gone; nothing else was left open.
    wait_until(lambda: open_fds(pid) <= fds, 5, f"open files back to {fds}")
    wait_until(lambda: server_tasks(server) <= tasks, 5, f"asyncio tasks back to {tasks}")

    # The server takes the next call as if nothing happened.
    again = asyncio.run(simulate(media_url(server), [WaitFor("streamAudio", timeout=15)],
                                 timeout=20, until=("streamAudio",)))
    assert again.of("streamAudio")


async def _send_oversized(url: str, frames: list[bytes | str]) -> RawCaller:
    async with websockets.connect(url, max_size=2**22) as ws:
        caller = RawCaller(ws)
        receiver = asyncio.create_task(caller.receive())
        await caller.silence(0.4)
        for frame in frames:
            await ws.send(frame)
        # Keep the call going until the greeting is heard: the call outlived the frames.
        for _ in range(100):
            if "streamAudio" in caller.kinds() or caller.closed_code is not None:
                break
            await caller.silence(0.1)
        await ws.close()
        await receiver
    return caller


def test_oversized_frame_is_dropped_and_counted(server) -> None:
    dropped = value(server, "voicebot_frames_dropped_total", reason="oversized")
    frames: list[bytes | str] = [b"\x80" + bytes(20_000), "{" + " " * 20_000 + "}"]
    caller = asyncio.run(_send_oversized(media_url(server), frames))
    assert "streamAudio" in caller.kinds(), "the call must go on after the oversized frames"
    assert value(server, "voicebot_frames_dropped_total", reason="oversized") == dropped + 2


def test_frame_beyond_the_websocket_limit_closes_only_that_call(server) -> None:
    """Above uvicorn's ws_max_size the WebSocket layer closes the connection (1009) before
    voicebot sees the frame: that call ends, the server does not."""
    caller = asyncio.run(_send_oversized(media_url(server), [bytes(2**21)]))
    assert caller.closed_code == 1009
    wait_until(lambda: value(server, "voicebot_active_calls") == 0, 5, "the call to close")
    again = asyncio.run(simulate(media_url(server), [WaitFor("streamAudio", timeout=15)],
                                 timeout=20, until=("streamAudio",)))
    assert again.of("streamAudio")


@pytest.mark.parametrize("how", ["none", "wrong query", "wrong header"])
def test_media_without_the_token_is_refused(server, how: str) -> None:
    refused = value(server, ERRORS, kind="media_unauthorised")
    url = media_url(server, None if how == "none" else "not-" + TOKEN if "query" in how else None)
    headers = {"Authorization": "Bearer nope"} if "header" in how else None
    caller = asyncio.run(connect_and_listen(url, headers))
    assert not caller.received
    assert caller.closed_code in (403, 1008), caller.closed_code
    assert value(server, ERRORS, kind="media_unauthorised") == refused + 1


@pytest.mark.parametrize("how", ["query", "header"])
def test_media_with_the_token_is_served(server, how: str) -> None:
    url = media_url(server, TOKEN if how == "query" else None)
    headers = {"Authorization": f"Bearer {TOKEN}"} if how == "header" else None
    caller = asyncio.run(connect_and_listen(url, headers))
    assert "streamAudio" in caller.kinds()


async def _stop_and_wait_close(url: str) -> int | None:
    async with websockets.connect(url) as ws:
        caller = RawCaller(ws)
        receiver = asyncio.create_task(caller.receive())
        await ws.send(json.dumps({"event": "start", "call_id": "fault-stop"}))
        await caller.silence(0.4)
        await ws.send(json.dumps({"event": "stop"}))
        await asyncio.wait_for(receiver, 5)
        return caller.closed_code


def test_stop_message_ends_the_call_with_a_clean_close(server) -> None:
    """After a media server's stop, the server ends the session and must close the
    WebSocket (1000); returning from the handler instead makes uvicorn drop the TCP
    connection, which the media server sees as an abnormal closure (1006)."""
    assert asyncio.run(_stop_and_wait_close(media_url(server))) == 1000
    wait_until(lambda: call_record(server["db"], "fault-stop")[0].get("closed_at"), 5,
               "the record to be closed")
    assert call_record(server["db"], "fault-stop")[0]["close_reason"] == "stop"


def test_a_bad_control_message_is_counted_once(server) -> None:
    """One malformed text frame is one dropped frame. (Today the handler counts it as
    reason="bad_control" and, at the end of the call, the decoder's own count adds it
    again as reason="bad_json".)"""
    before = value(server, "voicebot_frames_dropped_total")

    async def call() -> None:
        async with websockets.connect(media_url(server)) as ws:
            caller = RawCaller(ws)
            await caller.silence(0.3)
            await ws.send("{not json")
            await caller.silence(0.3)

    asyncio.run(call())
    wait_until(lambda: value(server, "voicebot_active_calls") == 0, 5, "the call to close")
    assert value(server, "voicebot_frames_dropped_total") == before + 1


async def _speak_and_hang_up(url: str, speech: np.ndarray) -> RawCaller:
    async with websockets.connect(url) as ws:
        caller = RawCaller(ws)
        receiver = asyncio.create_task(caller.receive())
        await ws.send('{"event": "start", "call_id": "fault-mid-turn"}')
        await caller.silence(0.5)
        await caller.audio(speech)
        await caller.silence(0.5)  # the hangover ends: the turn's transcription starts
        await ws.close()
        await receiver
    return caller


def test_disconnect_mid_turn_leaves_no_task(server) -> None:
    """Hang up while the turn is being transcribed (and the greeting still plays): the
    session's tasks (brain, transcription, no-input timer, outbox) all end."""
    wait_until(lambda: value(server, "voicebot_active_calls") == 0, 10, "no active call")
    tasks = server_tasks(server)
    asyncio.run(_speak_and_hang_up(media_url(server), espeak_8k("I need to speak to an agent")))
    wait_until(lambda: value(server, "voicebot_active_calls") == 0, 5, "the call to close")
    wait_until(lambda: server_tasks(server) <= tasks, 10, f"asyncio tasks back to {tasks}")
    assert call_record(server["db"], "fault-mid-turn")[0]["close_reason"] == "disconnect"
