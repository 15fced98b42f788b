"""Each mistake `voicebot validate` catches, reported at the right file:line:column."""

from __future__ import annotations

import textwrap

import pytest
from flow_helpers import MINIMAL, FlowFiles, line_of

from voicebot.flow.loader import FlowError, load_flow, validate_paths


def problems(files: FlowFiles, text: str) -> list[FlowError]:
    errors, _warnings = validate_paths([files.write(text)])
    return errors


def assert_error_at(files: FlowFiles, text: str, needle: str, words: str, nth: int = 1) -> None:
    errors = problems(files, text)
    expected = line_of(text, needle, nth)
    assert errors, "the flow should have been refused"
    matching = [e for e in errors if words in e.message]
    assert matching, f"no error mentions {words!r}: {[str(e) for e in errors]}"
    assert matching[0].line == expected, str(matching[0])


def test_minimal_flow_is_valid(files: FlowFiles) -> None:
    assert problems(files, MINIMAL) == []
    flow = files.load(MINIMAL)
    assert flow.start == "ask" and list(flow.states) == ["ask"]


def test_error_string_is_file_line_column(files: FlowFiles) -> None:
    text = MINIMAL.replace("goto", "x").replace("hangup: true", "goto: nowhere")
    path = files.write(text)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    line = line_of(text, "goto: nowhere")
    assert str(caught.value) == (
        f"{path}:{line}:15: unknown target state 'nowhere'"
    )
    assert caught.value.errors[0].line == line


def test_unknown_target_state(files: FlowFiles) -> None:
    text = MINIMAL.replace("hangup: true", "goto: nowhere")
    assert_error_at(files, text, "goto: nowhere", "unknown target state 'nowhere'")


def test_unknown_start_state(files: FlowFiles) -> None:
    text = MINIMAL.replace("start: ask", "start: begin")
    assert_error_at(files, text, "start: begin", "unknown start state")


def test_missing_start(files: FlowFiles) -> None:
    text = MINIMAL.replace("start: ask\n", "")
    assert_error_at(files, text, "name: mini", "missing required key 'start'")


def test_unreachable_state(files: FlowFiles) -> None:
    text = MINIMAL + """\
  orphan:
    say: "Nobody comes here."
    hangup: true
"""
    assert_error_at(files, text, "orphan:", "unreachable state 'orphan'")


def test_dead_end_without_hangup_or_transfer(files: FlowFiles) -> None:
    text = """\
    name: loop
    start: a
    intents:
      next: {examples: [next]}
      done: {examples: [done]}
    states:
      a:
        say: "A"
        on:
          - intent: next
            goto: b
          - intent: done
            hangup: true
      b:
        say: "B"
        on:
          - intent: next
            goto: c
      c:
        say: "C"
        on:
          - intent: next
            goto: b
    """
    errors = problems(files, text)
    dead = sorted(e.line for e in errors if "dead end" in e.message)
    assert dead == [line_of(text, "  b:"), line_of(text, "  c:")]


def test_template_with_undefined_slot(files: FlowFiles) -> None:
    text = MINIMAL.replace('"Shall we?"', '"Account {{ slots.acount }}?"')
    assert_error_at(files, text, "slots.acount", "undefined slot 'acount'")


def test_template_with_undefined_variable(files: FlowFiles) -> None:
    text = MINIMAL.replace("hangup: true", 'say: "Bye {{ vars.name }}"\n        hangup: true')
    assert_error_at(files, text, "vars.name", "undefined variable 'name'")


def test_template_syntax_error(files: FlowFiles) -> None:
    text = MINIMAL.replace('"Shall we?"', '"Hi {{ slots | upper }}"')
    assert_error_at(files, text, "Hi {{", "bad placeholder")


def test_template_unknown_filter(files: FlowFiles) -> None:
    text = MINIMAL.replace('"Shall we?"', '"Hi {{ call.from_number | shout }}"')
    assert_error_at(files, text, "shout", "unknown filter 'shout'")


def test_intent_with_no_examples(files: FlowFiles) -> None:
    text = MINIMAL.replace("    examples: [yes]\n", "    examples: []\n")
    assert_error_at(files, text, "  yes:", "intent 'yes' has no examples")


def test_unknown_intent_in_transition(files: FlowFiles) -> None:
    text = MINIMAL.replace("- intent: yes", "- intent: yess")
    assert_error_at(files, text, "intent: yess", "unknown intent 'yess'")


