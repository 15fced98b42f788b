"""The small pure pieces: expressions, templates, slot filling, YAML marks."""

from __future__ import annotations

import pytest

from voicebot.flow import expressions, slots, templates
from voicebot.flow.schema import Collect
from voicebot.flow.yamlsource import Mark, parse_yaml

SCOPE = {
    "slots": {"account": "123456", "amount": 250, "ok": True, "colour": "red"},
    "vars": {"tries": 2, "name": "Ada", "empty": ""},
    "call": {"from_number": "+33600"},
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("slots.amount > 100", True),
        ("slots.amount >= 250 and vars.tries < 3", True),
        ("not slots.ok or vars.tries == 2", True),
        ("not (slots.ok and vars.tries == 2)", False),
        ("len(slots.account) == 6", True),
        ("slots.account == 123456", True),  # digit strings compare as numbers
        ("slots.colour in ['red', \"blue\"]", True),
        ("slots.colour not in ['red']", False),
        ("vars.tries + 1", 3),
        ("vars.tries - 5", -3),
        ("-vars.tries", -2),
        ("vars.name + '!'", "Ada!"),
        ("slots.missing == null", True),
        ("slots.missing > 3", False),  # mismatched types compare false, never raise
        ("vars.name > 3", False),
        ("vars.name + 1", None),
        ("int('x')", None),
        ("lower(vars.name) == 'ada'", True),
        ("str(slots.amount) == '250'", True),
        ("vars.empty", ""),
        ("call.from_number != '+33600'", False),
        ("TRUE and True", True),
        ("1.5 < 2", True),
    ],
)
def test_expression_values(text: str, value: object) -> None:
    assert expressions.evaluate(expressions.parse(text), SCOPE) == value


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("slots.x >", 9, "expected a value"),
        ("slots.x == 1 1", 13, "unexpected '1'"),
        ("(slots.x", 8, "expected ')'"),
        ("x == 1", 0, "unknown name 'x'"),
        ("slots == 1", 0, "unknown name 'slots'"),
        ("open('f')", 0, "unknown function 'open'"),
        ("slots.x = 1", 8, "unexpected character '='"),
        ("slots.__class__ ; 1", 16, "unexpected character ';'"),
        ("", 0, "expected a value"),
    ],
)
def test_expression_errors(text: str, offset: int, words: str) -> None:
    with pytest.raises(expressions.ExprError) as caught:
        expressions.parse(text)
    assert words in str(caught.value)
    assert caught.value.offset == offset


def test_expression_paths_are_listed() -> None:
    node = expressions.parse("slots.a > 1 and len(vars.b) == call.c")
    assert [p for p, _ in expressions.paths(node)] == [
        ("slots", "a"), ("vars", "b"), ("call", "c")]


def test_template_render_and_filters() -> None:
    text = "Hi {{vars.name}}, account {{ slots.account | spell }}, {{ slots.ok }} {{ call.x }}."
    assert templates.render(text, SCOPE) == "Hi Ada, account 1 2 3 4 5 6, yes ."
    assert templates.render("{{ vars.name | upper | lower }}", SCOPE) == "ada"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{{ name }}", "bad placeholder"),
        ("{{ slots }}", "bad placeholder"),
        ("{{ vars.x | nope }}", "unknown filter"),
        ("{{ vars.x", "unbalanced"),
        ("{{ __import__('os') }}", "bad placeholder"),
    ],
)
def test_template_errors(text: str, words: str) -> None:
    with pytest.raises(templates.TemplateError) as caught:
        templates.placeholders(text)
    assert words in str(caught.value)


# Slot filling from words goes through voicebot.nlu (the plugins' own code and word lists);
# these pin what a flow's `collect:` gets from typical answers.
DIGITS = Collect(slot="code", type="digits")
NUMBER = Collect(slot="amount", type="number")
YES_NO = Collect(slot="ok", type="yes_no")


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("four five six", "456"),
        ("double five", "55"),
        ("triple seven oh", "7770"),
        ("my number is 12 34 56", "123456"),
        ("one, two-three", "123"),
        ("Zero nine", "09"),
        ("double 5 1", "551"),
        ("no digits here", None),
    ],
)
def test_digits_from_text(text: str, digits: str | None) -> None:
    assert slots.from_text(DIGITS, text) == digits


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", 42),
        ("about 3.5 please", 3.5),
        ("It was 3.5.", 3.5),
        ("1,200", 1200),
        ("twenty three", 23),
        ("one hundred and five", 105),
        ("a hundred", 100),
        ("two thousand four hundred", 2400),
        ("four five", 45),
        ("I have a dog", None),
        ("nothing", None),
    ],
)
def test_number_from_text(text: str, number: float | None) -> None:
    assert slots.from_text(NUMBER, text) == number


