from __future__ import annotations

import jwt
import pytest
from webhook_helpers import KEY, call_event, sign

from voicebot.telephony.webhooks import (
    SignatureError,
    WebhookFormatError,
    delivery_key,
    parse_webhook,
    verify_signature,
)

PATH = "/webhooks/ringover"


def test_canonical_call_event_is_read_with_typed_fields() -> None:
    body = call_event("ringing", call_id=9058220947198958001, from_number=33600000000,
                      is_anonymous=False, ivr_data={"code": "1"}, extra_field="kept")
    event = parse_webhook(body)
    assert (event.name, event.resource, event.known) == ("ringing", "call", True)
    # Big numeric ids stay exact, phone numbers are text.
    assert event.call_id == "9058220947198958001"
    assert event.data["from_number"] == "33600000000"
    assert event.data["ivr_data"] == {"code": "1"}
    assert event.data["extra_field"] == "kept"
    assert event.attempt == 1


def test_aftercall_event_keeps_its_resource() -> None:
    body = {"resource": "aftercall", "event": "transcription_available", "timestamp": 1,
            "attempt": 1, "data": {"call_id": "c1", "transcription": "hello"}}
    event = parse_webhook(body)
    assert (event.name, event.resource, event.call_id, event.known) == (
        "transcription_available", "aftercall", "c1", True)


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("incoming_call", "ringing"), ("answered_call", "answered"), ("missed_call", "missed"),
     ("voicemail_message", "voicemail"), ("call_ended", "hangup")],
)
def test_flat_alias_names_and_fields_are_normalised(alias: str, canonical: str) -> None:
    body = {"event": alias, "call_id": "abc", "caller_number": "+33600000000",
            "receiver_number": "+33184800000", "timestamp": "2024-01-01T10:00:00Z"}
    event = parse_webhook(body)
    assert event.name == canonical and event.alias == alias and event.resource == "call"
    assert event.call_id == "abc"
    assert event.data["from_number"] == "+33600000000"
    assert event.data["to_number"] == "+33184800000"
    assert "caller_number" not in event.data


def test_alias_inside_a_data_envelope() -> None:
    event = parse_webhook({"event": "call_ended", "data": {"call_id": 7, "caller_number": 336}})
    assert (event.name, event.call_id, event.data["from_number"]) == ("hangup", "7", "336")


def test_unknown_event_is_parsed_not_refused() -> None:
    event = parse_webhook({"resource": "sms", "event": "received", "data": {"id": 3}})
    assert (event.name, event.resource, event.known) == ("received", "sms", False)


def test_call_id_falls_back_to_id() -> None:
    assert parse_webhook({"event": "ringing", "data": {"id": 42}}).call_id == "42"


@pytest.mark.parametrize(
    "body",
    [None, [], "x", {"resource": "call"}, {"event": ""}, {"event": "ringing", "data": [1]},
     {"event": "ringing", "attempt": "many"},
     {"event": "hangup", "data": {"call_id": "c", "duration_in_seconds": "long"}}],
)
def test_malformed_bodies_are_refused_with_a_reason(body: object) -> None:
    with pytest.raises(WebhookFormatError) as info:
        parse_webhook(body)
    assert str(info.value)


def test_delivery_key_ignores_attempt_only() -> None:
    first = call_event("hangup")
    retry = {**first, "attempt": 3}
    other = call_event("hangup", call_id="another")
    assert delivery_key(first) == delivery_key(retry)
    assert delivery_key(first) != delivery_key(other)
    assert parse_webhook(first).delivery_key == parse_webhook(retry).delivery_key


# -- signature ---------------------------------------------------------------------------


def test_right_key_returns_the_signed_event() -> None:
    body = call_event("answered")
    assert verify_signature(sign(body), KEY, body=body, path=PATH) == body


def test_bearer_prefix_is_tolerated() -> None:
    body = call_event("answered")
    assert verify_signature("Bearer " + sign(body), KEY, body=body, path=PATH) == body


def test_wrong_key_is_refused() -> None:
    body = call_event("answered")
    with pytest.raises(SignatureError, match="invalid"):
        verify_signature(sign(body, key="not-the-key" * 8), KEY, body=body, path=PATH)


def test_expired_is_refused_beyond_the_leeway() -> None:
    body = call_event("answered")
    with pytest.raises(SignatureError, match="expired"):
        verify_signature(sign(body, exp_in=-120), KEY, body=body, path=PATH, leeway_s=30)
    # Within the leeway, clock skew is forgiven.
    assert verify_signature(sign(body, exp_in=-5), KEY, body=body, path=PATH, leeway_s=30)


def test_not_yet_valid_is_refused() -> None:
    body = call_event("answered")
    token = sign(body, extra={"nbf": 4_000_000_000})
    with pytest.raises(SignatureError, match="not yet valid"):
        verify_signature(token, KEY, body=body, path=PATH)


@pytest.mark.parametrize("token", [None, "", "not.a.jwt", "abc"])
def test_missing_or_garbage_is_refused(token: str | None) -> None:
    with pytest.raises(SignatureError):
        verify_signature(token, KEY, body=call_event("ringing"), path=PATH)


def test_other_algorithms_are_refused() -> None:
    body = call_event("answered")
    hs256 = sign(body, algorithm="HS256")
    unsigned = jwt.encode({"payload": body}, None, algorithm="none")
    for token in (hs256, unsigned):
        with pytest.raises(SignatureError):
            verify_signature(token, KEY, body=body, path=PATH)


def test_a_valid_token_cannot_carry_another_body() -> None:
    token = sign(call_event("ringing"))
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(token, KEY, body=call_event("hangup"), path=PATH)


def test_signed_payload_may_be_a_json_string() -> None:
    import json

    body = call_event("ringing")
    token = sign(None, extra={"payload": json.dumps(body)})
    assert verify_signature(token, KEY, body=body, path=PATH) == body


def test_a_token_for_another_url_is_refused_but_a_prefix_mount_is_not() -> None:
    body = call_event("ringing")
    with pytest.raises(SignatureError, match="another URL"):
        verify_signature(sign(body, url="https://x.example/other"), KEY, body=body, path=PATH)
    behind_proxy = sign(body, url="https://x.example/voicebot/webhooks/ringover")
    assert verify_signature(behind_proxy, KEY, body=body, path=PATH) == body


def test_flat_claims_must_match_the_body() -> None:
    body = call_event("hangup")
    token = jwt.encode(dict(body), KEY, algorithm="HS512")
    assert verify_signature(token, KEY, body=body, path=PATH) == body
    with pytest.raises(SignatureError):
        verify_signature(token, KEY, body=call_event("ringing"), path=PATH)
