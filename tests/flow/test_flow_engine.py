"""Each feature of the flow language, driven through the pure engine."""

from __future__ import annotations

import pytest
from flow_helpers import Convo, FlowFiles

from voicebot.flow.actions import Break, Hangup, Play, Say, SendDigits, Transfer
from voicebot.flow.events import CallEnd, CallStart, Dtmf, NoInput, TurnFailed, UserInput, Webhook
from voicebot.plugins.base import NLUResult

ROUTER = """\
name: router
start: ask
defaults:
  barge_in: dtmf
  max_turns: 6
  no_input: {timeout: 4, retries: 1, prompt: "Still there?"}
  no_match: {retries: 1, prompt: "Pardon?"}
  error_prompt: "Oops, say it again."
vars:
  agent: "+33123456789"
  greeted: false
intents:
  sales:
    examples: [sales, buy something]
    synonyms: {buy: [purchase, order]}
  agent:
    examples: [agent]
    regex: ['\\bhum[ae]n\\b']
  repeat:
    examples: [repeat]
  bye:
    examples: [goodbye]
global:
  - intent: agent
    transfer: "{{ vars.agent }}"
  - intent: repeat
    repeat: true
  - intent: bye
    say: "Bye {{ call.first_name }}."
    hangup: true
  - dtmf: "0"
    transfer: "{{ vars.agent }}"
states:
  ask:
    say: ["Hello {{ call.first_name }}, sales?", "Sales, then?"]
    set: {greeted: true}
    on:
      - intent: sales
        say: "Sales it is."
        digits: "1"
        goto: sales
      - dtmf: "9"
        goto: quiet
  sales:
    break: true
    play: "https://example.com/hold.mp3"
    transfer: "+33999"
  quiet:
    say: "Only the keypad works here."
    barge_in: "false"
    globals: [agent]
    on:
      - intent: bye
        say: "Overridden goodbye."
        hangup: true
      - dtmf: "0"
        say: "Local zero."
        hangup: true
"""


@pytest.fixture
def router(files: FlowFiles) -> Convo:
    return Convo(files.engine(ROUTER), {"first_name": "Ada", "from_number": "+33600"})


def test_greeting_renders_call_data_and_sets_variables(router: Convo) -> None:
    assert router.actions == [Say("Hello Ada, sales?", "dtmf")]
    assert router.state.state == "ask" and router.state.variables["greeted"] is True
    assert router.state.call["from_number"] == "+33600"


def test_intent_transition_says_sends_digits_and_enters_the_next_state(router: Convo) -> None:
    actions = router.say("I'd like to buy something")
    assert actions == [
        Say("Sales it is.", "dtmf"),
        SendDigits("1"),
        Break(),
        Play("https://example.com/hold.mp3", "dtmf"),
        Transfer("+33999"),
    ]
    assert router.state.ended and router.state.end_reason == "transfer"


def test_synonyms_are_rewritten_before_matching(router: Convo) -> None:
    router.say("purchase something")
    assert router.state.ended and isinstance(router.actions[-1], Transfer)


def test_global_intent_with_regex_and_template_transfer(router: Convo) -> None:
    assert router.say("is there a human") == [Transfer("+33123456789")]


def test_global_dtmf_key(router: Convo) -> None:
    assert router.keys("0") == [Transfer("+33123456789")]


def test_repeat_says_the_last_prompt_again(router: Convo) -> None:
    assert router.say("repeat") == [Say("Hello Ada, sales?", "dtmf")]
    assert router.state.state == "ask"


def test_state_overrides_and_restricts_globals(router: Convo) -> None:
    router.keys("9")
    assert router.spoken() == "Only the keypad works here."
    assert router.actions[0].barge_in == "false"
    assert router.engine.barge_in(router.state) == "false"
    # `repeat` is not in this state's globals list, so it is a no-match.
    router.say("repeat")
    assert router.spoken().startswith("Pardon?")
    router.keys("0")  # the state's own key 0 wins over the global one
    assert router.spoken() == "Local zero." and isinstance(router.actions[-1], Hangup)


def test_state_own_intent_overrides_global(router: Convo) -> None:
    router.keys("9")
    router.say("goodbye")
    assert router.spoken() == "Overridden goodbye."


