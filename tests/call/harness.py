"""An in-process call: a real CallSession with real VAD, endpointer, flow and TTS, fed
AudioFrames directly (media time comes from the frames, so listening runs faster than
real time) and an outbox that collects what would go on the wire."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from voicebot.audio.frame import FRAME_SAMPLES, PIPELINE_RATE, AudioFrame
from voicebot.call.outbox import Outbox
from voicebot.call.services import Services
from voicebot.call.session import CallSession
from voicebot.config import Config
from voicebot.flow.engine import FlowEngine
from voicebot.flow.loader import load_flow
from voicebot.metrics import Metrics
from voicebot.plugins.base import Expectation, NoOptions, Transcript
from voicebot.plugins.registry import PluginRegistry
from voicebot.simulator import load_wav_8k
from voicebot.telephony.resample import resample
from voicebot.telephony.ringover import RingoverProtocol

SOUNDS = Path("/usr/share/asterisk/sounds/en")


class ScriptedSTT:
    """Answers by audio length, and remembers every call: what reached STT, and when."""

    kind: ClassVar[str] = "stt"
    name: ClassVar[str] = "scripted"
    Options: ClassVar[type] = NoOptions

    def __init__(self, answer: Any = "", delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.calls: list[int] = []

    def load(self) -> None:
        pass

    def transcribe(self, pcm: np.ndarray, rate: int, exp: Expectation | None = None) -> Transcript:
        self.calls.append(pcm.size)
        if self.delay:
            time.sleep(self.delay)
        text = self.answer(pcm) if callable(self.answer) else self.answer
        return Transcript(text, audio_seconds=pcm.size / rate)


def make_services(flow: str | Path, stt: Any, **config: Any) -> Services:
    cfg = Config(flow=str(flow), **config)
    registry = PluginRegistry()
    return Services(
        cfg, registry, FlowEngine(load_flow(flow)), stt,
        registry.create("nlu", "examples", {}), registry.create("tts", "espeak", {}),
        ThreadPoolExecutor(2), Metrics(),
    )


class Call:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.sent: list[dict[str, Any]] = []
        self.t = 0.0

    async def __aenter__(self) -> Call:
        async def send(text: str | bytes) -> None:
            self.sent.append(json.loads(text))

        self.outbox = Outbox(send, RingoverProtocol(
            output_rate=self.services.config.speak.sample_rate,
            audio_data_type=self.services.config.speak.audio_data_type,
        ))
        self.outbox.start()
        self.session = CallSession(self.services, "test-call", {}, self.outbox)
        await self.session.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.session.close("test")
        await self.outbox.close(0.2)

    def kinds(self) -> list[str]:
        return [str(e.get("event") or e.get("type")) for e in self.sent]

    async def feed(self, pcm16k: np.ndarray, pace: float = 0.0) -> None:
        """Feed 16 kHz audio as 20 ms frames; `pace` seconds of real time per frame."""
        pad = (-pcm16k.size) % FRAME_SAMPLES
        pcm16k = np.concatenate([pcm16k, np.zeros(pad, np.int16)])
        for i in range(0, pcm16k.size, FRAME_SAMPLES):
            self.session.on_audio(AudioFrame(pcm16k[i : i + FRAME_SAMPLES], self.t))
            self.t += FRAME_SAMPLES / PIPELINE_RATE
            await asyncio.sleep(pace)

    async def silence(self, seconds: float, pace: float = 0.0) -> None:
        await self.feed(np.zeros(int(seconds * PIPELINE_RATE), np.int16), pace)


def recording_16k(name: str) -> np.ndarray:
    return resample(load_wav_8k(str(SOUNDS / f"{name}.wav")), 8000, PIPELINE_RATE)


async def until(cond: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.02)
    return bool(cond())

def occupy_thread(scheduler: Executor) -> threading.Event:
    """Occupy one of the scheduler's threads (another call's work) until the returned
    event is set: what runs next is then the scheduler's choice, not a race."""
    release, running = threading.Event(), threading.Event()

    def block() -> None:
        running.set()
        release.wait(10)

    scheduler.submit(block)
    assert running.wait(10)
    return release
