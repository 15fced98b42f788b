"""The default NLU: only the state's intents, regex first, word matching, and the slot's say."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebot.flow import engine as flow_mod
from voicebot.flow.loader import load_flow
from voicebot.plugins.base import Expectation, IntentSpec, SlotSpec
from voicebot.plugins.nlu_examples import ExamplesNLU

ROOT = Path(__file__).resolve().parents[2]

INTENTS = [
    IntentSpec("agent", ["speak to an agent", "a real person", "operator"],
               synonyms={"agent": ["representative", "advisor"]}),
    IntentSpec("billing", ["a question about my invoice", "refund", "I was charged twice"],
               synonyms={"invoice": ["bill", "receipt"]}),
    IntentSpec("technical", ["my line is down", "the app crashes"],
               patterns=[r"\b(outage|bug)\b"]),
    IntentSpec("goodbye", ["goodbye", "no thanks", "that's all"]),
]
STATE = Expectation(intents=INTENTS)


@pytest.fixture(scope="module")
def nlu() -> ExamplesNLU:
    plugin = ExamplesNLU()
    plugin.load()
    return plugin


@pytest.mark.parametrize("text, intent", [
    (" I'd like to speak to an agent.", "agent"),
    (" Um, can I talk to a real person, please?", "agent"),
    (" Representative.", "agent"),  # a synonym of an example's word
    (" There's a problem with my last bill.", "billing"),  # bill -> invoice
    (" I think I was charged twice this month.", "billing"),
    (" The app keeps crashing.", "technical"),  # stems: crashing / crashes
    (" Is there an outage in Lyon?", "technical"),  # the regex
    (" Goodbye!", "goodbye"),
    (" Operater.", "agent"),  # a mis-transcription
])
def test_paraphrases_find_their_intent(nlu: ExamplesNLU, text: str, intent: str) -> None:
    result = nlu.parse(text, STATE)
    assert result.intent == intent, result
    assert 0.72 <= result.confidence <= 1.0


@pytest.mark.parametrize("text", [
    " What's the weather like in Paris?",
    " My cat is asleep on the keyboard.",
    " Hello?",
    "",
    " ...",
])
def test_out_of_scope_is_no_match(nlu: ExamplesNLU, text: str) -> None:
    assert nlu.parse(text, STATE).intent is None


def test_only_intents_the_state_offers(nlu: ExamplesNLU) -> None:
    only_billing = Expectation(intents=[INTENTS[1]])
    assert nlu.parse(" I'd like to speak to an agent.", only_billing).intent is None


def test_a_regex_wins_over_a_closer_example(nlu: ExamplesNLU) -> None:
    # "refund" is an exact billing example, but technical's regex names "bug" explicitly.
    assert nlu.parse("refund bug", STATE).intent == "technical"
    assert nlu.parse("refund bug", STATE).confidence == 1.0


def test_threshold_option_controls_no_match() -> None:
    strict = ExamplesNLU(ExamplesNLU.Options(threshold=0.99))
    lenient = ExamplesNLU(ExamplesNLU.Options(threshold=0.5))
    text = " Could I maybe talk to an advisor about something?"
    assert lenient.parse(text, STATE).intent == "agent"
    assert strict.parse(text, STATE).intent is None


def test_yes_means_what_the_state_asked(nlu: ExamplesNLU) -> None:
    # Here "no" would look like goodbye's "no thanks"; the question asked decides.
    confirm = Expectation(intents=INTENTS, slot=SlotSpec("transfer", "yes_no"))
    for text, value in [(" Nope.", False), (" No.", False), (" Yeah, sure.", True),
                        (" That's right.", True), (" Uh-huh.", True)]:
        result = nlu.parse(text, confirm)
        assert result.intent is None, (text, result)
        assert result.entities["transfer"] is value
        assert result.entities["yes_no"] is value
    # A full request still wins over the slot.
    assert nlu.parse(" No, I want to speak to an agent.", confirm).intent == "agent"


def test_without_a_yes_no_slot_a_bare_yes_matches_a_yes_intent(nlu: ExamplesNLU) -> None:
    state = Expectation(intents=[IntentSpec("confirm", ["yes", "correct"]),
                                 IntentSpec("deny", ["no", "wrong"])])
    assert nlu.parse(" Yeah.", state).intent == "confirm"
    assert nlu.parse(" Nah.", state).intent == "deny"


def test_digits_fill_a_digits_slot(nlu: ExamplesNLU) -> None:
    state = Expectation(intents=INTENTS, slot=SlotSpec("account", "digits", length=6))
    result = nlu.parse(" It's four five six, double one, nine.", state)
    assert result.intent is None
    assert result.entities["account"] == "456119"
    assert result.confidence == 1.0


def test_choice_slot_by_name_synonym_and_position(nlu: ExamplesNLU) -> None:
    state = Expectation(intents=INTENTS, slot=SlotSpec(
        "product", "choice", choices=["line", "app"],
        synonyms={"line": ["phone line", "dial tone"], "app": ["application"]}))
    assert nlu.parse(" The application.", state).entities["product"] == "app"
    assert nlu.parse(" There's no dial tone.", state).entities["product"] == "line"
    assert nlu.parse(" The first one.", state).entities["product"] == "line"


def test_an_intent_example_beats_a_near_miss_choice(nlu: ExamplesNLU) -> None:
    # Issue 13: "a real person" looks like the choice "personal"; it is the agent intent.
    state = Expectation(intents=INTENTS, slot=SlotSpec(
        "size", "choice", choices=["small", "personal", "family"]))
    assert nlu.parse(" A real person.", state).intent == "agent"
    # A choice said as it is written still answers the question asked.
    result = nlu.parse(" Personal.", state)
    assert result.intent is None and result.entities["size"] == "personal"


def test_flows_expectations_through_the_engine(nlu: ExamplesNLU) -> None:
    engine = flow_mod.FlowEngine(load_flow(ROOT / "flows" / "support_router.yaml"))
    greeting = engine.expectation(flow_mod.CallState(state="greeting"))
    assert nlu.parse(" Can I talk to a human?", greeting).intent == "agent"
    billing = engine.expectation(flow_mod.CallState(state="billing"))
    result = nlu.parse(" Yep.", billing)
    assert result.intent is None and result.entities[billing.slot.name] is True


SLOTS = [None, SlotSpec("a", "digits", length=4), SlotSpec("b", "number"),
         SlotSpec("c", "yes_no"), SlotSpec("d", "choice", choices=["red", "blue"]),
         SlotSpec("e", "text")]


@given(text=st.text(max_size=80), slot=st.sampled_from(SLOTS))
@settings(max_examples=300, deadline=None)
def test_any_transcript_gives_a_well_formed_result(text: str, slot: SlotSpec | None) -> None:
    result = ExamplesNLU().parse(text, Expectation(intents=INTENTS, slot=slot))
    assert result.text == text
    assert result.intent is None or result.intent in {i.name for i in INTENTS}
    assert 0.0 <= result.confidence <= 1.0
    if "digits" in result.entities:
        assert result.entities["digits"].isdigit()
    if slot is not None and slot.name in result.entities and slot.type == "digits":
        assert len(result.entities[slot.name]) == 4


def test_a_bad_pattern_names_its_intent(nlu: ExamplesNLU) -> None:
    state = Expectation(intents=[IntentSpec("broken", ["x"], patterns=["(unclosed"])])
    with pytest.raises(ValueError, match="intent 'broken': bad regular expression"):
        nlu.parse("anything", state)