def test_expectation_lists_state_and_global_intents(router: Convo) -> None:
    names = [i.name for i in router.engine.expectation(router.state).intents]
    assert names == ["sales", "agent", "repeat", "bye"]
    router.keys("9")
    names = [i.name for i in router.engine.expectation(router.state).intents]
    assert names == ["bye", "agent"]
    spec = router.engine.expectation(router.state).intents[1]
    assert spec.patterns == ["\\bhum[ae]n\\b"]


def test_no_match_retries_then_gives_up(router: Convo) -> None:
    router.say("blah")
    assert router.spoken() == "Pardon? | Hello Ada, sales?"
    router.say("blah blah")
    assert router.state.ended and router.state.end_reason == "no_match"
    assert isinstance(router.actions[-1], Hangup)


def test_no_input_timeout_and_retries(router: Convo) -> None:
    assert router.engine.no_input_timeout(router.state) == 4
    router.silence()
    assert router.spoken() == "Still there? | Hello Ada, sales?"
    router.silence()
    assert router.state.ended and router.state.end_reason == "no_input"
    assert router.engine.no_input_timeout(router.state) is None


def test_turn_failed_plays_the_error_prompt_and_counts_as_a_retry(router: Convo) -> None:
    assert router.step(TurnFailed("stt")) == [Say("Oops, say it again.", "dtmf")]
    assert router.state.state == "ask" and not router.state.ended
    router.step(TurnFailed("stt"))
    assert router.state.ended


def test_turn_guard_forces_an_ending(files: FlowFiles) -> None:
    text = ROUTER.replace("no_match: {retries: 1", "no_match: {retries: 99")
    convo = Convo(files.engine(text))
    for _ in range(5):
        convo.say("blah")
        assert not convo.state.ended
    convo.say("blah")
    assert convo.state.turns == 6 and convo.state.ended
    assert convo.state.end_reason == "max_turns"
    assert convo.actions == [Say("Sorry, I can't help you further on this call. Goodbye.", "dtmf"),
                             Hangup("max_turns")]


def test_hangup_webhook_and_call_end_end_the_flow_silently(router: Convo) -> None:
    assert router.step(Webhook("answered")) == [] and not router.state.ended
    assert router.step(Webhook("hangup")) == [] and router.state.ended
    assert router.step(UserInput(NLUResult("agent", "agent", 1.0))) == []
    other = Convo(router.engine)
    assert other.step(CallEnd()) == [] and other.state.ended
    assert other.step(NoInput()) == []


def test_call_start_mid_call_is_ignored(router: Convo) -> None:
    before = router.state
    assert router.step(CallStart({"x": 1})) == [] and router.state is before


def test_low_confidence_intent_is_a_no_match(router: Convo) -> None:
    router.step(UserInput(NLUResult("sales?", "sales", 0.2)))
    assert router.spoken().startswith("Pardon?")


def test_step_does_not_mutate_the_previous_state(router: Convo) -> None:
    before = router.state
    snapshot = (dict(before.variables), dict(before.retries), before.turns)
    router.say("blah")
    assert (dict(before.variables), dict(before.retries), before.turns) == snapshot
    assert router.state is not before


VARIANTS = """\
name: variants
start: a
intents:
  again: {examples: [again]}
  stop: {examples: [stop]}
states:
  a:
    say: [one, two, three]
    on:
      - intent: again
        goto: a
      - intent: stop
        hangup: true
  b:
    say: [red, green, blue, yellow, pink]
    variants: random
    on:
      - intent: again
        goto: b
      - intent: stop
        hangup: true
"""


def test_variants_in_turn(files: FlowFiles) -> None:
    convo = Convo(files.engine(VARIANTS.replace("goto: a", "goto: a\n      - dtmf: 1\n"
                                                "        goto: b", 1)))
    said = [convo.spoken()]
    for _ in range(3):
        convo.say("again")
        said.append(convo.spoken())
    assert said == ["one", "two", "three", "one"]


