"""Barge-in through the real server: the caller talks over a long greeting."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from voicebot.simulator import Silence, Speech, WaitFor, WaitQuiet, simulate
from voicebot.testing.callers import espeak_8k
from voicebot.testing.server import running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parent / "flows" / "barge.yaml"
GREETING = (
    "Welcome to the barge-in test line. This greeting is deliberately long, so that "
    "you have plenty of time to talk over it whenever you like, and so that we can "
    "check that the bot stops talking as soon as you do, and hears what you said."
)


@pytest.fixture(scope="module")
def server():
    with running_server(FLOW) as srv:
        yield srv


def _events(db: Path, kind: str) -> list[dict]:
    con = sqlite3.connect(db)
    rows = con.execute("select data from events where kind = ? order by id", (kind,)).fetchall()
    return [json.loads(r[0]) for r in rows]


def _audio_seconds(result, start: float, end: float) -> float:
    samples = 0
    for r in result.of("streamAudio"):
        if start <= r.at < end:
            samples += len(r.event["data"]["audioData"]) * 3 // 4 // 2
    return samples / 8000


def test_caller_talking_over_the_greeting_breaks_it_and_is_understood(server):
    speech = espeak_8k("I would like to speak to an agent please")
    script = [WaitFor("streamAudio", after=1.5), Speech(speech, "caller"), Silence(2.0)]
    result = asyncio.run(simulate(server["url"], script, timeout=30))

    breaks = result.of("break")
    assert len(breaks) == 1, [r.kind for r in result.events if r.kind != "streamAudio"]
    broke_at = breaks[0].at
    assert broke_at > result.marks["caller.start"]
    # Nothing more of the greeting after the break: the next audio is the reply, which
    # can only come once the caller has finished speaking.
    after = [r.at for r in result.of("streamAudio") if r.at > broke_at]
    assert after and min(after) > result.marks["caller.end"]
    assert result.of("transfer")[0].event == {"event": "transfer", "data": "+33123456789"}

    heard = _events(server["db"], "barge_in")
    assert heard, "the call's log records the barge-in"
    text = heard[-1]["heard"]
    assert text and GREETING.startswith(text) and len(text) < len(GREETING) / 2, text


@pytest.mark.parametrize("interruption", ["noise", "mhm"])
def test_noise_or_backchannel_does_not_cost_the_prompt(server, interruption):
    if interruption == "noise":
        rng = np.random.default_rng(5)
        sound = rng.normal(0, 6000, 800).clip(-32768, 32767).astype(np.int16)  # 100 ms
    else:
        sound = espeak_8k("mhm")
    script = [WaitFor("streamAudio", after=2.0), Speech(sound, "interruption"),
              WaitQuiet(1.0, timeout=30)]
    result = asyncio.run(simulate(server["url"], script, timeout=40, linger=0))

    call_start = result.events[0].at
    total = _audio_seconds(result, call_start, float("inf"))
    reference = asyncio.run(_uninterrupted_greeting_seconds(server))
    kinds = [r.kind for r in result.events if r.kind != "streamAudio"]
    if result.of("break"):
        # It was cut: then the rest of the greeting must have been said again.
        resumed = _events(server["db"], "resume")
        assert resumed, f"broken by a {interruption} and not resumed: {kinds}"
    # Either way the caller heard (at least) the whole greeting.
    assert total >= 0.9 * reference, (total, reference, kinds)


async def _uninterrupted_greeting_seconds(server) -> float:
    result = await simulate(server["url"], [WaitQuiet(1.0, timeout=30)], timeout=30, linger=0)
    return _audio_seconds(result, 0, float("inf"))
