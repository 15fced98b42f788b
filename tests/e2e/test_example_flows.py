"""Each example flow in flows/ answers a spoken call through the real server."""

from __future__ import annotations

import asyncio

import pytest

from voicebot.simulator import Key, Silence, Speech, WaitQuiet, simulate
from voicebot.testing.callers import piper_8k
from voicebot.testing.server import ROOT, running_server

pytestmark = pytest.mark.e2e


def _turns(*utterances: str) -> list:
    """A polite caller: waits for each prompt to end, then speaks."""
    script: list = []
    for text in utterances:
        script += [WaitQuiet(0.6, timeout=25), Silence(0.3), Speech(piper_8k(text))]
    return script + [Silence(2.0)]


def _actions(result) -> list[dict]:
    return [r.event for r in result.events if r.kind in ("transfer", "digits", "play")]


def test_support_router_routes_a_billing_question():
    with running_server(ROOT / "flows" / "support_router.yaml") as srv:
        script = _turns("I have a question about my invoice", "yes please")
        result = asyncio.run(simulate(srv["url"], script, timeout=60))
    assert _actions(result) == [{"event": "transfer", "data": "+33123456701"}]


def test_account_lookup_by_voice_and_by_keypad():
    with running_server(ROOT / "flows" / "account_lookup.yaml") as srv:
        spoken = _turns("one two three four five six", "yes")
        by_voice = asyncio.run(simulate(srv["url"], spoken, timeout=60))
        keyed = [WaitQuiet(0.6, timeout=25)] + [Key(d) for d in "654321#"]
        keyed += _turns("yes")
        by_keys = asyncio.run(simulate(srv["url"], keyed, timeout=60))
    assert _actions(by_voice) == [{"event": "transfer", "data": "+33123456700,123456"}]
    assert _actions(by_keys) == [{"event": "transfer", "data": "+33123456700,654321"}]


def test_ivr_navigator_sends_digits_then_hands_over():
    with running_server(ROOT / "flows" / "ivr_navigator.yaml") as srv:
        result = asyncio.run(simulate(srv["url"], _turns("I would like to talk to sales"),
                                      timeout=60))
    assert _actions(result) == [
        {"event": "digits", "data": 1},
        {"event": "transfer", "data": "+33123456000"},
    ]
