"""The example flows' conversation tests also pass with the server's default NLU plugin
(`examples`: fuzzy matching and spoken-number entities), not only the tools' matcher."""

from __future__ import annotations

import io
from pathlib import Path

from voicebot.flow.tools import test_main as run_conversation_tests
from voicebot.plugins.nlu_examples import ExamplesNLU

TESTS = Path(__file__).resolve().parents[2] / "flows" / "tests"


def test_example_flows_with_the_examples_nlu_plugin() -> None:
    nlu = ExamplesNLU()
    nlu.load()
    out = io.StringIO()
    code = run_conversation_tests([str(TESTS)], out, nlu=nlu.parse)
    assert code == 0, out.getvalue()
    assert "0 failed" in out.getvalue().splitlines()[-1]
