"""The default NLU, through `voicebot serve`, understands callers who never read the
flow's examples (issue 14): a clinic and a pizza shop, spoken by Piper, heard by Whisper,
understood by config.yaml's NLU (embeddings, e5), each call in real time."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from voicebot.simulator import Silence, Speech, WaitQuiet, simulate
from voicebot.testing.callers import piper_8k
from voicebot.testing.server import ROOT, running_server

pytestmark = pytest.mark.e2e

DOMAINS = ROOT / "bench" / "data" / "domains"
HOLIDAYS = ("Hi, I was wondering, over the Christmas and New Year holidays, are you going "
            "to be open at all, and if so what are the hours on the bank holiday Monday?")


def test_the_default_nlu_is_the_embeddings_matcher() -> None:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert config["nlu"]["use"] == "embeddings"


def _first_turn(db: Path, call_id: str) -> tuple[str, str | None, list[dict]]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT transcript, intent, actions FROM turns WHERE call_id = ? AND transcript "
            "IS NOT NULL AND transcript != '' ORDER BY idx LIMIT 1", (call_id,)).fetchone()
    assert row is not None, f"call {call_id}: no caller turn recorded"
    return row[0], row[1], json.loads(row[2])


def _say_once(url: str, text: str, call_id: str) -> None:
    script = [WaitQuiet(0.6, timeout=25), Silence(0.3), Speech(piper_8k(text)), Silence(3.0)]
    asyncio.run(simulate(url, script, timeout=60,
                         start_message={"event": "start", "call_id": call_id}))


# Whisper tiny.en hears Piper say the second line as "My kid is sick. Can't you get seen
# today?": the NLU must understand what was heard, not what was meant.
@pytest.mark.parametrize("flow, said, intent", [
    ("clinic", "Um, I wanna see the doc.", "book"),
    ("clinic", "My kid is sick, can she get seen today?", "book"),
    ("clinic", HOLIDAYS, "hours"),
    ("pizza", "Is my order on the way?", "status"),
])
def test_callers_in_their_own_words(flow: str, said: str, intent: str) -> None:
    path = ROOT / "flows" / "clinic.yaml" if flow == "clinic" else DOMAINS / f"{flow}.flow.yaml"
    with running_server(path) as srv:
        call_id = f"nlu-{flow}-{abs(hash(said))}"
        _say_once(srv["url"], said, call_id)
        transcript, understood, _ = _first_turn(srv["db"], call_id)
    assert understood == intent, f"{said!r} heard as {transcript!r} gave {understood!r}"
