"""Test helpers for plugin authors: the conformance kit and audio to feed it.

    from voicebot.testing import check_plugin, check_stt, check_tts, check_nlu, check_vad
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
