from __future__ import annotations

import gc

import numpy as np
import pytest
from pydantic import ValidationError

from voicebot.plugins.vad_silero import SileroVAD, SileroVADOptions, pooled_instances
from voicebot.plugins.vad_webrtc import WebrtcVAD, WebrtcVADOptions


def _speech_share(vad: WebrtcVAD, pcm: np.ndarray, split_frames) -> float:
    probs = [vad.speech_probability(f) for f in split_frames(pcm, vad.frame_samples)]
    return float(np.mean(probs))


def test_webrtc_silence_low_speech_high(asterisk_prompt, split_frames) -> None:
    vad = WebrtcVAD(WebrtcVADOptions())
    vad.load()
    assert vad.frame_samples == 320
    assert _speech_share(vad, np.zeros(16000, dtype=np.int16), split_frames) == 0.0
    # The classifier starts with no noise model: it calls the first ~100 ms of steady noise
    # speech, then adapts. Judge the noise after that.
    vad.reset()
    noise = np.random.default_rng(0).normal(0, 30, 32000).astype(np.int16)
    _speech_share(vad, noise[:8000], split_frames)
    assert _speech_share(vad, noise[8000:], split_frames) < 0.05
    vad.reset()
    assert _speech_share(vad, asterisk_prompt("agent-pass"), split_frames) > 0.5


def test_webrtc_rejects_wrong_frames() -> None:
    vad = WebrtcVAD(WebrtcVADOptions(frame_ms=10, sample_rate=8000))
    assert vad.frame_samples == 80
    with pytest.raises(ValueError, match="80 samples"):
        vad.speech_probability(np.zeros(160, dtype=np.int16))
    with pytest.raises(TypeError):
        vad.speech_probability(np.zeros(80, dtype=np.float32))


def test_webrtc_bad_options_named() -> None:
    with pytest.raises(ValidationError, match="frame_ms"):
        WebrtcVADOptions(frame_ms=25)
    with pytest.raises(ValidationError, match="aggressiveness"):
        WebrtcVADOptions(aggressiveness=4)


def test_silero_silence_low_speech_high(asterisk_prompt, split_frames) -> None:
    vad = SileroVAD(SileroVADOptions())
    vad.load()
    assert (vad.frame_samples, vad.window_samples) == (320, 512)
    silence = [vad.speech_probability(f) for f in split_frames(np.zeros(16000, np.int16), 320)]
    assert max(silence) < 0.1
    noise = np.random.default_rng(0).normal(0, 30, 16000).astype(np.int16)
    assert max(vad.speech_probability(f) for f in split_frames(noise, 320)) < 0.3
    speech = [vad.speech_probability(f) for f in split_frames(asterisk_prompt("agent-pass"), 320)]
    assert np.mean(np.array(speech) > 0.5) > 0.5


def test_silero_at_8k_and_reset(asterisk_prompt, split_frames) -> None:
    vad = SileroVAD(SileroVADOptions(sample_rate=8000))
    assert (vad.frame_samples, vad.window_samples) == (160, 256)
    speech = [
        vad.speech_probability(f)
        for f in split_frames(asterisk_prompt("agent-pass", rate=8000), 160)
    ]
    assert max(speech) > 0.9
    vad.reset()
    # After reset the first frame has no complete window yet: nothing heard.
    assert vad.speech_probability(np.zeros(160, np.int16)) == 0.0


def test_silero_instances_are_pooled() -> None:
    first = SileroVAD(SileroVADOptions())
    native = first._native
    del first
    gc.collect()
    assert pooled_instances(16000) >= 1
    second = SileroVAD(SileroVADOptions())
    assert second._native is native


def test_silero_bad_options_named() -> None:
    with pytest.raises(ValidationError, match="sample_rate"):
        SileroVADOptions(sample_rate=48000)
