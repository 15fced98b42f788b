"""Every complete flow in docs/flows.md loads, so the documentation cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voicebot.flow.engine import FlowEngine
from voicebot.flow.loader import load_flow

DOC = Path(__file__).resolve().parents[2] / "docs" / "flows.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def flow_blocks() -> list[tuple[str, str]]:
    """(file name, text) of each complete flow; `# path` on the first line names the file."""
    found = []
    for index, block in enumerate(BLOCKS):
        first = block.splitlines()[0]
        named = re.fullmatch(r"# ([\w/.-]+\.yaml)", first)
        if named or block.startswith("name:"):
            found.append((named.group(1) if named else f"example_{index}.yaml", block))
    return found


def test_the_doc_has_examples() -> None:
    assert len(flow_blocks()) >= 12


@pytest.mark.parametrize(("name", "text"), flow_blocks(), ids=[n for n, _ in flow_blocks()])
def test_doc_example_loads_and_starts(tmp_path: Path, name: str, text: str) -> None:
    for other, other_text in flow_blocks():  # included files must exist next to it
        path = tmp_path / other
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(other_text, encoding="utf-8")
    engine = FlowEngine(load_flow(tmp_path / name))
    state, actions = engine.start({"from_number": "+33600000000"})
    assert actions and state.state in engine.flow.states
