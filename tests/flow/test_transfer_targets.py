"""Transfer targets (`transfer: sales`, numbers in config.yaml) and the hand-off summary."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flow_helpers import Convo, FlowFiles
from test_flow_validate import assert_error_at

from voicebot.check import check_main
from voicebot.config import ConfigError, load_config
from voicebot.flow.actions import Transfer
from voicebot.flow.targets import is_name, is_number, resolve

FLOW = """\
name: desk
start: ask
vars: {order: "A-12"}
intents:
  agent: {examples: [agent]}
defaults:
  on_max_turns: {transfer: support, summary: "gave up", say: "One moment."}
states:
  ask:
    say: "What can I do?"
    on:
      - intent: agent
        transfer: sales
        summary: "Caller {{ call.from_number }} asks about order {{ vars.order }}."
      - dtmf: "9"
        transfer: "+33 1 23 45 67 89"
"""


def test_a_transfer_names_a_target_and_carries_a_rendered_summary(files: FlowFiles) -> None:
    convo = Convo(files.engine(FLOW), {"from_number": "+33612345678"})
    (action,) = convo.say("agent")
    assert action == Transfer("sales", "Caller +33612345678 asks about order A-12.")
    convo = Convo(files.engine(FLOW))
    assert convo.keys("9") == [Transfer("+33 1 23 45 67 89", None)]


def test_names_and_numbers() -> None:
    assert is_name("sales") and is_name("billing-fr") and not is_name("+33123")
    assert is_number("+33123456789") and is_number("1001") and is_number("sip:desk@pbx.example")
    assert not is_number("sales") and not is_number("call me")
    targets = {"sales": "+33123456789"}
    assert resolve("sales", targets) == "+33123456789"
    assert resolve(" +33999 ", targets) == "+33999"
    assert resolve("support", targets) is None


def test_validate_refuses_a_transfer_that_is_neither(files: FlowFiles) -> None:
    text = FLOW.replace('transfer: "+33 1 23 45 67 89"', 'transfer: "call the boss"')
    assert_error_at(files, text, "call the boss", "neither a number")


def test_a_summary_needs_a_transfer(files: FlowFiles) -> None:
    text = FLOW.replace('transfer: "+33 1 23 45 67 89"', 'hangup: true\n        summary: "x"')
    assert_error_at(files, text, "- dtmf:", "'summary' goes with 'transfer'")


def test_a_summary_template_is_checked(files: FlowFiles) -> None:
    text = FLOW.replace("{{ vars.order }}", "{{ vars.ordre }}")
    assert_error_at(files, text, "summary: \"Caller", "undefined variable 'ordre'")


def write_config(tmp_path: Path, targets: str) -> Path:
    (tmp_path / "desk.yaml").write_text(FLOW)
    config = tmp_path / "config.yaml"
    config.write_text(f"flow: desk.yaml\nnlu: {{use: examples}}\n{targets}")
    return config


def test_config_targets_are_checked(tmp_path: Path) -> None:
    good = load_config(write_config(tmp_path, 'targets:\n  sales: "+33123456789"\n'))
    assert good.targets == {"sales": "+33123456789"}
    for bad, words in [('targets:\n  "+33": "+33123"\n', "not a target name"),
                       ("targets:\n  sales: 33123456789\n", "write the number in quotes"),
                       ('targets:\n  sales: "ask Bob"\n', "not a number to dial")]:
        with pytest.raises(ConfigError, match=words) as caught:
            load_config(write_config(tmp_path, bad))
        assert "config.yaml:4:3: targets" in str(caught.value)  # at the target


def test_check_refuses_a_flow_naming_a_target_the_config_lacks(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'targets:\n  sales: "+33123456789"\n')
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(config), load=False, out=out, err=err) == 1
    assert "transfer target 'support' is not in the config's 'targets' (targets: sales)" \
        in err.getvalue()
    assert f"{tmp_path / 'desk.yaml'}:7:" in err.getvalue()  # the on_max_turns line
    config = write_config(tmp_path, 'targets:\n  sales: "+331"\n  support: "+332"\n')
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(config), load=False, out=out, err=err) == 0, err.getvalue()
