"""Time in flows: the injected clock, the time functions, opening hours, across DST."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from flow_helpers import FlowFiles, line_of, understand
from test_flow_validate import assert_error_at

from voicebot.flow.clock import FixedClock, parse_moment
from voicebot.flow.convtest import run_file
from voicebot.flow.engine import FlowEngine
from voicebot.flow.events import UserInput
from voicebot.flow.loader import FlowError, load_flow
from voicebot.flow.open_hours import OpenHours
from voicebot.flow.tools import chat_main

HOURS = """\
name: shop
timezone: Europe/Paris
start: greeting
open_hours:
  mon-fri: ["09:00-12:30", "14:00-18:00"]
  sat: "10:00-13:00"
  holidays: ["12-25", 2026-04-06]
  exceptions:
    "2026-12-24": ["09:00-12:00"]
    2026-12-28: []
states:
  greeting:
    set:
      stamp: "= now()"
      day: "= weekday()"
      today: "= date()"
      hh: "= hour()"
      mm: "= minute()"
    branch:
      - if: is_open()
        goto: open
      - goto: closed
  open:
    say: "We are open."
    hangup: true
  closed:
    say: "We are closed."
    hangup: true
"""


def engine_at(files: FlowFiles, moment: datetime, text: str = HOURS) -> FlowEngine:
    return FlowEngine(files.load(text), FixedClock(moment))


def greet(files: FlowFiles, moment: datetime) -> tuple[str, dict[str, object]]:
    state, actions = engine_at(files, moment).start({})
    return state.state if not state.ended else actions[0].text, state.variables  # type: ignore[union-attr]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_time_functions_read_the_injected_clock_in_the_flow_zone(files: FlowFiles) -> None:
    # 17:05 UTC on a Tuesday in December is 18:05 in Paris (UTC+1): closed since 18:00.
    said, values = greet(files, utc("2026-12-22T17:05"))
    assert said == "We are closed."
    assert values == {"stamp": "2026-12-22T18:05", "day": "tuesday", "today": "2026-12-22",
                      "hh": 18, "mm": 5}


def test_the_local_date_not_the_utc_date(files: FlowFiles) -> None:
    # 23:30 UTC on Friday 25 is already Saturday 26 at 00:30 in Paris.
    _said, values = greet(files, utc("2026-12-25T23:30"))
    assert values["today"] == "2026-12-26" and values["day"] == "saturday"


@pytest.mark.parametrize(("instant", "local_hour", "is_open"), [
    # Spring forward: Sunday 29 March 2026, 02:00 CET -> 03:00 CEST.
    ("2026-03-27T08:30", 9, True),     # Friday before: UTC+1, 09:30 local, open
    ("2026-03-30T07:30", 9, True),     # Monday after: UTC+2, so 07:30 UTC is 09:30, open
    ("2026-03-30T06:30", 8, False),    # ... and 06:30 UTC is 08:30: not yet
    ("2026-03-27T07:30", 8, False),    # same UTC time before the change: 08:30, closed
    # Fall back: Sunday 25 October 2026, 03:00 CEST -> 02:00 CET.
    ("2026-10-23T16:30", 18, False),   # Friday before: UTC+2, 18:30 local, closed
    ("2026-10-26T16:30", 17, True),    # Monday after: UTC+1, 17:30 local, open
])
def test_opening_hours_follow_the_wall_clock_across_dst(
    files: FlowFiles, instant: str, local_hour: int, is_open: bool,
) -> None:
    said, values = greet(files, utc(instant))
    assert values["hh"] == local_hour
    assert said == ("We are open." if is_open else "We are closed.")


def test_hours_on_the_dst_days_themselves() -> None:
    hours = OpenHours.model_validate({"sunday": "01:00-04:00"})
    paris = "Europe/Paris"
    # 00:30 UTC on 29 March is 01:30 CET; 01:30 UTC is 03:30 CEST: both inside 01-04.
    for instant, expected in [("2026-03-29T00:30", True), ("2026-03-29T01:30", True),
                              ("2026-03-29T02:30", False),   # 04:30 CEST
                              ("2026-10-25T00:30", True),    # 02:30 CEST
                              ("2026-10-25T01:30", True),    # 02:30 CET, the hour again
                              ("2026-10-25T03:30", False)]:  # 04:30 CET
        local = utc(instant).astimezone(parse_moment("2026-01-01T00:00", paris).tzinfo)
        assert hours.is_open(local) is expected, instant


def test_holidays_exceptions_and_weekdays() -> None:
    hours = OpenHours.model_validate({
        "mon-fri": ["09:00-12:30", "14:00-18:00"], "sat-sun": "10:00-24:00",
        "holidays": ["12-25", date(2026, 4, 6)],
        "exceptions": {"2026-12-24": "09:00-12:00", "12-31": []},
    })
    assert hours.hours_on(date(2026, 12, 25)) == []          # every year's 25 December
    assert hours.hours_on(date(2027, 12, 25)) == []
    assert hours.hours_on(date(2026, 4, 6)) == []            # one Easter Monday
    assert hours.hours_on(date(2027, 3, 29)) != []           # not the next year's
    assert hours.hours_on(date(2026, 12, 24)) == [(time(9), time(12))]
    assert hours.hours_on(date(2026, 12, 31)) == []
    assert hours.hours_on(date(2026, 12, 27)) == [(time(10), None)]  # sunday, to midnight
    local = datetime(2026, 12, 27, 23, 59)
    assert hours.is_open(local) and not hours.is_open(datetime(2026, 12, 28, 12, 45))


def test_an_exception_beats_a_holiday() -> None:
    hours = OpenHours.model_validate({"holidays": ["2026-12-24"],
                                      "exceptions": {"2026-12-24": "09:00-10:00"}})
    assert hours.is_open(datetime(2026, 12, 24, 9, 30))


@pytest.mark.parametrize(("block", "words"), [
    ({"funday": "09:00-10:00"}, "unknown day 'funday'"),
    ({"monday": "9-5"}, "bad time range '9-5'"),
    ({"monday": "18:00-09:00"}, "cannot cross midnight"),
    ({"monday": "09:00-25:00"}, "bad time"),
    ({"mon-fri": "09:00-10:00", "friday": "11:00-12:00"}, "'friday' is given twice"),
    ({"holidays": ["2026-13-01"]}, "bad date"),
    ({"holidays": ["02-30"]}, "bad day"),
    ({"exceptions": ["2026-12-24"]}, "'exceptions' maps a date"),
    ({"monday": 9}, "hours are a range"),
])
def test_bad_opening_hours_are_refused_with_a_reason(block: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        OpenHours.model_validate(block)


def test_a_bad_block_is_a_flow_error_at_its_line(files: FlowFiles) -> None:
    text = HOURS.replace('sat: "10:00-13:00"', 'sat: "10:00-31:00"')
    with pytest.raises(FlowError) as caught:
        files.load(text)
    error = caught.value.errors[0]
    assert "open_hours: bad time in '10:00-31:00'" in error.message
    # The block is checked as a whole: the error points inside it.
    assert line_of(text, "open_hours:") <= error.line < line_of(text, "states:")


def test_an_unknown_time_zone_is_refused(files: FlowFiles) -> None:
    text = HOURS.replace("Europe/Paris", "Europe/Pariss")
    assert_error_at(files, text, "timezone:", "unknown time zone 'Europe/Pariss'")


def test_is_open_needs_an_open_hours_block(files: FlowFiles) -> None:
    start = HOURS.index("open_hours:")
    text = HOURS[:start] + HOURS[HOURS.index("states:"):]
    assert_error_at(files, text, "if: is_open()", "'is_open()' needs an 'open_hours' block")


def test_time_functions_take_no_argument(files: FlowFiles) -> None:
    text = HOURS.replace('"= hour()"', '"= hour(1)"')
    assert_error_at(files, text, "hh:", "'hour()' takes no argument")


def test_the_last_branch_is_the_otherwise(files: FlowFiles) -> None:
    text = HOURS.replace("      - goto: closed", "      - if: hour() > 3\n        goto: closed")
    assert_error_at(files, text, "if: hour() > 3", "needs no 'if:'")


def test_a_branch_takes_no_trigger(files: FlowFiles) -> None:
    text = HOURS.replace("      - goto: closed", "      - dtmf: '1'\n        goto: closed")
    assert_error_at(files, text, "dtmf: '1'", "decided on arrival")


def test_a_branch_state_reaches_only_what_its_branches_name(files: FlowFiles) -> None:
    text = HOURS.replace("      - goto: closed", "      - goto: open") + """\
  orphan:
    say: "never"
    hangup: true