def test_random_variants_are_deterministic(files: FlowFiles) -> None:
    engine = files.engine(VARIANTS.replace("goto: a", "goto: a\n      - dtmf: 1\n"
                                           "        goto: b", 1))

    def run() -> list[str]:
        convo = Convo(engine)
        convo.keys("1")
        said = [convo.spoken()]
        for _ in range(8):
            convo.say("again")
            said.append(convo.spoken())
        return said

    first = run()
    assert first == run()
    assert len(set(first)) > 1  # it does vary
    assert set(first) <= {"red", "green", "blue", "yellow", "pink"}


COLLECT = """\
name: collect
start: pin
vars: {tries: 0}
intents:
  agent: {examples: [agent]}
global:
  - intent: agent
    transfer: "+33100"
states:
  pin:
    say: "Your PIN?"
    collect: {slot: pin, type: digits, min_length: 4, max_length: 6}
    on:
      - filled: pin
        set: {tries: "= vars.tries + 1", last: "pin {{ slots.pin }}"}
        if: len(slots.pin) == 4
        goto: amount
      - filled: pin
        say: "Six digit PINs are not accepted here."
        goto: pin
  amount:
    say: "How much?"
    collect: {slot: amount, type: number, min: 1, max: 500}
    on:
      - filled: amount
        if: slots.amount > 100 and not (call.vip == true)
        say: "That needs approval."
        goto: colour
      - filled: amount
        goto: colour
  colour:
    say: "Red or blue?"
    collect:
      slot: colour
      type: choice
      choices: {red: [crimson], blue: [navy, azure]}
    on:
      - filled: colour
        goto: ok
  ok:
    say: "{{ slots.colour | upper }} it is. Is that all?"
    collect: {slot: done, type: yes_no}
    on:
      - filled: done
        if: slots.done
        goto: note
      - filled: done
        goto: pin
  note:
    say: "Any last words?"
    collect: {slot: note, type: text, confirm: "You said {{ slots.note }}. Right?"}
    on:
      - filled: note
        say: "Noted: {{ slots.note }}. PIN {{ slots.pin | spell }}, {{ vars.last }}."
        hangup: true
"""


def test_slot_types_conditions_and_confirmation(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    convo.say("one two three four")
    assert convo.state.slots == {"pin": "1234"} and convo.state.state == "amount"
    assert convo.state.variables["tries"] == 1
    assert convo.state.variables["last"] == "pin 1234"
    convo.say("two hundred and fifty")
    assert convo.spoken() == "That needs approval. | Red or blue?"
    assert convo.state.slots["amount"] == 250
    convo.say("navy please")
    assert convo.state.slots["colour"] == "blue"
    assert convo.spoken() == "BLUE it is. Is that all?"
    convo.say("yes")
    convo.say("the cake was good")
    assert convo.spoken() == "You said the cake was good. Right?"
    assert "note" not in convo.state.slots  # not filled until confirmed
    convo.say("yes")
    assert convo.spoken() == "Noted: the cake was good. PIN 1 2 3 4, pin 1234."
    assert convo.state.ended


def test_condition_with_call_data(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT), {"vip": True})
    convo.keys("1234#")
    convo.say("three hundred")
    assert convo.spoken() == "Red or blue?"


