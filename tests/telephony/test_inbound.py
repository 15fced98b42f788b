import json
import random

import numpy as np
import pytest

from voicebot.audio.frame import FRAME_SAMPLES, AudioFrame
from voicebot.telephony.dtmf import build_telephone_event, char_to_event
from voicebot.telephony.g711 import alaw_encode, ulaw_encode
from voicebot.telephony.inbound import DtmfDigit, InboundDecoder, StartMessage
from voicebot.telephony.rtp import RtpPacket


def tone(freq: float, rate: int, seconds: float, amplitude: float = 8000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def rtp_stream(pcm: np.ndarray, pt: int = 0, ssrc: int = 0x1234, seq: int = 65500,
               ts: int = 2**32 - 800, per_packet: int = 160, encode=ulaw_encode) -> list[bytes]:
    out = []
    for i in range(0, pcm.size, per_packet):
        payload = encode(pcm[i : i + per_packet])
        out.append(RtpPacket(pt, seq + len(out), ts + i, ssrc, payload).to_bytes())
    return out


def feed(decoder: InboundDecoder, frames: list[bytes]) -> list[AudioFrame | DtmfDigit]:
    out: list[AudioFrame | DtmfDigit] = []
    for f in frames:
        out += decoder.feed_binary(f)
    return out + decoder.finish()


def audio(items: list) -> list[AudioFrame]:
    return [x for x in items if isinstance(x, AudioFrame)]


def peak_hz(pcm: np.ndarray, rate: int = 16000) -> float:
    return float(np.argmax(np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))) * rate / pcm.size)


def check_frames(frames: list[AudioFrame]) -> np.ndarray:
    assert all(f.pcm.shape == (FRAME_SAMPLES,) and f.pcm.dtype == np.int16 for f in frames)
    assert [round(f.time, 6) for f in frames] == [round(i * 0.02, 6) for i in range(len(frames))]
    return np.concatenate([f.pcm for f in frames])


def test_pcmu_rtp_becomes_20ms_frames_at_16k_with_media_time() -> None:
    decoder = InboundDecoder()
    items = feed(decoder, rtp_stream(tone(1000, 8000, 1.0)))
    pcm = check_frames(audio(items))
    assert len(audio(items)) == 50
    assert decoder.framing == "rtp"
    assert abs(peak_hz(pcm) - 1000) < 5
    counters = decoder.counters
    assert counters["audio_frames_out"] == 50 and counters["packets_lost"] == 0
    assert counters["frames_in"] == counters["binary_frames_in"] == 50


def test_pcma_rtp_is_decoded() -> None:
    decoder = InboundDecoder(default_encoding="pcma")
    items = feed(decoder, rtp_stream(tone(700, 8000, 0.5), pt=8, encode=alaw_encode))
    assert abs(peak_hz(check_frames(audio(items))) - 700) < 5


def test_reordering_and_loss_keep_media_time_exact() -> None:
    packets = rtp_stream(tone(1000, 8000, 1.0))
    packets[10], packets[11] = packets[11], packets[10]
    del packets[30]  # lost
    packets.insert(20, packets[19])  # duplicate
    decoder = InboundDecoder()
    frames = audio(feed(decoder, packets))
    check_frames(frames)
    assert len(frames) == 50  # the lost 20 ms is concealed, not skipped
    c = decoder.counters
    assert (c["packets_lost"], c["packets_duplicate"]) == (1, 1)
    assert c["samples_concealed"] == 160


def test_concealment_fades_then_silence() -> None:
    packets = rtp_stream(tone(1000, 8000, 1.0))
    del packets[20:30]  # 200 ms lost
    decoder = InboundDecoder(conceal_ms=60)
    pcm = check_frames(audio(feed(decoder, packets)))
    gap = pcm[20 * 320 : 30 * 320]
    assert np.abs(gap[: 60 * 16]).max() <= 8000 * 0.55  # attenuated copy
    # then silence, up to the filter's 2 ms pre-ringing of the next packet
    assert np.abs(gap[70 * 16 : -40]).max() == 0
    assert decoder.counters["samples_concealed"] == 480
    assert decoder.counters["samples_filled"] == 1600 - 480


