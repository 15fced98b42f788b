"""Whisper backends: faster-whisper (CTranslate2, default) and openai-whisper (PyTorch).

One model per process, shared by every call: loading takes seconds and hundreds of MB, and
two cores cannot run more than one transcription at full speed anyway. CTranslate2 queues
concurrent calls itself; the PyTorch backend is serialised with a lock.
"""

from __future__ import annotations

import os
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from voicebot.plugins.whisper_models import model_path
from voicebot.plugins.whisper_options import WhisperOptions

WHISPER_RATE = 16000
# The short-window path needs this much room after the audio (else the model loops).
WINDOW_MARGIN_S = 1.0
# Speech is ~3 words (~4 tokens) a second; a cap at twice that stops a runaway loop early.
MAX_TOKENS_PER_S = 8
# faster-whisper's own threshold for "this decode is repeating itself".
MAX_COMPRESSION_RATIO = 2.4


@dataclass(slots=True)
class Segment:
    text: str
    avg_logprob: float
    no_speech_prob: float


class Backend(Protocol):
    def run(
        self, audio: np.ndarray, prompt: str | None, opts: WhisperOptions
    ) -> list[Segment]: ...


def _no_timestamps(audio: np.ndarray, opts: WhisperOptions) -> bool:
    return opts.without_timestamps and audio.size <= opts.timestamps_over_seconds * WHISPER_RATE


class _FasterBackend:
    def __init__(self, path: str, compute_type: str, threads: int, workers: int = 2) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            path, device="cpu", compute_type=compute_type, cpu_threads=threads,
            num_workers=workers, local_files_only=True,
        )

    def run(self, audio: np.ndarray, prompt: str | None, opts: WhisperOptions) -> list[Segment]:
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
        return [Segment(s.text, s.avg_logprob, s.no_speech_prob) for s in segments]


    def _short(
        self, audio: np.ndarray, prompt: str | None, opts: WhisperOptions, frames: int
    ) -> Segment | None:
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
        if _compression_ratio(text) > MAX_COMPRESSION_RATIO or repeats(text, times=2):
            return None
        length = len(result.sequences_ids[0])
        avg_logprob = result.scores[0] * length / (length + 1)
        return Segment(text, avg_logprob, result.no_speech_prob)


def repeats(text: str, times: int = 3, max_n: int = 3) -> bool:
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

    def run(self, audio: np.ndarray, prompt: str | None, opts: WhisperOptions) -> list[Segment]:
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
            Segment(s["text"], s["avg_logprob"], s["no_speech_prob"])
            for s in result["segments"]
        ]


_models: dict[tuple[str, str, str, int, int], Backend] = {}
_models_lock = threading.Lock()


def shared_model(opts: WhisperOptions) -> Backend:
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
