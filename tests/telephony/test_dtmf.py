import pytest

from voicebot.telephony.dtmf import (
    DtmfDetector,
    DtmfError,
    TelephoneEvent,
    build_telephone_event,
    char_to_event,
    event_to_char,
    parse_telephone_event,
)
from voicebot.telephony.rtp import RtpPacket


def test_parse_payload_built_by_hand() -> None:
    # event 5, E=1, R=0, volume 10, duration 800
    assert parse_telephone_event(b"\x05\x8a\x03\x20") == TelephoneEvent(5, True, 10, 800)
    assert parse_telephone_event(b"\x0b\x0a\x00\xa0") == TelephoneEvent(11, False, 10, 160)


def test_build_is_the_inverse_of_parse() -> None:
    raw = build_telephone_event(11, end=True, volume=7, duration=1280)
    assert raw == b"\x0b\x87\x05\x00"
    assert parse_telephone_event(raw) == TelephoneEvent(11, True, 7, 1280)


def test_short_payload_and_out_of_range_values_are_errors() -> None:
    with pytest.raises(DtmfError):
        parse_telephone_event(b"\x05\x8a\x03")
    with pytest.raises(DtmfError):
        build_telephone_event(5, volume=64)


def test_event_chars() -> None:
    assert [event_to_char(e) for e in range(17)] == list("0123456789*#ABCD") + [None]
    assert char_to_event("#") == 11 and char_to_event("d") == 15
    with pytest.raises(DtmfError):
        char_to_event("x")


def press(key: str, timestamp: int, seq: int, updates: int = 3, ends: int = 3) -> list[RtpPacket]:
    event = char_to_event(key)
    pkts = []
    for i in range(updates):
        payload = build_telephone_event(event, duration=160 * (i + 1))
        pkts.append(RtpPacket(101, seq, timestamp, 7, payload, marker=i == 0))
        seq += 1
    for _ in range(ends):
        payload = build_telephone_event(event, end=True, duration=160 * (updates + 1))
        pkts.append(RtpPacket(101, seq, timestamp, 7, payload))
        seq += 1
    return pkts


def feed_all(detector: DtmfDetector, pkts: list[RtpPacket]) -> list[str]:
    out: list[str] = []
    for p in pkts:
        out += detector.feed(p)
    return out


def test_redundant_end_packets_give_one_digit_on_the_first_end() -> None:
    detector = DtmfDetector()
    pkts = press("5", 1000, 1)
    assert feed_all(detector, pkts[:3]) == []
    assert detector.feed(pkts[3]) == ["5"]
    assert feed_all(detector, pkts[4:]) == []
    assert detector.flush() == []


def test_two_presses_of_the_same_key_give_two_digits() -> None:
    detector = DtmfDetector()
    pkts = press("7", 1000, 1) + press("7", 3000, 7)
    assert feed_all(detector, pkts) == ["7", "7"]


def test_lost_end_packets_emit_on_the_next_press_or_flush() -> None:
    detector = DtmfDetector()
    pkts = press("1", 1000, 1, ends=0) + press("2", 3000, 4, ends=0)
    assert feed_all(detector, pkts[:3]) == []
    assert detector.feed(pkts[3]) == ["1"]
    assert detector.flush() == ["2"]
    assert detector.flush() == []


def test_only_end_packets_still_give_the_digit() -> None:
    detector = DtmfDetector()
    assert feed_all(detector, press("#", 500, 1, updates=0)) == ["#"]


def test_flash_and_garbage_are_ignored() -> None:
    detector = DtmfDetector()
    flash = RtpPacket(101, 1, 10, 7, build_telephone_event(16, end=True))
    garbage = RtpPacket(101, 2, 20, 7, b"\x01")
    assert detector.feed(flash) == [] and detector.feed(garbage) == []
    assert detector.flush() == []