def test_silence_suppression_gap_is_filled_to_keep_time() -> None:
    pcm = tone(1000, 8000, 1.0)
    first = rtp_stream(pcm[:4000])
    second = rtp_stream(pcm[:4000], seq=65500 + 25, ts=2**32 - 800 + 12000)
    decoder = InboundDecoder()
    frames = audio(feed(decoder, first + second))
    check_frames(frames)
    assert len(frames) == 25 + 50 + 25  # 0.5 s, a 1 s pause, 0.5 s
    assert decoder.counters["samples_filled"] == 8000 - 480


def test_huge_timestamp_jump_moves_media_time_without_filling() -> None:
    pcm = tone(1000, 8000, 0.2)
    first = rtp_stream(pcm, seq=1, ts=0)
    second = rtp_stream(pcm, seq=11, ts=1600 + 8000 * 60)  # a minute later
    decoder = InboundDecoder(max_fill_s=5)
    frames = audio(feed(decoder, first + second))
    times = [f.time for f in frames]
    assert times[:10] == pytest.approx([i * 0.02 for i in range(10)])
    assert times[10] == pytest.approx(60.2)
    assert decoder.counters["discontinuities"] == 1


def test_ssrc_change_continues_the_timeline() -> None:
    pcm = tone(1000, 8000, 0.4)
    decoder = InboundDecoder()
    frames = audio(feed(decoder, rtp_stream(pcm, ssrc=1) + rtp_stream(pcm, ssrc=2, seq=7, ts=99)))
    check_frames(frames)
    assert len(frames) == 40
    assert decoder.counters["stream_restarts"] == 1


def test_rtp_dtmf_gives_one_digit_at_its_start_time() -> None:
    audio_packets = [RtpPacket(0, 0, i * 160, 0x1234, ulaw_encode(chunk))
                     for i, chunk in enumerate(np.split(tone(1000, 8000, 1.0), 50))]
    event = char_to_event("5")
    # one press at 0.5 s: 3 updates, then 3 redundant end packets, same timestamp
    press = [RtpPacket(101, 0, 4000, 0x1234,
                       build_telephone_event(event, end=i >= 3, duration=160 * (i + 1)))
             for i in range(6)]
    stream = audio_packets[:25] + press + audio_packets[25:]
    for seq, pkt in enumerate(stream, start=100):  # one sequence space, as RFC 4733 says
        pkt.sequence = seq
    decoder = InboundDecoder()
    items = feed(decoder, [p.to_bytes() for p in stream])
    digits = [x for x in items if isinstance(x, DtmfDigit)]
    assert [d.digit for d in digits] == ["5"]
    assert digits[0].time == pytest.approx(0.5)
    assert decoder.counters["dtmf_digits"] == 1
    assert len(check_frames(audio(items))) == 320 * 50


def test_rtp_is_detected_even_when_the_first_two_packets_are_swapped() -> None:
    packets = rtp_stream(tone(1000, 8000, 1.0))
    packets[0], packets[1] = packets[1], packets[0]
    decoder = InboundDecoder()
    check_frames(audio(feed(decoder, packets)))
    assert decoder.framing == "rtp"
    assert decoder.counters["packets_late"] == 0


def test_raw_pcmu_frames_are_detected_and_timed_by_sample_count() -> None:
    pcm = tone(1000, 8000, 1.0)
    frames = [ulaw_encode(pcm[i : i + 160]) for i in range(0, pcm.size, 160)]
    decoder = InboundDecoder()
    out = audio(feed(decoder, frames))
    assert decoder.framing == "raw"
    assert len(out) == 50
    assert abs(peak_hz(check_frames(out)) - 1000) < 5


def test_raw_speech_like_bytes_are_not_mistaken_for_rtp() -> None:
    rng = random.Random(3)
    for _ in range(200):
        frames = [bytes(rng.randrange(256) for _ in range(160)) for _ in range(2)]
        decoder = InboundDecoder()
        feed(decoder, frames)
        assert decoder.framing == "raw"


def test_raw_l16_little_endian_at_16k_passes_through_bit_exact() -> None:
    pcm = (np.random.default_rng(0).normal(0, 3000, 16000)).astype(np.int16)
    decoder = InboundDecoder(default_encoding="l16", default_rate=16000)
    frames = [pcm[i : i + 320].astype("<i2").tobytes() for i in range(0, pcm.size, 320)]
    out = audio(feed(decoder, frames))
    assert np.array_equal(check_frames(out), pcm)


