"""Piper's onnxruntime session: as many threads as asked, none spinning between runs."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from voicebot.plugins.tts_piper import PiperOptions, PiperTTS


def test_the_voice_runs_on_its_own_non_spinning_session():
    tts = PiperTTS(PiperOptions(threads=1))
    tts.load()
    options = tts._voice.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    audio = tts.synthesize("Your order is on its way.")
    assert audio.dtype == np.int16 and audio.size > tts.sample_rate // 2
    assert np.abs(audio).max() > 1000


def test_zero_threads_keeps_pipers_own_session_and_a_negative_count_is_refused():
    tts = PiperTTS(PiperOptions(threads=0))
    tts.load()
    options = tts._voice.session.get_session_options()
    assert options.intra_op_num_threads == 0  # onnxruntime's default: one per core
    with pytest.raises(ValidationError):
        PiperOptions(threads=-1)