@pytest.mark.parametrize(
    ("text", "answer"),
    [("yes", True), ("yeah sure", True), ("that's right", True), ("no", False),
     ("not correct", False), ("nope, wrong", False), ("I dont think so", False),
     ("confirmed", True), ("maybe", None), ("", None)],
)
def test_yes_no(text: str, answer: bool | None) -> None:
    assert slots.from_text(YES_NO, text) == answer


def test_choice_takes_the_first_named() -> None:
    pick = Collect(slot="team", type="choice",
                   choices={"sales": ["buy"], "support": ["help", "broken"]})
    assert slots.from_text(pick, "I need help to buy") == "support"
    assert slots.from_text(pick, "Sales!") == "sales"
    assert slots.from_text(pick, "the second one") == "support"
    assert slots.from_text(pick, "nothing") is None


def test_slot_spec_tells_the_nlu_what_the_state_collects() -> None:
    line = Collect(slot="issue", type="choice", choices={"line": ["phone line"], "app": []})
    spec = slots.slot_spec(line)
    assert (spec.name, spec.type, spec.choices) == ("issue", "choice", ["line", "app"])
    assert spec.synonyms == {"line": ["phone line"]}


def test_slot_limits_and_dtmf() -> None:
    pin = Collect(slot="pin", type="digits", length=4)
    assert slots.from_text(pin, "one two three four") == "1234"
    assert slots.from_text(pin, "one two three") is None
    assert slots.from_dtmf(pin, "12*4") is None
    amount = Collect(slot="amount", type="number", min=1, max=10)
    assert slots.from_text(amount, "ten") == 10
    assert slots.from_text(amount, "eleven") is None
    assert slots.from_dtmf(amount, "7") == 7
    assert slots.from_text(amount, "x", {"amount": "nan"}) is None
    yes = Collect(slot="ok", type="yes_no")
    assert slots.from_dtmf(yes, "1") is True and slots.from_dtmf(yes, "3") is None
    pick = Collect(slot="c", type="choice", choices=["a", "b"])
    assert slots.from_dtmf(pick, "2") == "b" and slots.from_dtmf(pick, "3") is None
    text = Collect(slot="t", type="text")
    assert slots.from_text(text, "  hi  ") == "hi" and slots.from_text(text, " ") is None
    assert slots.from_dtmf(text, "1") is None


def test_entities_win_over_text_when_valid() -> None:
    pin = Collect(slot="pin", type="digits", length=4)
    assert slots.from_text(pin, "one two three four", {"pin": "9999"}) == "9999"
    assert slots.from_text(pin, "one two three four", {"digits": "12"}) == "1234"


def test_yaml_marks_and_duplicates() -> None:
    text = "a: 1\nb:\n  c: [x, y]\n  c: 2\non: yes\n"
    data, source, problems = parse_yaml(text, "f.yaml")
    assert data == {"a": 1, "b": {"c": ["x", "y"]}, "on": "yes"}
    assert source.locate(("b", "c")) == Mark(3, 3)
    assert source.locate(("b", "c", 1)) == Mark(3, 10)
    assert source.locate(("b", "c", "nope")) == Mark(3, 3)
    assert source.locate(("b", "missing")) == Mark(2, 1)
    assert [(p.mark, p.message) for p in problems] == [
        (Mark(4, 3), "duplicate key 'c' (first at line 3)")]


def test_yaml_syntax_error_has_a_position() -> None:
    _data, _source, problems = parse_yaml("a: [1, 2\nb: 3\n", "f.yaml")
    assert problems and problems[0].message.startswith("YAML syntax error")
    assert problems[0].mark.line == 2


def test_phone_numbers_and_keys_keep_their_plus_and_leading_zeros() -> None:
    data, _source, _problems = parse_yaml(
        "transfer: +33123456789\ndigits: 0123\ncount: 12\nzero: 0\nhex: 0x1F\n", "f.yaml")
    assert data == {"transfer": "+33123456789", "digits": "0123", "count": 12, "zero": 0,
                    "hex": 31}
