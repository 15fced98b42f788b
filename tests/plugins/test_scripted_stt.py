"""The scripted recogniser the served conversation tests use: each call hears its own lines."""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.logs import call_id_var
from voicebot.testing.scripted_stt import ScriptedRecognitionError, ScriptedSTT

SECOND = np.zeros(8000, np.int16)


def hear(stt: ScriptedSTT, call: str) -> str:
    token = call_id_var.set(call)
    try:
        return stt.transcribe(SECOND, 8000).text
    finally:
        call_id_var.reset(token)


def test_each_call_hears_its_own_lines_in_order() -> None:
    stt = ScriptedSTT(ScriptedSTT.Options(lines={"a": ["agent", "!fail", "yes"], "b": ["no"]}))
    assert hear(stt, "a") == "agent"
    assert hear(stt, "b") == "no"
    with pytest.raises(ScriptedRecognitionError):
        hear(stt, "a")
    assert hear(stt, "a") == "yes"
    assert hear(stt, "a") == "" and hear(stt, "c") == ""  # beyond the script: nothing heard
    transcript = ScriptedSTT(ScriptedSTT.Options(lines={"-": ["hi"]})).transcribe(SECOND, 8000)
    assert (transcript.confidence, transcript.audio_seconds) == (1.0, 1.0)
