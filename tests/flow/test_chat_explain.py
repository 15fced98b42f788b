"""`voicebot chat` says how the flow takes what the NLU found (a low-scoring intent is a
no-match, printed as one), and `--explain` says why an utterance matched what it did."""

from __future__ import annotations

import io
from pathlib import Path

from voicebot.flow.tools import chat_main, understanding
from voicebot.plugins.nlu_examples import ExamplesNLU
from voicebot.plugins.nlu_explain import explain
from voicebot.types import Expectation, IntentSpec, NLUResult

PIZZA = """\
name: pizza
start: main
intents:
  ordering: {examples: [order, I want to order a pizza]}
  delivery_status: {examples: [where is my delivery, my food has not arrived]}
states:
  main:
    say: "Pizza shop."
    on:
      - intent: ordering
        hangup: true
      - intent: delivery_status
        hangup: true
"""
STATE = Expectation(intents=[
    IntentSpec("ordering", ["order", "I want to order a pizza"]),
    IntentSpec("delivery_status", ["where is my delivery", "my food has not arrived"]),
])


def test_an_intent_under_min_confidence_is_printed_as_a_no_match() -> None:
    shown = understanding(NLUResult("meh", "ordering", 0.40), min_confidence=0.5)
    assert shown == "(no match: ordering scored 0.40, under min_confidence 0.50)"
    assert understanding(NLUResult("order", "ordering", 0.9), 0.5) == "(intent ordering 0.90)"
    assert understanding(NLUResult("x", None, 0.0, {"number": 10}), 0.5) == (
        "(no intent; number=10)")


def test_examples_nlu_explains_with_the_example_that_matched() -> None:
    reasons = explain(ExamplesNLU(), "I want to order a large pizza", STATE)
    assert reasons[0].intent == "ordering"
    assert reasons[0].why == "example 'I want to order a pizza'"
    assert reasons[0].score > reasons[1].score


def test_a_rule_is_named_as_the_reason() -> None:
    state = Expectation(intents=[IntentSpec("agent", ["agent"], patterns=[r"\bhuman\b"])])
    reasons = explain(ExamplesNLU(), "a human please", state)
    assert reasons[0].why == r"rule /\bhuman\b/"


def test_chat_explain_prints_the_reasons(tmp_path: Path) -> None:
    flow = tmp_path / "pizza.yaml"
    flow.write_text(PIZZA)
    out = io.StringIO()
    nlu = ExamplesNLU()
    lines = []

    def explainer(text: str, expectation: Expectation) -> list[str]:
        found = [f"{r.intent} {r.score:.3f} {r.why}" for r in explain(nlu, text, expectation)]
        lines.extend(found)
        return found

    chat_main(flow, nlu.parse, io.StringIO("where is my delivery\n"), out, explainer=explainer)
    text = out.getvalue()
    assert "(intent delivery_status 1.00)" in text
    assert "delivery_status 1.000 example 'where is my delivery'" in text
