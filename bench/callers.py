"""What the simulated callers say, in which voice, on which line.

Three voices, all at 8 kHz as a phone line carries them:
- `piper`: Piper's joe voice (a natural synthetic voice, deterministic with its noise off);
- `espeak`: espeak-ng (robotic, unlike anything the models were tuned on);
- `human`: recorded people (Debian's asterisk-core-sounds-en-wav prompts and the
  codec2-examples recordings).

A turn's `speech_end` is the last sample that is speech by a -50 dB rule (10 ms frames
against the utterance's peak), or 10 dB over the recording's own noise floor when that
is higher, up to -40 dB (codec2's recordings carry hiss): the quiet tail of a last word counts, as a
caller hears it, the recording's hiss does not. On a clean voice that is a lower
threshold than the server's -40 dB energy gate, so the bot may start its hangover
before that sample; on a noisy line the gate cannot see the tail at all.

Lines: a quiet line (-65 dBFS hiss), and noisy lines with telephone-band noise (300-3400
Hz) plus 50 Hz mains hum and its harmonics at -45 and -35 dBFS. The noise runs through
the whole call, under the speech and between utterances: a phone line is never digital
zeros.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.corpus import SOUNDS, load_utterances, speech_bounds
from voicebot.simulator import load_wav_8k
from voicebot.testing.callers import espeak_8k, piper_8k

RATE = 8000
# codec2-examples ships its speech as headerless 16-bit 8 kHz files.
CODEC2 = Path("/usr/share/codec2/raw")
CODEC2_SPEECH = ["hts1a", "hts2a", "big_dog", "cross", "mmt1"]

# What a caller says to a bot that answers every turn (synthetic voices).
SENTENCES = [
    "I would like to check the status of my order.",
    "My parcel has not arrived yet.",
    "Can you tell me when the shop opens tomorrow?",
    "I need to change my delivery address.",
    "The invoice I received looks wrong.",
    "I want to speak about my contract.",
    "Could you send me a new password?",
    "My card was charged twice this month.",
]

# Long multi-clause answers, as a caller gives them: parts with natural pauses between.
# Two kinds of pause, alternating: after a clause that could be a whole answer ("I called
# last week, ... and nobody answered"), where no transcript can tell the caller is not
# done, and inside a phrase ("In the ... afternoon"), as a caller thinking of the word.
LONG_ANSWERS = [
    ["In the afternoon,", "if possible."],
    ["In the", "afternoon, if possible."],
    ["I called last week,", "and nobody answered,", "so I am trying again."],
    ["I would like to", "cancel my subscription."],
    ["My order number is on the email,", "but I cannot find it right now."],
    ["It is about the", "invoice from March."],
    ["I would like a refund,", "or at least a replacement,", "whichever is faster."],
    ["Can you send it to", "my office instead?"],
    ["The parcel came yesterday,", "but the box was damaged."],
    ["I need a taxi for", "um,", "two people."],
    ["Tuesday would suit me,", "or else Thursday morning."],
    ["My account number is", "four five six seven."],
    ["I moved last month,", "so the address you have is the old one."],
    ["The delivery was for", "Thursday,", "but nobody came."],
    ["Please call me back,", "after six in the evening."],
]
# The human long answers: one speaker's recorded prompts that Asterisk plays one after
# another as one sentence (bench/corpus.py's recordings), so the pauses fall where a
# person's would, inside a sentence; half of them after a part that could end it.
HUMAN_LONG = [
    ["conf-thereare", "digits/5", "conf-otherinparty"],
    ["vm-youhave", "digits/2", "vm-INBOX", "vm-messages"],
    ["if-correct-press", "digits/1"],
    ["vm-onefor", "vm-Old", "vm-messages"],
    ["queue-thereare", "digits/3"],
    ["vm-enter-num-to-call", "vm-then-pound"],
    ["at-tone-time-exactly", "digits/8", "digits/oclock"],
    ["vm-from-phonenumber", "digits/2", "digits/5"],
]


@dataclass(frozen=True)
class Turn:
    voice: str
    text: str
    pcm: np.ndarray  # int16 8 kHz, speech from its first sample
    speech_end: int  # one past the last speech sample

    @property
    def seconds(self) -> float:
        return self.speech_end / RATE


def speech_threshold_db(pcm: np.ndarray) -> float:
    """-50 dB of the peak, or 10 dB over the recording's own noise floor (its quietest
    tenth of 10 ms frames) when that is higher, but never above -40 dB (the server's own
    gate): a recording's hiss is not speech, and a quiet word is."""
    hop = RATE // 100
    n = pcm.size // hop
    rms = np.sqrt(np.mean(pcm[: n * hop].astype(np.float64).reshape(n, hop) ** 2, axis=1))
    rel = 20 * np.log10((rms + 1e-9) / (rms.max() + 1e-9))
    return min(-40.0, max(-50.0, float(np.percentile(rel, 10)) + 10.0))


