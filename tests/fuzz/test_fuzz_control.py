"""Fuzz the JSON control messages: a text frame is a start, stop or dtmf message with
checked fields, or a ControlError with a counter name; nothing else comes out."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from voicebot.telephony.control import (
    ENCODINGS,
    ControlError,
    DtmfMessage,
    StartMessage,
    StopMessage,
    parse_control,
)
from voicebot.telephony.rates import ACCEPTED_RATES
from voicebot.testing.fuzz_corpus import control_seeds, control_text

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REASONS = {"oversized", "bad_json", "unknown_event", "invalid_control", "unsupported_media"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["event", "type", "start", "call_id", "callId", "encoding",
                         "mediaFormat", "sample_rate", "sampleRate", "payload_type",
                         "digit", "digits", "dtmf", "reason"]) | st.text(max_size=8),
        inner, max_size=6),
    max_leaves=20,
)
events = st.fixed_dictionaries(
    {"event": st.sampled_from(["start", "stop", "dtmf", "START", "media", ""])},
    optional={"start": json_values, "encoding": json_values, "sample_rate": json_values,
              "digits": json_values, "digit": json_values, "dtmf": json_values,
              "mediaFormat": json_values, "call_id": json_values, "payloadType": json_values},
)


def check(text: str) -> None:
    try:
        message = parse_control(text)
    except ControlError as exc:
        assert exc.reason in REASONS, exc.reason
        return
    if isinstance(message, StartMessage):
        assert message.encoding is None or message.encoding in ENCODINGS
        assert message.sample_rate is None or message.sample_rate in ACCEPTED_RATES
        for pt in (message.payload_type, message.dtmf_payload_type):
            assert pt is None or 96 <= pt <= 127
    elif isinstance(message, DtmfMessage):
        assert message.digits and set(message.digits) <= set("0123456789*#ABCD")
    else:
        assert isinstance(message, StopMessage)


@FUZZ
@given(st.text(max_size=300))
@example("[" * 100_000)
@example('{"event": "start", "sample_rate": 1e999}')
@example('{"event": "dtmf", "digits": true}')
@example("\ud800")
def test_any_text(text: str) -> None:
    check(text)


@FUZZ
@given(events)
def test_json_shaped_like_control_messages(obj: dict) -> None:
    check(json.dumps(obj))


@FUZZ
@given(st.integers(0, 2**32))
def test_mutated_valid_messages(seed: int) -> None:
    check(control_text(random.Random(seed), control_seeds()))


def test_the_seeds_parse() -> None:
    """The mutation corpus starts from messages that are valid (else fuzzing them proves
    little)."""
    for seed in control_seeds():
        parse_control(json.dumps(seed))
