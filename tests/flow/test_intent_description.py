"""An intent's one-line `description` reaches the NLU; anything but one line is refused."""

from __future__ import annotations

import pytest
from flow_helpers import FlowFiles

from voicebot.flow.engine import CallState
from voicebot.flow.loader import FlowError

FLOW = """\
name: clinic
start: menu
intents:
  book:
    description: {description}
    examples: [book an appointment]
  hours:
    examples: [opening hours]
states:
  menu:
    say: "How can I help?"
    on:
      - intent: book
        hangup: true
      - intent: hours
        hangup: true
"""


def test_the_description_reaches_the_nlu_and_a_missing_one_is_empty(files: FlowFiles) -> None:
    engine = files.engine(FLOW.format(description="the caller wants to see a doctor"))
    specs = {s.name: s for s in engine.expectation(CallState(state="menu")).intents}
    assert specs["book"].description == "the caller wants to see a doctor"
    assert specs["hours"].description == ""


@pytest.mark.parametrize("bad", ['""', '"  "', '"two\\nlines"', "x" * 201])
def test_an_empty_multi_line_or_long_description_is_refused_at_its_line(
    files: FlowFiles, bad: str
) -> None:
    with pytest.raises(FlowError) as caught:
        files.load(FLOW.format(description=bad))
    assert caught.value.line == 5 and "description" in str(caught.value)
