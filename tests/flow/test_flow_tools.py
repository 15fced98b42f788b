"""validate / chat / test / graph as the CLI runs them: arguments in, text and exit code out."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from flow_helpers import MINIMAL, FlowFiles, understand

from voicebot.flow import tools
from voicebot.flow.tools import chat_main, graph_main, validate_main
from voicebot.flow_cli import add_flow_subcommands
from voicebot.types import Expectation, NLUResult

ROOT = Path(__file__).resolve().parents[2]
ROUTER = str(ROOT / "flows" / "support_router.yaml")


def test_validate_ok_and_errors(files: FlowFiles) -> None:
    out = io.StringIO()
    assert validate_main([str(files.write(MINIMAL))], out) == 0
    assert out.getvalue().startswith("ok:")
    bad = files.write(MINIMAL.replace("hangup: true", "goto: nowhere"), "bad.yaml")
    out, err = io.StringIO(), io.StringIO()
    assert validate_main([str(bad)], out, err) == 1
    assert out.getvalue() == ""  # problems on stderr: `validate f.yaml > report` shows them
    first = err.getvalue().splitlines()[0]
    assert first == f"{bad}:11:15: unknown target state 'nowhere'"


def test_validate_prints_warnings_but_passes(files: FlowFiles) -> None:
    text = MINIMAL.replace("    examples: [yes]\n", "    examples: [yes]\n  sure:\n"
                           "    examples: [yes]\n")
    out, err = io.StringIO(), io.StringIO()
    assert validate_main([str(files.write(text))], out, err) == 0
    assert "warning: example 'yes' is shared" in err.getvalue()


def test_validate_a_directory() -> None:
    out = io.StringIO()
    assert validate_main([str(ROOT / "flows")], out) == 0


def test_chat_session() -> None:
    lines = ["/state", "blah", "#2", "/silence", "/error", "phone line", "hello", "/restart",
             "/what", "agent", "/quit", "never read"]
    script = io.StringIO("".join(line + "\n" for line in lines))
    out = io.StringIO()
    assert chat_main(ROUTER, understand, script, out) == 0
    text = out.getvalue()
    assert "bot: Hello, and thank you for calling" in text
    assert "[greeting]" in text and "state=greeting" in text
    assert "bot: Sorry, I didn't catch that. You can say billing" in text
    assert "[technical]" in text
    assert "bot: Sorry, I didn't hear anything." in text
    assert "something went wrong" in text
    assert "-> transfer +33123456702" in text
    assert "[call ended: transfer]" in text
    assert "(intent agent 1.00)" in text
    assert text.count("-> transfer") == 2
    assert "never read" not in text


def test_chat_refuses_a_broken_flow(files: FlowFiles,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = files.write(MINIMAL.replace("hangup: true", "goto: nowhere"))
    out = io.StringIO()
    assert chat_main(str(bad), understand, io.StringIO(""), out) == 1
    assert "unknown target state" in capsys.readouterr().err


def test_conversation_tests_of_the_example_flows_pass() -> None:
    out = io.StringIO()
    assert tools.test_main([str(ROOT / "flows" / "tests")], understand, out) == 0
    assert out.getvalue().splitlines()[-1].endswith(" passed, 0 failed")


def test_conversation_test_failure_and_summary(files: FlowFiles) -> None:
    files.write(MINIMAL)
    tests = files.write(
        """\
        flow: flow.yaml
        tests:
          - name: good
            greeting: {say: ["shall"], state: ask, actions: [say]}
            turns:
              - user: "yes"
                actions: [hangup]
                ended: true
          - name: bad
            turns:
              - user: "yes"
                say: ["goodbye"]
                actions: [transfer]
                state: elsewhere
                slots: {x: 1}
                ended: false
        """,
        "tests.yaml",
    )
    out = io.StringIO()
    assert tools.test_main([str(tests)], understand, out) == 1
    text = out.getvalue()
    assert f"PASS {tests}:3: good" in text
    assert f"FAIL {tests}:9: bad" in text
    assert "expected the bot to say 'goodbye'" in text
    assert "expected actions ['transfer'], got ['hangup']" in text
    assert "expected state 'elsewhere', in 'ask'" in text
    assert "expected slot x=1, got None" in text
    assert "expected ended=False, got True" in text
    assert text.splitlines()[-1] == "1 passed, 1 failed"


def test_conversation_test_file_errors_have_lines(files: FlowFiles) -> None:
    tests = files.write(
        """\
        flow: flow.yaml
        tests:
          - name: t
            turns:
              - user: "hi"
                dtmf: 1
        """,
        "tests.yaml",
    )
    out = io.StringIO()
    assert tools.test_main([str(tests)], understand, out) == 1
    assert f"ERROR {tests}:5:" in out.getvalue()
    assert "exactly one of user, dtmf" in out.getvalue()


def test_graph_mermaid_and_dot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert graph_main(ROUTER, "mermaid") == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart TD")
    assert 's_greeting -->|"intent billing"| s_billing' in mermaid
    assert 's__ -->|"intent agent"|' in mermaid  # globals are drawn once
    assert '"transfer #123;#123; vars.agent_number #125;#125;"' in mermaid
    assert "#quot;line#quot;" in mermaid  # the condition slots.product == "line"
    out = tmp_path / "g.dot"
    assert graph_main(ROUTER, "dot", str(out)) == 0
    dot = out.read_text()
    assert dot.startswith('digraph "support_router"') and dot.rstrip().endswith("}")
    assert 's_greeting -> s_technical [label="intent technical"];' in dot


def test_subcommands_register_with_argparse(files: FlowFiles) -> None:
    parser = argparse.ArgumentParser(prog="voicebot")
    add_flow_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["graph", ROUTER, "--format", "dot", "-o", "x.dot"])
    assert (args.flow, args.fmt, args.out) == (ROUTER, "dot", "x.dot")
    args = parser.parse_args(["validate", str(files.write(MINIMAL))])
    assert args.func(args) == 0
    args = parser.parse_args(["test", "a.yaml", "b.yaml"])
    assert args.paths == ["a.yaml", "b.yaml"] and callable(args.func)
    assert parser.parse_args(["chat", ROUTER]).flow == ROUTER


def test_nlu_option_picks_a_plugin_or_refuses_an_unknown_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser(prog="voicebot")
    add_flow_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["test", "--nlu", "examples", str(ROOT / "flows" / "tests")])
    assert args.func(args) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("passed, 0 failed")
    args = parser.parse_args(["test", "--nlu", "no_such_nlu", "x.yaml"])
    assert args.func(args) == 2
    assert "no_such_nlu" in capsys.readouterr().err


# A project's own NLU plugin, registered in its config.yaml: it knows one word per intent,
# set by an option, so the test can tell it (and its options) from any built-in NLU.
KEYWORD_NLU = '''
from typing import ClassVar
from pydantic import BaseModel
from voicebot.types import Expectation, NLUResult

class KeywordNLU:
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "keyword"

    class Options(BaseModel):
        words: dict[str, str] = {}

    def __init__(self, options=None):
        self.options = options or self.Options()

    def load(self):
        pass

    def parse(self, text, expectation: Expectation) -> NLUResult:
        for intent, word in self.options.words.items():
            if word in text and intent in [i.name for i in expectation.intents]:
                return NLUResult(text, intent, 1.0)
        return NLUResult(text, None, 0.0)
'''


def keyword_project(root: Path) -> Path:
    (root / "keyword_nlu.py").write_text(KEYWORD_NLU, encoding="utf-8")
    (root / "config.yaml").write_text(
        f"flow: {ROUTER}\n"
        'plugins: ["keyword_nlu:KeywordNLU"]\n'
        "nlu: {use: keyword, options: {words: {agent: zebra}}}\n", encoding="utf-8")
    return root / "config.yaml"


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voicebot")
    add_flow_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_chat_uses_the_configured_nlu_with_its_options_and_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    config = keyword_project(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("zebra\n"))
    assert run_cli(["chat", "--config", str(config)]) == 0  # the config's flow, too
    out = capsys.readouterr().out
    assert "(intent agent 1.00)" in out and "-> transfer +33123456789" in out
    # Without --config, ./config.yaml is read when it is there.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("zebra\n"))
    assert run_cli(["chat", ROUTER]) == 0
    assert "(intent agent 1.00)" in capsys.readouterr().out
    # --nlu picks another registered plugin; "zebra" means nothing to it.
    monkeypatch.setattr("sys.stdin", io.StringIO("zebra\n"))
    assert run_cli(["chat", "--nlu", "examples", ROUTER]) == 0
    assert "(intent agent" not in capsys.readouterr().out


def test_without_a_config_file_the_built_in_defaults_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no config.yaml here
    assert run_cli(["test", str(ROOT / "flows" / "tests")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("passed, 0 failed")
    assert run_cli(["test", "--config", "missing.yaml", "x.yaml"]) == 2
    assert "missing.yaml:1:1: cannot read" in capsys.readouterr().err


def broken_nlu(text: str, expectation: Expectation) -> NLUResult:
    raise ConnectionError("the NLU server is down")


def test_a_failing_nlu_costs_a_turn_as_in_a_call(files: FlowFiles) -> None:
    out = io.StringIO()
    assert chat_main(ROUTER, broken_nlu, io.StringIO("billing\n"), out) == 0
    text = out.getvalue()
    assert "(nlu failed: ConnectionError('the NLU server is down'))" in text
    assert "something went wrong" in text and "[greeting]" in text
    tests = files.write(f"""\
        flow: {ROUTER}
        tests:
          - name: billing
            turns:
              - user: "billing"
                state: greeting
                say: "something went wrong"
        """, "tests.yaml")
    out = io.StringIO()
    assert tools.test_main([str(tests)], broken_nlu, out) == 0, out.getvalue()
