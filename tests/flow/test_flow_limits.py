"""Flow files that a mistake or an attacker wrote: refused with file:line, never a crash,
never minutes of CPU. Each case is one of the bad inputs reported in issue 15."""

from __future__ import annotations

from pathlib import Path

from voicebot.flow.loader import validate_paths
from voicebot.flow.yamlsource import MAX_DEPTH, parse_yaml


def _errors(path: Path) -> list[str]:
    errors, _warnings = validate_paths([path])
    return [str(e) for e in errors]


def test_billion_laughs_is_refused_at_the_alias(tmp_path: Path) -> None:
    # 440 bytes that expand to 9**9 values: 88 s and 3.9 GB before this limit.
    lines = ['name: x', 'start: a', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        prev, name = chr(97 + i), chr(98 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    errors = _errors(path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:")
    assert "billion laughs" in errors[0]


def test_a_few_aliases_still_work() -> None:
    data, _source, problems = parse_yaml("a: &x [1, 2]\nb: *x\nc: *x\n", "f.yaml")
    assert problems == []
    assert data == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}


def test_deep_nesting_is_refused_not_a_crash(tmp_path: Path) -> None:
    # libyaml's composer recurses in C: 100,000 '[' killed the process (SIGSEGV).
    path = tmp_path / "deep.yaml"
    path.write_text("name: " + "[" * 100_000)
    errors = _errors(path)
    assert errors and f"nested more than {MAX_DEPTH} levels deep" in errors[0]


def test_latin1_file_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: ok\nstart: caf\xe9\n".encode("latin-1"))
    assert _errors(path) == [f"{path}:2:11: not UTF-8 (byte 0xe9); save the file as UTF-8"]


def test_self_include_is_a_cycle(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: a\nstart: s\ninclude: [a.yaml]\nstates:\n  s: {say: hi, hangup: true}\n")
    assert _errors(path) == [f"{path}:3:11: include cycle: a.yaml -> a.yaml"]


def test_include_cycle_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(
        "name: b\nstart: s\ninclude: [c.yaml]\nstates:\n  s: {say: hi, goto: t}\n")
    (tmp_path / "c.yaml").write_text(
        "name: c\ninclude: [b.yaml]\nstates:\n  t: {say: bye, hangup: true}\n")
    errors = _errors(tmp_path / "b.yaml")
    assert errors == [f"{tmp_path / 'c.yaml'}:2:11: include cycle: b.yaml -> c.yaml -> b.yaml"]


def test_a_diamond_include_is_not_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "root.yaml").write_text(
        "name: root\nstart: s\ninclude: [l.yaml, r.yaml]\nstates:\n  s: {say: hi, goto: t}\n")
    (tmp_path / "l.yaml").write_text("name: l\ninclude: [common.yaml]\n")
    (tmp_path / "r.yaml").write_text("name: r\ninclude: [common.yaml]\n")
    (tmp_path / "common.yaml").write_text("name: common\nstates:\n  t: {say: bye, hangup: true}\n")
    assert _errors(tmp_path / "root.yaml") == []


def test_thirty_thousand_states_validate(tmp_path: Path) -> None:
    # The graph check was quadratic (4,000 states: 15 s; 30,000 did not finish in a
    # minute). Linear now: a regression shows as a test that takes many minutes.
    count = 30_000
    lines = ["name: big", "start: s0", "intents:", "  next: {examples: [next]}", "states:"]
    for i in range(count):
        end = f"goto: s{i + 1}" if i + 1 < count else 'transfer: "+33123456789"'
        lines += [f"  s{i}:", f"    say: State {i}.", "    on:", "      - intent: next",
                  f"        {end}"]
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert _errors(path) == []
