"""Fuzz the inbound half of the media WebSocket: whatever a media server sends, the decoder
returns 20 ms frames or digits, or drops and counts the frame; it never raises."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from voicebot.audio.frame import FRAME_SAMPLES, AudioFrame
from voicebot.telephony.inbound import ControlMessage, DtmfDigit, InboundDecoder
from voicebot.testing.fuzz_corpus import control_seeds, control_text, mutate_bytes, rtp_seeds

SEEDS = rtp_seeds()
KEYS = set("0123456789*#ABCD")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_output(items: list) -> None:
    for item in items:
        if isinstance(item, AudioFrame):
            assert item.pcm.dtype == np.int16 and item.pcm.shape == (FRAME_SAMPLES,)
            assert np.isfinite(item.time) and item.time >= 0
        else:
            assert isinstance(item, DtmfDigit), item
            assert item.digit in KEYS and np.isfinite(item.time)


def _decoder(framing: str, encoding: str, rate: int) -> InboundDecoder:
    return InboundDecoder(default_encoding=encoding, default_rate=rate, framing=framing,
                          max_frame_bytes=4096)


frames = st.one_of(
    st.binary(max_size=600),
    st.sampled_from(SEEDS),
    st.builds(lambda seed, i: mutate_bytes(random.Random(seed), SEEDS[i % len(SEEDS)], SEEDS),
              st.integers(0, 2**32), st.integers(0, len(SEEDS) - 1)),
)
decoders = st.tuples(
    st.sampled_from(["auto", "rtp", "raw"]),
    st.sampled_from(["pcmu", "pcma", "l16", "l16le", "l16be"]),
    st.sampled_from([8000, 16000, 24000]),
)


@FUZZ
@given(decoders, st.lists(frames, max_size=40))
@example(("auto", "pcmu", 8000), [b"\x80"])
@example(("rtp", "l16", 16000), [b"\x80\x60" + bytes(10) + b"\x01"])
@example(("raw", "l16le", 8000), [b"\x00"])
def test_binary_frames_never_raise(kind: tuple[str, str, int], data: list[bytes]) -> None:
    decoder = _decoder(*kind)
    for frame in data:
        check_output(decoder.feed_binary(frame))
    check_output(decoder.finish())
    assert decoder.counters.get("binary_frames_in", 0) == len(data)


@FUZZ
@given(st.integers(0, 2**32), st.integers(1, 200))
def test_a_damaged_rtp_stream_keeps_time(seed: int, count: int) -> None:
    """A real stream (sequence and timestamps advancing) with one packet in five damaged:
    frames keep coming and media time never runs backwards."""
    rng = random.Random(seed)
    decoder = InboundDecoder()
    base = SEEDS[0]
    last_time = -1.0
    for i in range(count):
        seq, ts = (1000 + i) & 0xFFFF, (160_000 + 160 * i) & 0xFFFFFFFF
        pkt = base[:2] + seq.to_bytes(2, "big") + ts.to_bytes(4, "big") + base[8:]
        if rng.random() < 0.2:
            pkt = mutate_bytes(rng, pkt, SEEDS)
        out = decoder.feed_binary(pkt)
        check_output(out)
        for item in out:
            if isinstance(item, AudioFrame):
                assert item.time > last_time
                last_time = item.time
    check_output(decoder.finish())


@FUZZ
@given(st.lists(st.one_of(frames.map(lambda b: ("b", b)),
                          st.integers(0, 2**32).map(lambda s: ("t", s)),
                          st.text(max_size=200).map(lambda t: ("t", t))), max_size=30))
def test_text_and_binary_interleaved(items: list) -> None:
    """A start message may change the encoding mid-stream; nothing may break."""
    decoder = InboundDecoder()
    for kind, value in items:
        if kind == "b":
            check_output(decoder.feed_binary(value))
            continue
        text = control_text(random.Random(value), control_seeds()) if isinstance(
            value, int) else value
        message = decoder.feed_text(text)
        assert message is None or isinstance(message, ControlMessage)
    check_output(decoder.finish())
