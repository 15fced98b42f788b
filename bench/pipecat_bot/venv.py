"""The competitor's own environment: a venv with stock pipecat pinned, made on first use,
and its bot (bot.py) started as a server for one bench run.

The venv lives outside the repository (~/.cache/voicebot-bench/, or
$VOICEBOT_BENCH_CACHE), so nothing of pipecat is committed or imported by voicebot. The
pins are exact so two runs measure the same competitor. pipecat 1.14's silero, whisper and
piper extras run on onnxruntime and CTranslate2: they pull no PyTorch (if a later pin
did, `torch==2.13.0`, the CPU build on this kind of machine's disk, would go first).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from voicebot.plugins.tts_piper import bundled_voice
from voicebot.plugins.whisper_models import bundled_model_path
from voicebot.testing.server import free_port, stop, wait_until_healthy

PIPECAT = "pipecat-ai[websocket,silero,whisper,piper]==1.14.0"
# pipecat's `websocket` extra brings FastAPI but no ASGI server; its runner uses uvicorn.
PINS = [PIPECAT, "uvicorn==0.54.0"]
BOT = Path(__file__).with_name("bot.py")


def venv_dir() -> Path:
    cache = Path(os.environ.get("VOICEBOT_BENCH_CACHE", Path.home() / ".cache/voicebot-bench"))
    return cache / "pipecat-1.14.0"


def ensure_venv() -> Path:
    """The venv's python, creating the venv and installing the pins if not done yet."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    stamp = venv / "bench-pins.txt"
    if python.exists() and stamp.exists() and stamp.read_text() == "\n".join(PINS):
        return python
    print(f"pipecat bench: making {venv} ({', '.join(PINS)}); this takes minutes once",
          file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PINS], check=True)
    stamp.write_text("\n".join(PINS))
    return python


def installed_version(python: Path) -> str:
    out = subprocess.run([str(python), "-c",
                          "import importlib.metadata as m; print(m.version('pipecat-ai'))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def shared_models() -> tuple[str, Path]:
    """The Whisper tiny.en model and the Piper joe voice voicebot uses, by path."""
    return bundled_model_path(), bundled_voice()[0].parent


@contextlib.contextmanager
def running_pipecat(reply: str, startup_timeout: float = 120.0) -> Iterator[dict]:
    """Yields {"url", "process", "log"} for a pipecat bot answering with `reply`
    (cached | fresh | long); stops it after."""
    python = ensure_venv()
    whisper, voice_dir = shared_models()
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"pipecat-bot-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(python), str(BOT), "--port", str(port), "--reply", reply,
             "--whisper", whisper, "--voice-dir", str(voice_dir)],
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""})
        try:
            wait_until_healthy(proc, f"http://127.0.0.1:{port}/healthz", log_path,
                               startup_timeout)
            yield {"url": f"ws://127.0.0.1:{port}/ws", "process": proc, "log": log_path}
        finally:
            stop(proc)
