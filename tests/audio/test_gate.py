"""The energy gate trims the VAD's hangover without splitting speech."""

from __future__ import annotations

import numpy as np

from voicebot.audio.gate import EnergyGate


def frame(level: float) -> np.ndarray:
    rng = np.random.default_rng(int(level))
    return (rng.standard_normal(320) * level).astype(np.int16)


def test_quiet_tail_after_speech_is_silence():
    gate = EnergyGate(-40.0)
    assert all(gate(frame(3000), True) for _ in range(10))
    # The VAD still says speech, but the level is 50 dB down: the caller has stopped.
    assert gate(frame(9), True) is False


def test_speech_a_little_quieter_than_the_peak_is_still_speech():
    gate = EnergyGate(-40.0)
    gate(frame(3000), True)
    assert gate(frame(300), True) is True  # -20 dB: a softer syllable


def test_gate_never_turns_vad_silence_into_speech_and_can_be_disabled():
    assert EnergyGate(-40.0)(frame(5000), False) is False
    off = EnergyGate(None)
    off(frame(3000), True)
    assert off(frame(1), True) is True
