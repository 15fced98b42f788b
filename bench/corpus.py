"""Real recorded caller speech for benchmarks: Debian's asterisk-core-sounds-en-wav
prompts (8 kHz human recordings) with their transcripts."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicebot.simulator import load_wav_8k

SOUNDS = Path("/usr/share/asterisk/sounds/en")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")


@dataclass(frozen=True)
class Utterance:
    name: str
    text: str
    pcm: np.ndarray  # int16, 8 kHz, trailing/leading silence trimmed

    @property
    def seconds(self) -> float:
        return self.pcm.size / 8000


def speech_bounds(
    pcm: np.ndarray, rate: int = 8000, threshold_db: float = -40.0
) -> tuple[int, int]:
    """First and one-past-last sample of speech: 10 ms frames above `threshold_db` of peak."""
    hop = rate // 100
    n = pcm.size // hop
    if n == 0:
        return 0, 0
    frames = pcm[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1)) + 1e-9
    loud = np.nonzero(20 * np.log10(rms / rms.max()) > threshold_db)[0]
    if loud.size == 0:
        return 0, 0
    return int(loud[0] * hop), int((loud[-1] + 1) * hop)


def load_utterances(min_s: float = 1.0, max_s: float = 3.5, limit: int = 40,
                    sounds: Path = SOUNDS, transcripts: Path = TRANSCRIPTS) -> list[Utterance]:
    """Single-sentence prompts of a length a caller's turn might have, in a stable order
    (English by default; the French set is `sounds=.../fr`, its transcripts file)."""
    lines = gzip.open(transcripts, "rt", errors="replace").read().splitlines()
    out: list[Utterance] = []
    for line in lines:
        m = re.match(r"^([\w-]+):\s*(.+)$", line)
        if not m or m.group(2).startswith(("[", "(")):
            continue
        path = sounds / f"{m.group(1)}.wav"
        if not path.exists():
            continue
        pcm = load_wav_8k(str(path))
        start, end = speech_bounds(pcm)
        pcm = pcm[start:end]
        if min_s <= pcm.size / 8000 <= max_s:
            out.append(Utterance(m.group(1), m.group(2), pcm))
        if len(out) >= limit:
            break
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")
