"""The openai-whisper backend's code path, on a tiny randomly initialised model.

Real .pt weights cannot be downloaded in CI, so this builds a Whisper with tiny
dimensions and random weights, saves it as a checkpoint the way openai-whisper does, and
runs the plugin on it. The text it produces is noise by construction: the test checks
the plumbing (loading a checkpoint path, resampling, segment filtering, the shared model,
the silence gate), not recognition quality, which bench/stt_accuracy.py measures.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

whisper = pytest.importorskip(
    "whisper", reason="openai-whisper not installed (pip install voicebot[openai-whisper])"
)
torch = pytest.importorskip("torch", reason="torch not installed")

from voicebot.plugins.stt_whisper import WhisperOptions, WhisperSTT, shared_model  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    dims = whisper.model.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=32, n_audio_head=2, n_audio_layer=1,
        n_vocab=51864,  # the English-only vocabulary, as in tiny.en
        # A short text context caps decoding at 32 tokens: random weights never stop early.
        n_text_ctx=64, n_text_state=32, n_text_head=2, n_text_layer=1,
    )
    model = whisper.model.Whisper(dims)
    path = tmp_path_factory.mktemp("whisper") / "random-tiny.pt"
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def test_openai_backend_runs_a_checkpoint(checkpoint: Path) -> None:
    options = WhisperOptions(backend="openai-whisper", model=str(checkpoint), cpu_threads=1)
    stt = WhisperSTT(options)
    stt.load()
    assert stt.health()["loaded"] and stt.health()["backend"] == "openai-whisper"
    t = np.arange(8000) / 8000
    tone = (3000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    result = stt.transcribe(tone, 8000)
    assert isinstance(result.text, str)
    assert result.audio_seconds == pytest.approx(1.0)
    assert result.confidence is not None and 0.0 <= result.confidence <= 1.0
    assert stt.transcribe(np.zeros(16000, np.int16), 16000).text == ""
    # Every plugin instance with these options shares the one loaded model.
    assert shared_model(options) is shared_model(options.model_copy())


def test_openai_backend_refuses_unknown_or_missing_models(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(RuntimeError, match="not downloaded"):
        WhisperSTT(WhisperOptions(backend="openai-whisper", model="tiny.en")).load()
    with pytest.raises(RuntimeError, match="neither a checkpoint"):
        WhisperSTT(WhisperOptions(backend="openai-whisper", model="no-such-model")).load()
