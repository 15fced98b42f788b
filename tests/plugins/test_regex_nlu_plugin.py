"""plugins/regex_nlu.py, the worked example of a custom plugin, loaded the way config.yaml does."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.regex_nlu import RegexNLU
from voicebot.plugins.base import Expectation, IntentSpec, SlotSpec
from voicebot.plugins.registry import PluginRegistry

ROOT = Path(__file__).resolve().parents[2]
INTENTS = [IntentSpec("agent", ["speak to an agent"]),
           IntentSpec("billing", ["billing"]),
           IntentSpec("goodbye", ["goodbye"])]
STATE = Expectation(intents=INTENTS)


def make(tmp_path: Path | None = None, table: str | None = None, **options: object) -> RegexNLU:
    registry = PluginRegistry(["plugins.regex_nlu:RegexNLU"], root=ROOT)
    if table is not None:
        path = tmp_path / "rules.yaml"
        path.write_text(table)
        options["table"] = str(path)
    plugin = registry.create("nlu", "regex", options)
    plugin.load()
    return plugin


def test_registered_from_the_config_plugins_list() -> None:
    registry = PluginRegistry(["plugins.regex_nlu:RegexNLU"], root=ROOT)
    info = {(i.kind, i.name): i for i in registry.infos()}[("nlu", "regex")]
    assert (info.origin, info.target) == ("config", "plugins.regex_nlu:RegexNLU")
    assert [o["name"] for o in info.options] == ["table", "fallback", "threshold"]


def test_rules_decide_before_the_examples() -> None:
    plugin = make()
    result = plugin.parse(" I've been overcharged on my direct debit.", STATE)
    assert (result.intent, result.confidence) == ("billing", 1.0)
    # A rule for an intent the state does not offer is ignored.
    assert plugin.parse(" There's an outage.", STATE).intent is None


def test_falls_back_to_the_examples_nlu_and_keeps_its_entities() -> None:
    plugin = make()
    state = Expectation(intents=[IntentSpec("thanks", ["thank you very much"])],
                        slot=SlotSpec("ok", "yes_no"))
    result = plugin.parse(" Thank you so much.", state)
    assert result.intent == "thanks"
    assert plugin.parse(" Yes.", state).entities["ok"] is True
    off = make(fallback=False)
    assert off.parse(" Thank you so much.", state).intent is None


def test_entities_from_the_table() -> None:
    plugin = make()
    result = plugin.parse(" My order is RO123456, email me at ann@example.com.", STATE)
    assert result.entities["order_id"] == "RO123456"
    assert result.entities["email"] == "ann@example.com"


def test_a_bad_rule_is_refused_at_load_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"intents\.agent: bad regular expression '\(agent'"):
        make(tmp_path, "intents:\n  agent: ['(agent']\n")
    with pytest.raises(ValueError, match="expected only 'intents' and 'entities'"):
        make(tmp_path, "intent:\n  agent: [agent]\n")


def test_first_rule_in_table_order_wins(tmp_path: Path) -> None:
    table = "intents:\n  goodbye: ['\\bbye\\b']\n  agent: ['\\bagent\\b']\n"
    plugin = make(tmp_path, table)
    assert plugin.parse("agent, bye", STATE).intent == "goodbye"
    assert plugin.health() == {"ok": True, "rules": 2, "entities": 0}
