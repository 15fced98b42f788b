"""A recording survives the server's death: SIGKILL `voicebot serve` mid-call and the WAV
on disk is still a valid stereo file holding the call up to about a second before."""

from __future__ import annotations

import asyncio
import signal
import wave
from pathlib import Path

import numpy as np
import pytest

from voicebot.simulator import Silence, simulate
from voicebot.testing.server import ROOT, running_server

pytestmark = pytest.mark.e2e

FLOW = ROOT / "flows" / "support_router.yaml"


def test_a_killed_server_leaves_a_playable_recording(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    with running_server(FLOW, recording={"enabled": True, "path": str(recordings)}) as srv:

        async def call_then_kill() -> None:
            # The caller listens to the greeting in silence; 4 s in, the server dies.
            task = asyncio.create_task(simulate(srv["url"], [Silence(20.0)], timeout=25))
            await asyncio.sleep(4.0)
            srv["process"].send_signal(signal.SIGKILL)
            await asyncio.wait_for(task, 10)

        asyncio.run(call_then_kill())
        srv["process"].wait(10)
    (path,) = recordings.glob("*.wav")
    with wave.open(str(path), "rb") as w:  # the header is valid: sizes as last written
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        frames = w.getnframes()
        data = np.frombuffer(w.readframes(frames), "<i2").reshape(-1, 2)
    assert data.shape[0] == frames, "the header counts exactly the samples on disk"
    seconds = frames / 8000
    assert 1.5 <= seconds <= 4.5, seconds  # everything but (at most) the last second
    bot = data[:, 1].astype(np.float64)
    assert np.sqrt(np.mean(bot**2)) > 300, "the greeting is in the file, on the right"