def _bounds(pcm: np.ndarray) -> tuple[int, int]:
    return speech_bounds(pcm, RATE, threshold_db=speech_threshold_db(pcm))


def _trimmed(voice: str, text: str, pcm: np.ndarray) -> Turn:
    start, end = _bounds(pcm)
    return Turn(voice, text, pcm[start:end].copy(), end - start)


def _human_recordings() -> list[tuple[str, np.ndarray]]:
    """Recorded people, alternating the two sources so a short run hears both."""
    asterisk = [(u.text, u.pcm) for u in load_utterances(limit=40)
                if "bye" not in u.text.lower()]
    codec2 = [(f"codec2 {name}", np.fromfile(CODEC2 / f"{name}.raw", "<i2"))
              for name in CODEC2_SPEECH if (CODEC2 / f"{name}.raw").exists()]
    mixed: list[tuple[str, np.ndarray]] = []
    for i in range(max(len(asterisk), len(codec2))):
        mixed += codec2[i:i + 1] + asterisk[i:i + 1]
    return mixed


def voice_turns(n_per_voice: int, voices: tuple[str, ...] = ("piper", "espeak", "human"),
                ) -> list[Turn]:
    """`n_per_voice` utterances in each voice, interleaved (piper, espeak, human, ...)."""
    per: dict[str, list[Turn]] = {}
    for voice in voices:
        if voice == "human":
            rec = _human_recordings()[:n_per_voice]
            per[voice] = [_trimmed("human", t, p) for t, p in rec]
        else:
            speak = piper_8k if voice == "piper" else espeak_8k
            texts = [SENTENCES[i % len(SENTENCES)] for i in range(n_per_voice)]
            per[voice] = [_trimmed(voice, t, speak(t)) for t in texts]
    return [per[v][i] for i in range(n_per_voice) for v in voices if i < len(per[v])]


def _clause_audio(voice: str, text: str) -> np.ndarray:
    if voice == "piper":
        pcm = piper_8k(text)
    elif voice == "espeak":
        pcm = espeak_8k(text)
    else:  # an Asterisk prompt's name
        pcm = load_wav_8k(str(SOUNDS / f"{text}.wav"))
    # Edges cut at -40 dB, so the pause between two clauses is the one inserted.
    start, end = speech_bounds(pcm, RATE, -40.0)
    return pcm[start:end]


def long_turns(n: int, seed: int = 11) -> list[Turn]:
    """Multi-clause utterances with pauses of 100-700 ms inside, in the three voices:
    the synthetic ones say LONG_ANSWERS in turn, the human one HUMAN_LONG."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        voice = ("piper", "espeak", "human")[i % 3]
        clauses = (HUMAN_LONG[(i // 3) % len(HUMAN_LONG)] if voice == "human"
                   # both synthetic voices say both kinds of pause, in turn
                   else LONG_ANSWERS[(2 * (i // 3) + (i + i // 3) % 3 % 2) % len(LONG_ANSWERS)])
        parts: list[np.ndarray] = []
        for j, clause in enumerate(clauses):
            if j:
                parts.append(np.zeros(int(RATE * rng.uniform(0.1, 0.7)), np.int16))
            parts.append(_clause_audio(voice, clause))
        pcm = np.concatenate(parts)
        text = " ".join(clauses) if voice != "human" else " + ".join(clauses)
        out.append(Turn(voice, text, pcm, pcm.size))
    return out


class Line:
    """The line's own sound, sample after sample: band-limited noise plus mains hum at
    `dbfs` (RMS relative to a full-scale sine), deterministic for a seed."""

    def __init__(self, dbfs: float, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.dbfs = dbfs
        self.t = 0
        # Telephone band: a white-noise FIR band-pass 300-3400 Hz (windowed sinc pair).
        taps = np.arange(-64, 65)
        lp = lambda fc: 2 * fc / RATE * np.sinc(2 * fc / RATE * taps)  # noqa: E731
        self.fir = (lp(3400) - lp(300)) * np.hamming(taps.size)
        self.tail = np.zeros(self.fir.size - 1)

    def next(self, n: int) -> np.ndarray:
        white = self.rng.standard_normal(n)
        band = np.convolve(np.concatenate([self.tail, white]), self.fir, mode="valid")
        self.tail = np.concatenate([self.tail, white])[-(self.fir.size - 1):]
        band /= np.sqrt(np.mean(self.fir**2) * self.fir.size) or 1.0
        t = (self.t + np.arange(n)) / RATE
        hum = sum(np.sin(2 * np.pi * 50 * h * t) / h for h in (1, 3, 5))
        self.t += n
        # Noise and hum each carry half the power: together they sit at `dbfs`.
        level = 32767 / np.sqrt(2) * 10 ** (self.dbfs / 20)
        hum_rms = np.sqrt(sum(0.5 / h**2 for h in (1, 3, 5)))
        mix = (band + hum / hum_rms) * level / np.sqrt(2)
        return mix
