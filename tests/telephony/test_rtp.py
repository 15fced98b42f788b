import pytest

from voicebot.telephony.rtp import RtpError, RtpPacket, parse_rtp


def test_parse_minimal_packet_built_by_hand() -> None:
    data = (
        b"\x80"  # V=2, P=0, X=0, CC=0
        b"\x00"  # M=0, PT=0 (PCMU)
        b"\x12\x34"  # sequence 0x1234
        b"\x00\x00\x01\x40"  # timestamp 320
        b"\xde\xad\xbe\xef"  # SSRC
    ) + b"\xff" * 160
    pkt = parse_rtp(data)
    assert pkt == RtpPacket(
        payload_type=0, sequence=0x1234, timestamp=320, ssrc=0xDEADBEEF, payload=b"\xff" * 160
    )
    assert pkt.to_bytes() == data


def test_parse_marker_csrcs_extension_and_padding() -> None:
    data = (
        bytes([0xB2, 0xE5])  # V=2 P=1 X=1 CC=2 | M=1 PT=101
        + b"\xff\xff"  # sequence 65535
        + b"\xff\xff\xff\xff"  # timestamp 2^32-1
        + b"\x00\x00\x00\x01"  # SSRC 1
        + b"\x00\x00\x00\x0a\x00\x00\x00\x0b"  # CSRCs 10, 11
        + b"\xbe\xde\x00\x01"  # extension profile 0xBEDE, 1 word
        + b"\x10\xaa\x00\x00"  # extension data
        + b"\x01\x02\x03"  # payload
        + b"\x00\x00\x03"  # 3 bytes of padding, count last
    )
    pkt = parse_rtp(data)
    assert pkt.version == 2
    assert pkt.padding and pkt.marker
    assert pkt.payload_type == 101
    assert pkt.sequence == 65535 and pkt.timestamp == 0xFFFFFFFF and pkt.ssrc == 1
    assert pkt.csrcs == (10, 11)
    assert pkt.extension == (0xBEDE, b"\x10\xaa\x00\x00")
    assert pkt.payload == b"\x01\x02\x03"
    assert pkt.to_bytes(padding_length=3) == data


def test_round_trip_of_built_packets() -> None:
    pkt = RtpPacket(8, 7, 160, 42, b"abc", marker=True, csrcs=(1, 2, 3), extension=(1, b"wxyz"))
    assert parse_rtp(pkt.to_bytes()) == pkt
    padded = RtpPacket(0, 1, 2, 3, b"xy", padding=True)
    raw = padded.to_bytes(padding_length=6)
    assert len(raw) == 12 + 2 + 6
    assert parse_rtp(raw) == padded


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (b"\x80\x00\x00\x01\x00\x00\x00", "too short"),
        (b"\x40" + bytes(11), "bad RTP version 1"),
        (b"\xc0" + bytes(11), "bad RTP version 3"),
        (b"\x83" + bytes(11) + bytes(8), "CSRC list of 3"),
        (b"\x90" + bytes(11) + b"\x00\x00", "extension header overruns"),
        (b"\x90" + bytes(11) + b"\x00\x00\x00\x02" + bytes(4), "extension of 2 words"),
        (b"\xa0" + bytes(11) + b"\x01\x02\x09", "padding of 9 bytes"),
        (b"\xa0" + bytes(11) + b"\x01\x02\x00", "padding count is 0"),
    ],
)
def test_malformed_packets_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        parse_rtp(data)


def test_rtp_error_is_a_value_error() -> None:
    assert issubclass(RtpError, ValueError)


def test_padding_may_consume_the_whole_payload() -> None:
    pkt = parse_rtp(b"\xa0" + bytes(11) + b"\x00\x00\x00\x04")
    assert pkt.payload == b""


def test_build_refuses_what_cannot_be_encoded() -> None:
    with pytest.raises(RtpError):
        RtpPacket(0, 0, 0, 0, b"", csrcs=tuple(range(16))).to_bytes()
    with pytest.raises(RtpError):
        RtpPacket(0, 0, 0, 0, b"", extension=(1, b"abc")).to_bytes()
    with pytest.raises(RtpError):
        RtpPacket(128, 0, 0, 0, b"").to_bytes()


def test_values_wrap_to_field_width() -> None:
    pkt = parse_rtp(RtpPacket(0, 65536 + 5, 2**32 + 7, 0, b"").to_bytes())
    assert (pkt.sequence, pkt.timestamp) == (5, 7)