def test_start_message_switches_raw_to_l16be_and_rate() -> None:
    pcm = tone(1000, 24000, 0.5)
    decoder = InboundDecoder()
    msg = decoder.feed_text(json.dumps({"event": "start", "start": {
        "callId": "c1", "from": "+33100000000", "to": "+33200000000",
        "encoding": "l16be", "sampleRate": 24000}}))
    assert isinstance(msg, StartMessage) and msg.call_id == "c1"
    assert msg.from_number == "+33100000000" and msg.to_number == "+33200000000"
    frames = [pcm[i : i + 480].astype(">i2").tobytes() for i in range(0, pcm.size, 480)]
    out = audio(feed(decoder, frames))
    assert len(out) == 25
    assert abs(peak_hz(check_frames(out)) - 1000) < 5


def test_rtp_l16_dynamic_payload_is_big_endian_at_the_declared_rate() -> None:
    pcm = (np.random.default_rng(1).normal(0, 3000, 16000)).astype(np.int16)
    decoder = InboundDecoder()
    decoder.feed_text('{"event":"start","encoding":"l16","sample_rate":16000,"payload_type":96}')
    packets = rtp_stream(pcm, pt=96, per_packet=320, encode=lambda x: x.astype(">i2").tobytes())
    out = audio(feed(decoder, packets))
    assert np.array_equal(check_frames(out), pcm)


def test_odd_length_l16_and_garbage_are_dropped_and_counted() -> None:
    decoder = InboundDecoder(default_encoding="l16le", default_rate=16000)
    assert decoder.feed_binary(b"\x00" * 641) == []
    assert decoder.counters["frames_dropped_odd_length"] == 1
    assert decoder.feed_binary(b"") == []
    assert decoder.feed_binary(b"\x00" * 20000) == []
    c = decoder.counters
    assert c["frames_dropped_empty"] == 1 and c["frames_dropped_oversized"] == 1
    assert decoder.last_error is not None and "oversized" in decoder.last_error


def test_non_rtp_frame_in_an_rtp_call_is_dropped() -> None:
    decoder = InboundDecoder()
    packets = rtp_stream(tone(1000, 8000, 0.2))
    feed_items = decoder.feed_binary(packets[0]) + decoder.feed_binary(packets[1])
    assert decoder.framing == "rtp"
    assert decoder.feed_binary(b"\x01\x02\x03") == []
    assert decoder.feed_binary(RtpPacket(9, 3, 0, 0x1234, b"x" * 160).to_bytes()) == []
    c = decoder.counters
    assert c["frames_dropped_bad_rtp"] == 1
    assert c["frames_dropped_unsupported_payload_type"] == 1
    assert feed_items == []  # still inside the jitter buffer's start window


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('{"event": "media"}', "unknown_event"),
        ('{"event": "start", "encoding": "opus"}', "unsupported_media"),
        ('{"event": "dtmf", "digit": "x"}', "invalid_control"),
        ('{"event": "start", "x": "' + "a" * 70000 + '"}', "oversized"),
    ],
)
def test_bad_text_frames_are_dropped_with_a_reason(text: str, reason: str) -> None:
    decoder = InboundDecoder()
    assert decoder.feed_text(text) is None
    assert decoder.counters[f"frames_dropped_{reason}"] == 1


def test_forced_framing_and_bad_settings() -> None:
    with pytest.raises(ValueError):
        InboundDecoder(framing="udp")
    with pytest.raises(ValueError):
        InboundDecoder(default_encoding="opus")
    decoder = InboundDecoder(framing="raw")
    packets = rtp_stream(tone(1000, 8000, 0.1))
    feed(decoder, packets)
    assert decoder.framing == "raw"


def test_never_raises_on_random_input() -> None:
    rng = random.Random(7)
    for framing in ("auto", "rtp", "raw"):
        for encoding in ("pcmu", "l16"):
            decoder = InboundDecoder(default_encoding=encoding, framing=framing)
            for _ in range(300):
                n = rng.choice([0, 1, 11, 12, 13, 161, 320, 321])
                data = bytes(rng.randrange(256) for _ in range(n))
                if rng.random() < 0.5 and n >= 12:
                    data = bytes([0x80 | rng.randrange(64), rng.choice([0, 8, 96, 101])]) + data[2:]
                decoder.feed_binary(data)
                decoder.feed_text(data.decode("latin-1"))
            for item in decoder.finish():
                if isinstance(item, AudioFrame):
                    assert item.pcm.size == FRAME_SAMPLES