def test_duplicate_yaml_key(files: FlowFiles) -> None:
    text = MINIMAL + """\
  ask:
    say: "again"
    hangup: true
"""
    assert_error_at(files, text, "  ask:", "duplicate key 'ask'", nth=2)


def test_duplicate_state_across_include(files: FlowFiles) -> None:
    files.write(
        """\
        name: other
        states:
          ask:
            say: "Twice defined"
            hangup: true
        """,
        "other.yaml",
    )
    text = MINIMAL.replace("start: ask\n", "start: ask\ninclude: [other.yaml]\n")
    path = files.write(text)
    errors, _ = validate_paths([path])
    assert errors and "duplicate state name 'ask'" in errors[0].message
    assert errors[0].file.endswith("other.yaml") and errors[0].line == 3


def test_missing_include(files: FlowFiles) -> None:
    text = MINIMAL.replace("start: ask\n", "start: ask\ninclude: [missing.yaml]\n")
    assert_error_at(files, text, "include:", "'missing.yaml' not found")


def test_wrong_type(files: FlowFiles) -> None:
    text = MINIMAL.replace("start: ask\n", "start: ask\ndefaults:\n  max_turns: many\n")
    assert_error_at(files, text, "max_turns: many", "valid integer")


def test_wrong_type_deep_in_a_state(files: FlowFiles) -> None:
    text = MINIMAL.replace(
        '    say: "Shall we?"\n',
        '    say: "Shall we?"\n    collect: {slot: n, type: digits, length: six}\n',
    )
    assert_error_at(files, text, "length: six", "valid integer")


def test_unknown_key(files: FlowFiles) -> None:
    text = MINIMAL.replace('    say: "Shall we?"', '    sya: "Shall we?"')
    assert_error_at(files, text, "sya:", "unknown key 'sya'")


def test_bad_slot_type(files: FlowFiles) -> None:
    text = MINIMAL.replace(
        '    say: "Shall we?"\n', '    say: "?"\n    collect: {slot: n, type: date}\n'
    )
    assert_error_at(files, text, "type: date", "collect.type")


def test_bad_expression(files: FlowFiles) -> None:
    text = MINIMAL.replace("- intent: yes", '- intent: yes\n        if: "vars.count >"')
    text = text.replace("name: mini\n", "name: mini\nvars: {count: 0}\n")
    assert_error_at(files, text, "if:", "bad expression")


def test_expression_with_undefined_variable(files: FlowFiles) -> None:
    text = MINIMAL.replace("- intent: yes", '- intent: yes\n        if: "vars.tries > 2"')
    assert_error_at(files, text, "if:", "undefined variable 'tries'")


def test_expression_cannot_call_python(files: FlowFiles) -> None:
    text = MINIMAL.replace("- intent: yes", '- intent: yes\n        if: "__import__(\'os\')"')
    assert_error_at(files, text, "if:", "unknown function '__import__'")


def test_bad_regex(files: FlowFiles) -> None:
    text = MINIMAL.replace("    examples: [yes]\n", "    examples: [yes]\n    regex: ['(yes']\n")
    assert_error_at(files, text, "regex:", "bad regex")


def test_transition_needs_one_trigger(files: FlowFiles) -> None:
    text = MINIMAL.replace("- intent: yes", "- intent: yes\n        dtmf: 1")
    assert_error_at(files, text, "- intent: yes", "exactly one of 'intent', 'dtmf', 'filled'")


def test_state_that_neither_waits_nor_moves(files: FlowFiles) -> None:
    text = MINIMAL.replace("hangup: true", "goto: stuck") + """\
  stuck:
    say: "And now?"
"""
    assert_error_at(files, text, "  stuck:", "neither waits")


def test_goto_loop(files: FlowFiles) -> None:
    text = MINIMAL.replace("hangup: true", "goto: a") + """\
  a:
    goto: b
  b:
    goto: a
"""
    assert_error_at(files, text, "goto: b", "goto loop")


def test_collected_slot_without_handler(files: FlowFiles) -> None:
    text = MINIMAL.replace(
        '    say: "Shall we?"\n', '    say: "?"\n    collect: {slot: n, type: number}\n'
    )
    assert_error_at(files, text, "collect:", "nothing handles slot 'n'")


def test_filled_for_a_slot_the_state_does_not_collect(files: FlowFiles) -> None:
    text = MINIMAL.replace("- intent: yes", "- filled: account")
    assert_error_at(files, text, "filled: account", "does not collect slot 'account'")