"""
    text = text.replace("  closed:\n    say: \"We are closed.\"\n    hangup: true\n", "")
    assert_error_at(files, text, "orphan:", "unreachable state 'orphan'")


def test_branches_that_loop_end_the_call_instead_of_recursing(files: FlowFiles) -> None:
    text = """\
    name: loop
    start: a
    states:
      a:
        branch:
          - if: hour() >= 0
            goto: b
          - hangup: true
      b:
        branch:
          - if: hour() >= 0
            goto: a
          - hangup: true
    """
    state, actions = engine_at(files, utc("2026-01-01T10:00"), text).start({})
    assert state.ended and state.end_reason == "loop"


def test_the_clock_is_read_each_step(files: FlowFiles) -> None:
    text = HOURS.replace("""  open:
    say: "We are open."
    hangup: true""", """  open:
    say: "We are open."
    on:
      - intent: agent
        if: is_open()
        transfer: "+33123456789"
      - intent: agent
        say: "Too late."
        hangup: true""") + """intents:
  agent:
    examples: [agent]
"""
    clock = FixedClock(utc("2026-12-22T10:59"))  # 11:59 in Paris
    engine = FlowEngine(files.load(text), clock)
    state, _actions = engine.start({})
    assert state.state == "open"
    clock.moment = utc("2026-12-22T11:31")  # 12:31: closed for lunch by the caller's turn
    state, actions = engine.step(state, UserInput(understand("agent",
                                                             engine.expectation(state))))
    assert [type(a).__name__ for a in actions] == ["Say", "Hangup"]


def test_conversation_tests_fix_the_clock(files: FlowFiles) -> None:
    files.write(HOURS, "shop.yaml")
    tests = files.write("""\
    flow: shop.yaml
    now: 2026-12-24T11:00
    tests:
      - name: morning of the 24th
        greeting: {say: ["open"], vars: {day: thursday, hh: 11}}
      - name: evening of the 24th
        now: "2026-12-24T18:30"
        greeting: {say: ["closed"], vars: {stamp: "2026-12-24T18:30"}}
      - name: an offset is honoured
        now: "2026-12-24T10:30+00:00"
        greeting: {say: ["open"], vars: {hh: 11, mm: 30}}
      - name: wrong on purpose
        now: 2026-12-24T18:30
        greeting: {say: ["open"]}
    """, "shop_test.yaml")
    results = [result for result, _line in run_file(tests, understand)]
    assert [r.passed for r in results] == [True, True, True, False]
    assert "expected the bot to say 'open'" in results[3].failures[0]


def test_a_bad_now_in_a_test_file_is_refused_at_its_line(files: FlowFiles) -> None:
    files.write(HOURS, "shop.yaml")
    text = """\
    flow: shop.yaml
    tests:
      - name: bad
        now: "24/12/2026 18:30"
    """
    tests = files.write(text, "shop_test.yaml")
    with pytest.raises(FlowError) as caught:
        run_file(tests, understand)
    assert "bad time '24/12/2026 18:30'" in str(caught.value)
    assert caught.value.line == line_of(text, "now:")


def test_chat_fixes_the_clock_with_now(files: FlowFiles) -> None:
    path = files.write(HOURS, "shop.yaml")
    out = io.StringIO()
    assert chat_main(path, understand, io.StringIO(""), out, now="2026-12-24T18:30") == 0
    assert "We are closed." in out.getvalue()
    out = io.StringIO()
    assert chat_main(path, understand, io.StringIO("/now 2026-12-2\n"), out,
                     now="2026-12-24T10:30") == 0
    assert "We are open." in out.getvalue() and "bad time '2026-12-2'" in out.getvalue()


def test_a_bad_now_for_chat_is_an_error_not_a_traceback(files: FlowFiles) -> None:
    path = files.write(HOURS, "shop.yaml")
    out = io.StringIO()
    assert chat_main(path, understand, io.StringIO(""), out, now="tomorrow") == 1
    assert "bad time 'tomorrow'" in out.getvalue()


def test_an_include_cannot_set_its_own_clock(files: FlowFiles) -> None:
    files.write("""\
    name: extra
    timezone: America/New_York
    states: {}
    """, "extra.yaml")
    text = HOURS.replace("start: greeting", "start: greeting\ninclude: [extra.yaml]")
    with pytest.raises(FlowError) as caught:
        load_flow(files.write(text))
    assert any("'timezone' belongs in the root flow file" in e.message
               for e in caught.value.errors)


def test_load_flow_accepts_the_example() -> None:
    flow = load_flow(Path(__file__).resolve().parents[2] / "flows" / "front_desk.yaml")
    assert flow.timezone == "Europe/Paris" and flow.open_hours is not None
