import pytest

from voicebot.telephony.control import (
    ControlError,
    DtmfMessage,
    StartMessage,
    StopMessage,
    normalise_encoding,
    parse_control,
)


def test_flat_start_message() -> None:
    msg = parse_control(
        '{"event":"start","call_id":"abc","from":"+33100","to":"+33200",'
        '"encoding":"pcmu","sample_rate":8000}'
    )
    assert msg == StartMessage(
        call_id="abc", from_number="+33100", to_number="+33200", encoding="pcmu", sample_rate=8000
    )


def test_nested_start_with_camel_case_and_media_format_object() -> None:
    msg = parse_control(
        '{"event":"start","start":{"callId":123,"fromNumber":"+33100","toNumber":"+33200",'
        '"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000},"custom":"kept"}}'
    )
    assert isinstance(msg, StartMessage)
    assert (msg.call_id, msg.from_number, msg.to_number) == ("123", "+33100", "+33200")
    assert (msg.encoding, msg.sample_rate) == ("pcmu", 8000)
    assert msg.model_extra == {"custom": "kept"}


def test_media_format_as_a_string_and_type_instead_of_event() -> None:
    msg = parse_control('{"type":"start","media_format":"slin16","sampleRate":16000}')
    assert isinstance(msg, StartMessage)
    assert (msg.encoding, msg.sample_rate) == ("l16", 16000)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("PCMU", "pcmu"), ("g711_ulaw", "pcmu"), ("alaw", "pcma"), ("audio/x-alaw", "pcma"),
     ("linear16", "l16"), ("s16le", "l16le"), ("L16BE", "l16be"), ("slin", "l16")],
)
def test_encoding_names(name: str, canonical: str) -> None:
    assert normalise_encoding(name) == canonical


def test_stop_and_dtmf_messages() -> None:
    assert parse_control('{"event":"stop"}') == StopMessage()
    assert parse_control('{"event":"stop","reason":"hangup"}') == StopMessage(reason="hangup")
    assert parse_control('{"event":"dtmf","digit":"5"}') == DtmfMessage(digits="5")
    assert parse_control('{"event":"dtmf","digits":"12#"}') == DtmfMessage(digits="12#")
    assert parse_control('{"event":"dtmf","digit":7}') == DtmfMessage(digits="7")
    assert parse_control('{"event":"dtmf","dtmf":{"digit":"b"}}') == DtmfMessage(digits="B")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "bad_json"),
        ('"start"', "bad_json"),
        ("{}", "unknown_event"),
        ('{"event": 3}', "unknown_event"),
        ('{"event":"start","sample_rate":7}', "unsupported_media"),
        ('{"event":"start","sampleRate":8001}', "unsupported_media"),
        ('{"event":"start","encoding":"opus"}', "unsupported_media"),
        ('{"event":"start","payload_type":8}', "invalid_control"),
        ('{"event":"dtmf"}', "invalid_control"),
        ('{"event":"dtmf","digits":""}', "invalid_control"),
        ('{"event":"dtmf","digits":true}', "invalid_control"),
        ("[" * 100000, "oversized"),
    ],
)
def test_refusals_carry_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ControlError) as info:
        parse_control(text)
    assert info.value.reason == reason
    assert info.value.detail
