"""Start the real `voicebot serve` in a subprocess, for end-to-end tests and benchmarks.

It runs from a source checkout (the config.yaml at the repository root is the base that
overrides are applied to), which is where tests and bench/ run."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(directory: Path, flow: str | Path, **overrides: Any) -> Path:
    config: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["flow"] = str(Path(flow).resolve())
    config["store"] = {"path": str(directory / "calls.sqlite3")}
    for key, value in overrides.items():
        section = config.setdefault(key, {})
        if isinstance(value, dict) and isinstance(section, dict):
            section.update(value)
        else:
            config[key] = value
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_until_healthy(proc: subprocess.Popen[Any], health_url: str, log_path: Path,
                       timeout: float) -> None:
    """Poll `health_url` until it answers 200; a clear error with the log if the process
    exits or is not ready within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            code = proc.returncode
            how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
            raise RuntimeError(f"server exited ({how}): {log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(health_url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout:.0f} s: {log_path.read_text()[-4000:]}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running_server(flow: str | Path, startup_timeout: float = 90.0, log_level: str = "warning",
                   **overrides: Any) -> Iterator[dict[str, Any]]:
    """Yields {"url", "http", "process", "log", "db"}; stops the server (SIGTERM) after."""
    with tempfile.TemporaryDirectory(prefix="voicebot-e2e-") as tmp:
        directory = Path(tmp)
        port = free_port()
        config = write_config(directory, flow, **overrides)
        log_path = directory / "server.log"
        log = open(log_path, "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicebot.cli", "serve", "--config", str(config),
             "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=dict(os.environ),
        )
        http = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(proc, http + "/healthz", log_path, startup_timeout)
            yield {"url": f"ws://127.0.0.1:{port}/media", "http": http, "process": proc,
                   "log": log_path, "db": directory / "calls.sqlite3"}
        finally:
            stop(proc)
            log.close()
