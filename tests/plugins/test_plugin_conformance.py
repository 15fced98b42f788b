"""The conformance kit on every built-in plugin and on plugins/, and on plugins that cheat."""

from __future__ import annotations

import asyncio
import importlib
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from llm_stub_server import ScriptedModel, StubLLMServer
from pydantic import BaseModel

from voicebot.plugins.base import Expectation, NLUResult, Transcript
from voicebot.plugins.registry import BUILTINS, PluginConfigError, PluginRegistry
from voicebot.testing import check_nlu, check_plugin, check_stt, check_tts, check_vad

ROOT = Path(__file__).resolve().parents[2]


def _builtin(kind: str, name: str) -> type:
    # Every built-in's dependencies are installed by scripts/setup --test: an ImportError
    # here is a failure, not a reason to skip.
    importlib.import_module(BUILTINS[(kind, name)].partition(":")[0])
    return PluginRegistry().resolve(kind, name)


@pytest.mark.parametrize("kind, name", [k for k in BUILTINS if k != ("nlu", "llm")],
                         ids=lambda v: str(v))
def test_builtin_passes_the_kit(kind: str, name: str) -> None:
    _builtin(kind, name)
    plugin = PluginRegistry().create(kind, name, {})
    report = check_plugin(plugin)
    assert report["max_lag"] < 0.2


def test_builtin_llm_passes_the_kit_against_a_local_server() -> None:
    keywords = {"agent": ["agent"], "opening_hours": ["hours", "open"]}
    with StubLLMServer(ScriptedModel(keywords)) as server:
        plugin = PluginRegistry().create("nlu", "llm", {"base_url": server.base_url})
        check_nlu(plugin)


def test_the_example_plugin_passes_the_kit() -> None:
    registry = PluginRegistry(["plugins.regex_nlu:RegexNLU"], root=ROOT)
    plugin = registry.create("nlu", "regex", {"table": str(ROOT / "plugins/regex_intents.yaml")})
    check_nlu(plugin)


# -- the kit must catch plugins that break the rules ---------------------------------------


class Opts(BaseModel):
    pass


class BlockingNLU:
    """async, but sleeps without awaiting: it freezes every call on the server."""

    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "blocking"
    Options = Opts

    def load(self) -> None:
        pass

    async def parse(self, text: str, expectation: Expectation) -> NLUResult:
        time.sleep(0.4)  # noqa: ASYNC251 - the rule this plugin breaks on purpose
        return NLUResult(text, None, 0.0)


class StubbornNLU:
    """Catches CancelledError and carries on: barge-in could never stop it."""

    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "stubborn"
    Options = Opts

    def load(self) -> None:
        pass

    async def parse(self, text: str, expectation: Expectation) -> NLUResult:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            pass
        intent = "agent" if "agent" in text else "opening_hours" if "hours" in text else None
        slot = expectation.slot
        entities = {slot.name: True} if slot is not None and text == "yes" else {}
        return NLUResult(text, intent, 1.0 if intent else 0.0, entities)


class InventiveNLU(StubbornNLU):
    name: ClassVar[str] = "inventive"

    async def parse(self, text: str, expectation: Expectation) -> NLUResult:
        return NLUResult(text, "order_pizza", 0.9)


class MislabelledTTS:
    """Makes 8 kHz audio but says 16 kHz: callers would hear chipmunks."""

    kind: ClassVar[str] = "tts"
    name: ClassVar[str] = "mislabelled"
    Options = Opts
    sample_rate = 16000

    def load(self) -> None:
        pass

    def synthesize(self, text: str) -> np.ndarray:
        t = np.arange(int(0.06 * 8000 * len(text.split()))) / 8000
        return (3000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


class SilentTTS(MislabelledTTS):
    name: ClassVar[str] = "silent"

    def synthesize(self, text: str) -> np.ndarray:
        return np.zeros(16000 * 3, dtype=np.int16)


class FloatTTS(MislabelledTTS):
    name: ClassVar[str] = "float"

    def synthesize(self, text: str) -> np.ndarray:
        return np.full(16000 * 3, 0.5, dtype=np.float32)


class EagerVAD:
    """Hears speech in everything."""

    kind: ClassVar[str] = "vad"
    name: ClassVar[str] = "eager"
    Options = Opts
    sample_rate = 16000
    frame_samples = 320

    def load(self) -> None:
        pass

    def speech_probability(self, pcm: np.ndarray) -> float:
        return 0.9

    def reset(self) -> None:
        pass


class DeafSTT:
    kind: ClassVar[str] = "stt"
    name: ClassVar[str] = "deaf"
    Options = Opts

    def load(self) -> None:
        pass

    def transcribe(self, pcm: np.ndarray, sample_rate: int,
                   expectation: Expectation | None = None) -> Transcript:
        return Transcript("")


@pytest.mark.parametrize("plugin, check, complaint", [
    (BlockingNLU(), check_nlu, "blocked the event loop"),
    (StubbornNLU(), check_nlu, "swallowed a cancellation"),
    (InventiveNLU(), check_nlu, "which the state did not offer"),
    (MislabelledTTS(), check_tts, "a wrong declared sample_rate shows up here"),
    (SilentTTS(), check_tts, "nearly\\) silent"),
    (FloatTTS(), check_tts, "not int16"),
    (EagerVAD(), check_vad, "silence scored"),
    (DeafSTT(), check_stt, "heard ''"),
], ids=lambda v: getattr(v, "name", None) or "")
def test_the_kit_rejects_rule_breakers(plugin: object, check: object, complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        check(plugin)  # type: ignore[operator]


def test_the_kit_refuses_a_non_plugin() -> None:
    with pytest.raises(AssertionError, match="unknown plugin kind"):
        check_plugin(object())
    with pytest.raises(PluginConfigError):
        PluginRegistry().resolve("nlu", "tests.nowhere:Nothing")
