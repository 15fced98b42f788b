"""What one utterance holds is usable by the flow: entities in set/if/templates, and one
sentence answering several slots of the states it leads through."""

from __future__ import annotations

from flow_helpers import Convo, FlowFiles

PIZZA = """\
name: pizza
start: order
intents:
  order:
    examples: [I would like to order, a pizza, pizzas]
states:
  order:
    say: "What would you like?"
    on:
      - intent: order
        set: {party: "= entities.number"}
        goto: quantity
  quantity:
    say: "How many pizzas?"
    collect: {slot: quantity, type: number, min: 1, max: 50}
    on:
      - filled: quantity
        goto: size
  size:
    say: "Which size: small, medium or large?"
    collect:
      slot: size
      type: choice
      choices: {small: [], medium: [], large: [big]}
    on:
      - filled: size
        goto: topping
  topping:
    say: "Which topping?"
    collect:
      slot: topping
      type: choice
      choices: {pepperoni: [], margherita: [], veggie: [vegetarian]}
    on:
      - filled: topping
        goto: guests
  guests:
    say: "How many people is it for?"
    collect: {slot: guests, type: number}
    on:
      - filled: guests
        if: slots.quantity > 1
        say: "{{ slots.quantity }} {{ slots.size }} {{ slots.topping }} for {{ slots.guests }}."
        hangup: true
      - filled: guests
        say: "One pizza for {{ slots.guests }}."
        hangup: true
"""


def test_entities_can_be_set_into_vars(files: FlowFiles) -> None:
    convo = Convo(files.engine(PIZZA))
    convo.say("ten pizzas for the office party please")
    assert convo.state.variables["party"] == 10


def test_one_sentence_answers_several_slots(files: FlowFiles) -> None:
    convo = Convo(files.engine(PIZZA))
    convo.say("I'd like to order")
    assert convo.state.state == "quantity"
    convo.say("two large pepperoni")
    assert convo.state.slots == {"quantity": 2, "size": "large", "topping": "pepperoni"}
    # The size and topping questions were skipped; the next one not answered is asked.
    assert convo.state.state == "guests"
    assert convo.spoken() == "How many people is it for?"


def test_a_value_answers_one_slot_only(files: FlowFiles) -> None:
    # "two" filled the quantity; it must not also answer "how many people?".
    convo = Convo(files.engine(PIZZA))
    convo.say("I'd like to order")
    convo.say("two large pepperoni")
    assert "guests" not in convo.state.slots
    convo.say("four")
    assert convo.spoken() == "2 large pepperoni for 4."


def test_a_partial_answer_asks_for_the_rest(files: FlowFiles) -> None:
    convo = Convo(files.engine(PIZZA))
    convo.say("I'd like to order")
    convo.say("three please")
    assert convo.state.state == "size"
    assert convo.spoken() == "Which size: small, medium or large?"


def test_entities_in_conditions_and_templates(files: FlowFiles) -> None:
    flow = """\
    name: cond
    start: ask
    intents:
      book: {examples: [book a table, a table for]}
    states:
      ask:
        say: "Hello."
        on:
          - intent: book
            if: entities.number > 8
            say: "For {{ entities.number }} people, please call the restaurant."
            hangup: true
          - intent: book
            say: "Booked."
            hangup: true
    """
    big = Convo(files.engine(flow))
    big.say("a table for twelve")
    assert big.spoken() == "For 12 people, please call the restaurant."
    small = Convo(files.engine(flow, "small.yaml"))
    small.say("a table for four")
    assert small.spoken() == "Booked."
