"""Every media protocol through the real `voicebot serve`: a Twilio Media Streams call
and a FreeSWITCH mod_audio_stream call each answer a spoken "agent" with a transfer, and
a spoken "goodbye" with the hang-up their platform understands (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voicebot.simulator import Silence, SimResult, Speech, WaitQuiet, simulate
from voicebot.testing.callers import espeak_8k
from voicebot.testing.server import ROOT, running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parent / "flows" / "spine.yaml"
AGENT_NUMBER = "+33123456789"


@pytest.fixture(scope="module")
def server():
    with running_server(FLOW) as srv:
        yield srv


def _call(server, protocol: str, words: str, until=("transfer",), **kwargs) -> SimResult:
    script = [WaitQuiet(0.6), Silence(1.0), Speech(espeak_8k(words), "caller"), Silence(2.0)]
    url = server["url"] + "/" + protocol
    return asyncio.run(simulate(url, script, timeout=40, protocol=protocol, until=until,
                                **kwargs))


def _greeting(result: SimResult) -> np.ndarray:
    chunks = [c for chunks in result.audio.values() for c in chunks]
    assert chunks, "the bot said nothing"
    pcm = np.concatenate(chunks)
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
    assert rms > 300, f"the greeting is (nearly) silent: rms {rms:.0f}"
    return pcm


def _record(server, call_id: str) -> dict:
    db = sqlite3.connect(Path(server["db"]))
    meta = db.execute("select meta from calls where call_id = ?", (call_id,)).fetchone()
    events = [(k, json.loads(d)) for k, d in db.execute(
        "select kind, data from events where call_id = ? order by id", (call_id,))]
    return {"meta": json.loads(meta[0]) if meta else None, "events": events}


def test_twilio_call_transfers_a_caller_who_asks_for_an_agent(server):
    result = _call(server, "twilio", "I would like to speak to an agent",
                   start_message={"from": "+33600000001", "call_id": "CA" + "1" * 32})
    _greeting(result)
    # Twilio's answers: the stream closed, and the <Connect action> URL said <Dial>.
    assert result.closed_by_server
    transfers = result.of("transfer")
    assert [t.event["data"] for t in transfers] == [AGENT_NUMBER], result.after_close_error
    assert "<Dial>+33123456789</Dial>" in transfers[0].event["twiml"]
    # Each chunk was followed by a mark, and the simulator, playing it out, acknowledged.
    assert result.of("mark")
    record = _record(server, "CA" + "1" * 32)
    assert record["meta"]["from_number"] == "+33600000001"
    assert ("epilogue", {"protocol": "twilio", "body": transfers[0].event["twiml"]}) in \
        record["events"]


def test_audio_stream_call_transfers_a_caller_who_asks_for_an_agent(server):
    result = _call(server, "audio-stream", "I would like to speak to an agent",
                   start_message={"call_id": "fs-agent-1", "caller": "+33600000002"})
    _greeting(result)
    assert [r.event for r in result.of("transfer")] == [
        {"event": "transfer", "data": AGENT_NUMBER}]
    # A transfer leaves the stream to FreeSWITCH: voicebot does not hang up.
    assert not result.of("hangup")
    assert _record(server, "fs-agent-1")["meta"]["from_number"] == "+33600000002"


def test_twilio_goodbye_hangs_up_through_twiml(server):
    result = _call(server, "twilio", "goodbye", until=())
    assert result.closed_by_server
    assert [r.kind for r in result.events if r.kind in ("hangup", "transfer")] == ["hangup"]


def test_audio_stream_goodbye_sends_hangup_before_closing(server):
    result = _call(server, "audio-stream", "goodbye", until=())
    assert result.closed_by_server
    hangups = result.of("hangup")
    assert len(hangups) == 1 and hangups[0].event["event"] == "hangup"


def test_the_simulate_command_speaks_twilio(server, tmp_path):
    caller = tmp_path / "caller.wav"
    subprocess.run(["espeak-ng", "-w", str(caller), "I would like to speak to an agent"],
                   check=True)
    run = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "simulate", "--protocol", "twilio",
         "--url", server["url"] + "/twilio", "--wav", str(caller), "--silence-before", "5",
         "--timeout", "40"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert '"data": "+33123456789"' in run.stdout and "<Dial>" in run.stdout
    assert "call ended: transfer" in run.stdout


def test_config_chooses_what_the_media_path_speaks():
    # server.media_protocol: the plain /media path is mod_audio_stream's here.
    with running_server(FLOW, server={"media_protocol": "audio-stream"}) as srv:
        script = [WaitQuiet(0.6), Silence(1.0),
                  Speech(espeak_8k("I would like to speak to an agent"), "caller"),
                  Silence(2.0)]
        result = asyncio.run(simulate(srv["url"], script, timeout=40,
                                      protocol="audio-stream"))
    assert [r.event for r in result.of("transfer")] == [
        {"event": "transfer", "data": AGENT_NUMBER}]
