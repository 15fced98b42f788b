"""The `voicebot` command as a shell user meets it: exit codes, stderr, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VOICEBOT = [sys.executable, "-m", "voicebot.cli"]


def _run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VOICEBOT, *args], capture_output=True, text=True, timeout=120,
                          **kwargs)  # type: ignore[call-overload]


def test_version() -> None:
    done = _run("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("voicebot ")


def test_usage_error_exits_2() -> None:
    done = _run("no-such-command")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_graph_errors_go_to_stderr_not_into_the_diagram(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    done = _run("graph", str(bad))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "not UTF-8" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_closed_pipe_is_not_a_traceback() -> None:
    # `voicebot plugins | head -1`: the reader leaves before the writer is done. Closing
    # our end before the command prints makes its first write fail, every time.
    proc = subprocess.Popen([*VOICEBOT, "plugins"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err
    assert "BrokenPipe" not in err
