"""validate helps a person fix what it reports: near names are suggested, and an example
hidden inside another intent's example is pointed out."""

from __future__ import annotations

from flow_helpers import FlowFiles

from voicebot.flow.loader import validate_paths

FLOW = """\
name: pizza
start: main
intents:
  ordering: {examples: [order, I want a pizza]}
  delivery: {examples: [where is my order, my pizza has not arrived]}
states:
  main:
    say: "Pizza shop."
    on:
      - intent: ordering
        hangup: true
      - intent: delivery
        goto: tracking
  tracking:
    say: "Let me look."
    hangup: true
"""


def test_an_example_inside_another_intents_example_is_a_warning(files: FlowFiles) -> None:
    errors, warnings = validate_paths([files.write(FLOW)])
    assert errors == []
    assert len(warnings) == 1
    text = str(warnings[0])
    assert ":5:" in text  # at the longer example, in intent 'delivery'
    assert "example 'where is my order' of intent 'delivery' contains 'order'" in text


def test_unknown_state_and_intent_suggest_the_near_name(files: FlowFiles) -> None:
    bad = FLOW.replace("goto: tracking", "goto: trackin").replace(
        "intent: ordering", "intent: orderin")
    errors, _warnings = validate_paths([files.write(bad)])
    messages = [e.message for e in errors]
    assert "unknown target state 'trackin' (did you mean 'tracking'?)" in messages
    assert "unknown intent 'orderin' (did you mean 'ordering'?)" in messages
