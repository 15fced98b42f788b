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
    off = EnergyGate(None, None)
    off(frame(3000), True)
    assert off(frame(1), True) is True


def _line(rng: np.random.Generator, level: float) -> np.ndarray:
    return (rng.standard_normal(320) * level).astype(np.int16)


def test_on_a_noisy_line_the_vads_tail_over_the_noise_is_silence():
    # Line noise ~30 dB under the speech: the peak gate cannot reach it, the floor can.
    rng = np.random.default_rng(3)
    gate = EnergyGate(-40.0, 6.0)
    for _ in range(25):  # half a second of line before the caller speaks
        gate(_line(rng, 100), False)
    speech = [gate(_line(rng, 3000) + _line(rng, 100), True) for _ in range(50)]
    assert all(speech)
    # The caller stopped; the VAD says "speech" for a few more frames of bare line.
    assert not any(gate(_line(rng, 100), True) for _ in range(10))
    # Frames before any the VAD called non-speech have no floor to be gated by.
    fresh = EnergyGate(-40.0, 6.0)
    fresh(_line(rng, 3000), True)
    assert fresh(_line(rng, 100), True) is True
    without_floor = EnergyGate(-40.0, None)
    without_floor(_line(rng, 100), False)
    without_floor(_line(rng, 3000), True)
    assert without_floor(_line(rng, 100), True) is True


def test_speech_over_the_noise_floor_stays_speech_and_the_floor_follows_the_line():
    rng = np.random.default_rng(4)
    gate = EnergyGate(-40.0, 6.0)
    for _ in range(25):
        gate(_line(rng, 100), False)
    gate(_line(rng, 3000), True)
    assert gate(_line(rng, 300), True) is True  # a soft syllable 10 dB over the line
    # The line gets 10 dB noisier: within 15 s the floor has risen to it.
    for _ in range(750):
        gate(_line(rng, 316), False)
    gate(_line(rng, 3000), True)
    assert gate(_line(rng, 316), True) is False


def test_a_talker_who_never_pauses_is_not_gated_by_their_own_voice():
    # A line as loud as the caller's quiet syllables (the VAD called it non-speech):
    # the floor is held 20 dB under the speech peak, so nothing within 14 dB of the peak
    # is gated.
    rng = np.random.default_rng(5)
    gate = EnergyGate(-40.0, 6.0)
    for _ in range(25):
        gate(_line(rng, 700), False)
    levels = [3000, 1500, 700, 3000, 700, 2000] * 20
    assert all(gate(_line(rng, level), True) for level in levels)
