"""The spine: a real `voicebot serve`, a real WebSocket, real-time 8 kHz PCMU RTP.

The caller (espeak-ng speech) asks for an agent; the bot must greet first, in audible
PCM16 of about the greeting's length, and then transfer to the flow's agent number.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import numpy as np
import pytest

from voicebot.simulator import Silence, Speech, WaitQuiet, simulate
from voicebot.testing.callers import espeak_8k
from voicebot.testing.server import ROOT, running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parent / "flows" / "spine.yaml"
AGENT_NUMBER = "+33123456789"
GREETING = "Hello, and thank you for calling. How can I help you today?"


@pytest.fixture(scope="module")
def server():
    with running_server(FLOW) as srv:
        yield srv


@pytest.fixture(scope="module")
def agent_request() -> np.ndarray:
    return espeak_8k("I would like to speak to an agent")


def _call(server, speech, **impairments):
    # The caller listens to the greeting, waits a second, then speaks.
    script = [WaitQuiet(0.6), Silence(1.0), Speech(speech, "caller"), Silence(2.0)]
    return asyncio.run(simulate(server["url"], script, timeout=40, **impairments))


def _check_greeting_then_transfer(result) -> None:
    kinds = [r.kind for r in result.events]
    assert "transfer" in kinds, f"no transfer; events: {kinds[:10]}...{kinds[-10:]}"
    first_transfer = kinds.index("transfer")
    assert kinds[0] == "streamAudio", kinds[:5]
    assert result.of("transfer")[0].event == {"event": "transfer", "data": AGENT_NUMBER}

    # The greeting: every streamAudio before the caller spoke.
    greeting = [r for r in result.events[:first_transfer]
                if r.kind == "streamAudio" and r.at < result.marks["caller.start"]]
    assert greeting, "the greeting must start before the caller speaks"
    chunks = []
    for r in greeting:
        data = r.event["data"]
        assert data["audioDataType"] == "raw"
        assert data["sampleRate"] == 8000
        raw = base64.b64decode(data["audioData"], validate=True)
        assert len(raw) % 2 == 0, "raw audio is PCM16: an even number of bytes"
        chunks.append(np.frombuffer(raw, "<i2"))
    pcm = np.concatenate(chunks)
    seconds = pcm.size / 8000
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
    assert rms > 300, f"greeting is (nearly) silent: rms {rms:.0f}"
    # The whole greeting, at a speaking rate between 100 and 250 words a minute.
    words = len(GREETING.split())
    assert words / 250 * 60 <= seconds <= words / 100 * 60 + 1, seconds


def test_greets_then_transfers_to_agent(server, agent_request):
    _check_greeting_then_transfer(_call(server, agent_request))


def test_transfer_survives_reordered_and_lost_packets(server, agent_request):
    result = _call(server, agent_request, reorder=0.05, drop=0.02, seed=7)
    _check_greeting_then_transfer(result)


def test_call_is_recorded(server, agent_request):
    import sqlite3

    _check_greeting_then_transfer(_call(server, agent_request))
    db = sqlite3.connect(Path(server["db"]))
    tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert "calls" in tables
    assert db.execute("select count(*) from calls").fetchone()[0] >= 1


def test_simulate_command_calls_the_bot_and_writes_its_audio(server, tmp_path):
    import subprocess
    import sys
    import wave

    caller = tmp_path / "caller.wav"
    subprocess.run(["espeak-ng", "-w", str(caller), "I would like to speak to an agent"],
                   check=True)
    out = tmp_path / "bot.wav"
    run = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "simulate", "--url", server["url"],
         "--wav", str(caller), "--out", str(out), "--silence-before", "5", "--timeout", "40"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert '{"event": "transfer", "data": "+33123456789"}' in run.stdout
    assert "call ended: transfer" in run.stdout
    with wave.open(str(out)) as w:
        assert w.getframerate() == 8000 and w.getnframes() > 8000
