"""A crash in native code (signal 11 in CTranslate2, onnxruntime, espeak-ng...) must leave
the operator more than an exit status: `voicebot serve` dumps every thread's Python stack."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from voicebot.testing.server import running_server

FLOW = Path(__file__).parent / "flows" / "webhooks.yaml"

pytestmark = pytest.mark.e2e


def test_a_segfault_leaves_the_python_stacks_in_the_log() -> None:
    with running_server(FLOW) as server:
        proc = server["process"]
        os.kill(proc.pid, signal.SIGSEGV)
        assert proc.wait(30) == -signal.SIGSEGV
        log = Path(server["log"]).read_text()
    assert "Fatal Python error: Segmentation fault" in log
    # The stacks name where each thread was, e.g. the event loop's select.
    assert 'File "' in log and "line " in log
