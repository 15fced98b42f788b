"""The example plugin passes voicebot's conformance kit, and its keywords decide."""

from __future__ import annotations

from plugins.keywords_nlu import KeywordsNLU

from voicebot.plugins.base import Expectation, IntentSpec
from voicebot.testing import check_plugin


def test_conformance() -> None:
    check_plugin(KeywordsNLU(KeywordsNLU.Options()))


def test_a_keyword_decides() -> None:
    plugin = KeywordsNLU(KeywordsNLU.Options(keywords={"agent": ["human"]}))
    plugin.load()
    state = Expectation(intents=[IntentSpec("agent", ["speak to an agent"]),
                                 IntentSpec("hours", ["opening hours"])])
    assert plugin.parse("a human please", state).intent == "agent"
    assert plugin.parse("what are your opening hours", state).intent == "hours"
