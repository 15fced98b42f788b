"""The llm NLU against a real local HTTP server speaking the chat-completions API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from llm_stub_server import ScriptedModel, StubLLMServer

from voicebot.plugins.nlu_llm import LLMNLU, LLMError
from voicebot.testing import check_nlu
from voicebot.types import Expectation, IntentSpec, SlotSpec

KEYWORDS = {
    "agent": ["agent", "person", "human"],
    "billing": ["bill", "invoice", "charged"],
    "opening_hours": ["open", "hours", "close"],
}
STATE = Expectation(intents=[
    IntentSpec("agent", ["speak to an agent"]),
    IntentSpec("billing", ["a billing question"]),
])


@pytest.fixture
def server() -> Iterator[StubLLMServer]:
    with StubLLMServer(ScriptedModel(KEYWORDS)) as s:
        yield s


def nlu(server: StubLLMServer, **options: object) -> LLMNLU:
    plugin = LLMNLU(LLMNLU.Options(base_url=server.base_url, api_key_env="STUB_KEY", **options))
    plugin.load()
    return plugin


def test_intent_comes_from_the_model_constrained_to_the_state(
    server: StubLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_KEY", "sk-test")
    result = asyncio.run(nlu(server).parse(" My invoice is wrong.", STATE))
    assert (result.intent, result.confidence) == ("billing", 0.9)
    sent = server.model.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer sk-test"
    schema = sent["body"]["response_format"]["json_schema"]["schema"]
    # Only the state's intents are offered: opening_hours exists in KEYWORDS but not here.
    assert schema["properties"]["intent"]["enum"] == ["agent", "billing", None]
    assert sent["body"]["messages"][-1] == {"role": "user", "content": "My invoice is wrong."}


def test_nothing_fitting_is_no_match(server: StubLLMServer) -> None:
    result = asyncio.run(nlu(server).parse("what's the weather like", STATE))
    assert result.intent is None


def test_an_intent_the_state_did_not_offer_is_refused(server: StubLLMServer) -> None:
    server.model.mode = "invent"
    result = asyncio.run(nlu(server).parse("speak to an agent", STATE))
    assert result.intent is None


def test_slot_values_local_first_then_the_models(server: StubLLMServer) -> None:
    digits = Expectation(intents=STATE.intents, slot=SlotSpec("account", "digits", length=3))
    result = asyncio.run(nlu(server).parse("it's four five six", digits))
    assert result.entities["account"] == "456"
    yes_no = Expectation(intents=STATE.intents, slot=SlotSpec("ok", "yes_no"))
    # "I guess so" is not in the local yes/no lexicon; the model reads it as yes.
    result = asyncio.run(nlu(server).parse("I guess so", yes_no))
    assert result.entities["ok"] is True and result.intent is None
    body = server.model.requests[-1]["body"]
    assert body["response_format"]["json_schema"]["schema"]["properties"]["slot"] == {
        "type": ["boolean", "null"]}


def test_falls_back_to_json_object_when_json_schema_is_rejected(server: StubLLMServer) -> None:
    server.model.mode = "reject_schema"
    plugin = nlu(server)
    assert asyncio.run(plugin.parse("talk to a human", STATE)).intent == "agent"
    assert asyncio.run(plugin.parse("my bill", STATE)).intent == "billing"
    formats = [r["body"]["response_format"]["type"] for r in server.model.requests]
    assert formats == ["json_schema", "json_object", "json_object"]


def test_a_slow_endpoint_times_out_with_a_clear_error(server: StubLLMServer) -> None:
    server.model.mode, server.model.delay = "slow", 1.0
    plugin = nlu(server, timeout=0.2, fallback=None)
    with pytest.raises(LLMError, match="timed out"):
        asyncio.run(plugin.parse("my bill", STATE))
    assert plugin.health()["ok"] is False


def test_an_answer_that_is_not_json_is_an_error(server: StubLLMServer) -> None:
    server.model.mode = "garbage"
    plugin = nlu(server, fallback=None)
    with pytest.raises(LLMError, match="did not answer JSON"):
        asyncio.run(plugin.parse("my bill", STATE))
    server.model.mode = "ok"
    assert asyncio.run(plugin.parse("my bill", STATE)).intent == "billing"
    assert plugin.health()["ok"] is True


def test_unreachable_endpoint_is_an_error() -> None:
    plugin = LLMNLU(LLMNLU.Options(base_url="http://127.0.0.1:9/v1", timeout=1.0,
                                   fallback=None))
    with pytest.raises(LLMError):
        asyncio.run(plugin.parse("my bill", STATE))


# The fallback: the embeddings matcher answers the same turn, whatever went wrong.
CLINIC = Expectation(intents=[
    IntentSpec("book", ["book an appointment", "I need to see a doctor"],
               description="the caller wants an appointment with a doctor"),
    IntentSpec("hours", ["opening hours", "when are you open"]),
])


def test_a_slow_model_hands_the_turn_to_the_embeddings_matcher(server: StubLLMServer) -> None:
    server.model.mode, server.model.delay = "slow", 3.0
    plugin = nlu(server, timeout=0.3)
    result = asyncio.run(plugin.parse(" Um, I wanna see the doc.", CLINIC))
    assert result.intent == "book"  # the stub model knows no clinic word: this is e5
    assert plugin.fallbacks == 1
    assert plugin.health()["ok"] is False and "timed out" in str(plugin.health()["last_error"])


@pytest.mark.parametrize("mode", ["garbage", "invent_http_error"])
def test_a_failing_model_hands_the_turn_to_the_fallback(server: StubLLMServer, mode: str) -> None:
    plugin = nlu(server, fallback="examples")
    if mode == "garbage":
        server.model.mode = "garbage"
    else:
        plugin.options.base_url = "http://127.0.0.1:9/v1"  # nothing listens there
        plugin._client_pair = None
    result = asyncio.run(plugin.parse(" When are you open?", CLINIC))
    assert result.intent == "hours" and plugin.fallbacks == 1


def test_unreachable_endpoint_with_the_default_fallback_still_understands() -> None:
    plugin = LLMNLU(LLMNLU.Options(base_url="http://127.0.0.1:9/v1"))
    plugin.load()
    result = asyncio.run(plugin.parse(" I'd like to book an appointment.", CLINIC))
    assert result.intent == "book" and plugin.fallbacks == 1


def test_conformance(server: StubLLMServer) -> None:
    check_nlu(nlu(server))


def test_chat_and_test_call_the_async_plugin_turn_after_turn(
    server: StubLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `voicebot chat`/`test` call parse as a plain function, on one loop for the session.
    from voicebot.flow_cli import as_function

    monkeypatch.setenv("STUB_KEY", "sk-test")
    parse = as_function(nlu(server))
    said = ["My invoice is wrong.", "a real person please", "my bill again"]
    assert [parse(text, STATE).intent for text in said] == ["billing", "agent", "billing"]
