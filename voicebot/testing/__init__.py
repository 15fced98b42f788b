"""Test helpers for plugin authors: the conformance kit and audio to feed it.

    from voicebot.testing import check_plugin, check_stt, check_tts, check_nlu, check_vad

What the project's own end-to-end tests and bench/ share lives here too, imported by
module: `voicebot.testing.server` (the real `voicebot serve` in a subprocess),
`voicebot.testing.callers` (espeak-ng and Piper caller voices at 8 kHz) and
`voicebot.testing.fuzz_corpus` (seed inputs and mutators for the fuzzers).
"""

from voicebot.testing.audio import NoSpeechSource, silence, speech
from voicebot.testing.conformance import (
    check_nlu,
    check_plugin,
    check_stt,
    check_tts,
    check_vad,
)
from voicebot.testing.loop import LoopReport, measure_loop_lag

__all__ = [
    "LoopReport", "NoSpeechSource", "check_nlu", "check_plugin", "check_stt", "check_tts",
    "check_vad", "measure_loop_lag", "silence", "speech",
]