def test_unknown_flow_jump(files: FlowFiles) -> None:
    text = MINIMAL.replace("hangup: true", "flow: billing")
    assert_error_at(files, text, "flow: billing", "unknown flow 'billing'")


def test_yaml_syntax_error(files: FlowFiles) -> None:
    text = MINIMAL.replace('    say: "Shall we?"', '    say: "Shall we?\n    on: [')
    errors = problems(files, text)
    assert errors and "YAML syntax error" in errors[0].message


def test_every_error_is_reported_not_just_the_first(files: FlowFiles) -> None:
    text = MINIMAL.replace("hangup: true", "goto: nowhere").replace(
        '"Shall we?"', '"{{ vars.nope }}"'
    )
    assert len(problems(files, text)) >= 2


def test_warning_for_an_example_shared_by_two_intents(files: FlowFiles) -> None:
    text = MINIMAL.replace(
        "    examples: [yes]\n", "    examples: [yes, sure]\n  ok:\n    examples: [Sure!]\n"
    )
    errors, warnings = validate_paths([files.write(text)])
    assert errors == []
    warnings = [w for w in warnings if "shared" in w.message]
    assert len(warnings) == 1
    assert warnings[0].line == line_of(text, "examples: [Sure!]")
    assert "shared by intents 'yes' and 'ok'" in warnings[0].message
    assert ": warning: " in str(warnings[0])


def test_shared_examples_are_compared_as_the_nlu_compares_them(files: FlowFiles) -> None:
    # "Um, I'd like an agent, please" is "i would like an agent" to the NLU, as is the other.
    text = MINIMAL.replace(
        "    examples: [yes]\n",
        "    examples: [yes, \"Um, I'd like an agent, please\"]\n"
        "  ok:\n    examples: [i would like an agent]\n",
    )
    _errors, warnings = validate_paths([files.write(text)])
    assert [w.message for w in warnings if "shared" in w.message] == [
        "example 'i would like an agent' is shared by intents 'yes' and 'ok'"]


def test_example_flows_are_valid() -> None:
    errors, warnings = validate_paths(["flows"])
    assert [str(e) for e in errors] == []
    assert [str(w) for w in warnings] == []


def test_on_and_yes_keys_are_names_not_booleans(files: FlowFiles) -> None:
    # YAML 1.1 reads a bare `on`/`yes` as true; a flow must still be able to use them as keys.
    flow = files.load(MINIMAL)
    assert "yes" in flow.intents and flow.states["ask"].on[0].intent == "yes"


def test_dedent_helper_matches_written_file(files: FlowFiles) -> None:
    path = files.write("  a: 1\n")
    assert path.read_text() == textwrap.dedent("  a: 1\n")


def test_template_in_play_url_and_digits_is_checked(files: FlowFiles) -> None:
    text = MINIMAL.replace('    say: "Shall we?"\n',
                           '    say: "Shall we?"\n    play: "https://x/{{ vars.file }}.mp3"\n')
    assert_error_at(files, text, "play:", "undefined variable 'file'")
    text = MINIMAL.replace("hangup: true", 'digits: "{{ slots.ext }}"\n        hangup: true')
    assert_error_at(files, text, "digits:", "undefined slot 'ext'")


def test_bad_digits_to_send(files: FlowFiles) -> None:
    text = MINIMAL.replace("hangup: true", 'digits: "12x"\n        hangup: true')
    assert_error_at(files, text, "digits:", "bad digits '12x'")


def test_duplicate_key_and_type_error_are_reported_together(files: FlowFiles) -> None:
    text = MINIMAL.replace("start: ask\n", "start: ask\nstart: ask\ndefaults: {max_turns: x}\n")
    errors = problems(files, text)
    assert [(e.line, e.column) for e in errors] == [(3, 1), (4, 23)]
    assert "duplicate key 'start'" in errors[0].message
    assert "valid integer" in errors[1].message


def test_warning_for_an_unused_intent(files: FlowFiles) -> None:
    text = MINIMAL.replace("    examples: [yes]\n", "    examples: [yes]\n  spare:\n"
                           "    examples: [spare]\n")
    errors, warnings = validate_paths([files.write(text)])
    assert errors == [] and [(w.line, w.message) for w in warnings] == [
        (line_of(text, "spare:"), "intent 'spare' is never used by a transition")]