def test_second_condition_branch(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    convo.keys("123456")
    assert convo.spoken() == "Six digit PINs are not accepted here. | Your PIN?"
    assert convo.state.state == "pin"


def test_number_out_of_range_is_a_no_match(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    convo.keys("1234")
    convo.say("nine thousand")
    assert convo.state.state == "amount" and "amount" not in convo.state.slots
    assert convo.spoken().startswith("Sorry, I didn't understand.")


def test_choice_and_yes_no_by_keypad(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    convo.keys("1234")
    convo.keys("42#")
    convo.keys("1")
    assert convo.state.slots["colour"] == "red"
    convo.keys("2")  # 2 = no
    assert convo.state.slots["done"] is False and convo.state.state == "pin"


def test_dtmf_keys_buffer_until_the_terminator(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    for key in "12345":
        assert convo.keys(key) == []
        assert convo.state.turns == 0
    assert convo.state.dtmf_buffer == "12345"
    convo.keys("#")
    assert convo.state.turns == 1
    assert convo.spoken() == "Six digit PINs are not accepted here. | Your PIN?"


def test_dtmf_buffer_completes_at_max_length(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    for key in "12345":
        convo.keys(key)
    convo.keys("6")
    assert convo.state.slots["pin"] == "123456"


def test_silence_after_some_keys_ends_the_entry(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    for key in "4321":
        convo.keys(key)
    convo.silence()
    assert convo.state.slots["pin"] == "4321" and convo.state.state == "amount"


def test_confirmation_no_asks_again_and_intents_still_work(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    convo.keys("1234")
    convo.say("five")
    convo.say("red")
    convo.say("yes")
    convo.say("hello there")
    convo.say("no")
    assert convo.spoken() == "Any last words?" and convo.state.pending is None
    convo.say("hello again")
    assert convo.engine.expectation(convo.state).slot.type == "yes_no"
    convo.say("agent")
    assert convo.actions == [Transfer("+33100")]


def test_entities_from_an_nlu_plugin_fill_slots(files: FlowFiles) -> None:
    convo = Convo(files.engine(COLLECT))
    convo.step(UserInput(NLUResult("the one I said", None, 0.0, {"pin": "9876"})))
    assert convo.state.slots["pin"] == "9876"
    convo.step(UserInput(NLUResult("whatever", None, 0.0, {"number": 42})))
    assert convo.state.slots["amount"] == 42


def test_expectation_describes_the_slot(files: FlowFiles) -> None:
    engine = files.engine(COLLECT)
    convo = Convo(engine)
    slot = engine.expectation(convo.state).slot
    assert slot is not None and slot.type == "digits" and slot.max_length == 6
    convo.keys("1234")
    convo.keys("5#")
    slot = engine.expectation(convo.state).slot
    assert slot is not None and slot.choices == ["red", "blue"]


REUSE = """\
name: main
start: hello
include: [parts/goodbye.yaml]
intents:
  bye: {examples: [bye]}
states:
  hello:
    say: "Hi."
    on:
      - intent: bye
        flow: farewell
"""

PART = """\
name: farewell
start: farewell_start
states:
  farewell_start:
    say: "Farewell."
    goto: farewell_end
  farewell_end:
    hangup: true
"""


def test_include_and_jump_to_a_named_flow(files: FlowFiles) -> None:
    files.write(PART, "parts/goodbye.yaml")
    convo = Convo(files.engine(REUSE))
    assert convo.say("bye") == [Say("Farewell."), Hangup("flow")]
    assert convo.state.state == "farewell_end"


def test_error_prompt_is_rendered(router: Convo) -> None:
    assert router.engine.error_prompt(router.state) == "Oops, say it again."


def test_dtmf_event_is_never_partial_for_a_state_without_digits(router: Convo) -> None:
    router.step(Dtmf("5"))
    assert router.state.turns == 1 and router.spoken().startswith("Pardon?")


def test_retries_exhausted_into_the_same_state_drop_a_pending_confirmation(
    files: FlowFiles,
) -> None:
    text = COLLECT.replace(
        '    collect: {slot: note, type: text, confirm: "You said {{ slots.note }}. Right?"}\n',
        '    collect: {slot: note, type: text, confirm: "You said {{ slots.note }}. Right?"}\n'
        "    no_match: {retries: 0, goto: note}\n",
    )
    convo = Convo(files.engine(text))
    for step in ("1234", "5#", "1", "1"):
        convo.keys(step)
    convo.say("hello")
    assert convo.state.pending is not None
    convo.keys("7")  # neither 1 nor 2: a no-match, retries exhausted, back to `note`
    assert convo.state.pending is None and convo.spoken() == "Any last words?"


def test_a_prompt_that_renders_empty_is_not_spoken(files: FlowFiles) -> None:
    text = ROUTER.replace('say: ["Hello {{ call.first_name }}, sales?", "Sales, then?"]',
                          'say: "{{ call.first_name }}"')
    convo = Convo(files.engine(text))
    assert convo.actions == []
    convo.say("repeat")
    assert convo.actions == []


@pytest.mark.parametrize("name", ["missed", "voicemail", "call_ended"])
def test_other_terminal_webhooks_end_the_flow(router: Convo, name: str) -> None:
    assert router.step(Webhook(name)) == []
    assert router.state.ended and router.state.end_reason == name
