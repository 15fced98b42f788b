"""The call's own types at work: a plain NLU parses in the executor, a key press is a
turn the store keeps with its key, and the prompt object says what may cut it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np

from tests.call.harness import Call, ScriptedSTT, make_services, recording_16k, until
from voicebot.call.prompt import Prompt
from voicebot.call.tts_stream import SpokenText
from voicebot.store.records import CallStore
from voicebot.types import NLUResult

SPINE = Path(__file__).parents[1] / "e2e" / "flows" / "spine.yaml"


class ThreadNotingNLU:
    """Wraps the real NLU and notes which thread each parse ran on."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.threads: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def parse(self, text: str, expectation: Any) -> NLUResult:
        self.threads.append(threading.current_thread().name)
        result: NLUResult = self.inner.parse(text, expectation)
        return result


def test_a_plain_nlu_parses_in_the_executor_and_a_key_turn_keeps_its_key() -> None:
    async def scenario() -> tuple[list[str], dict[str, Any]]:
        services = make_services(SPINE, ScriptedSTT("goodbye"))
        nlu = ThreadNotingNLU(services.nlu)
        services.nlu = nlu  # type: ignore[assignment]
        store = CallStore(":memory:")
        services.store = store  # type: ignore[assignment]
        async with Call(services) as call:
            assert await until(lambda: "streamAudio" in call.kinds())
            call.session.on_dtmf("7")  # no intent in the flow: a no-match turn
            await asyncio.sleep(0.3)
            await call.feed(np.concatenate([recording_16k("agent-pass"),
                                            np.zeros(16000, np.int16)]))
            assert await until(lambda: bool(nlu.threads), 15)
            assert await until(lambda: len(store.get_call("test-call")["turns"]) >= 2, 15)
        record = store.get_call("test-call")
        await store.aclose()
        services.close()
        return nlu.threads, record

    threads, record = asyncio.run(scenario())
    assert threads and all(name != threading.main_thread().name for name in threads)
    key, spoken = record["turns"][:2]
    assert key["dtmf"] == "7" and key["transcript"] is None and key["no_input"] is False
    assert spoken["transcript"] == "goodbye" and spoken["intent"] == "goodbye"
    assert spoken["speech_ms"] > 0 and spoken["dtmf"] is None


def test_the_prompt_says_what_may_cut_it() -> None:
    assert Prompt("true").allows("speech") and Prompt("true").allows("dtmf")
    assert not Prompt("dtmf").allows("speech") and Prompt("dtmf").allows("dtmf")
    assert not Prompt("false").allows("speech") and not Prompt("false").allows("dtmf")


def test_only_a_prompt_cut_while_playing_can_be_resumed() -> None:
    spoken = SpokenText([("Hello there.", 1.0), ("How can I help?", 1.0)], all_text=
                        "Hello there. How can I help?")
    playing = Prompt("true", spoken, playing=True)
    playing.cut(at=10.0, heard_s=1.0)
    assert playing.broken and playing.resumable and playing.rest() == "How can I help?"
    done = Prompt("true", spoken)
    done.cut(at=11.0, heard_s=2.0)
    assert done.broken and not done.resumable
