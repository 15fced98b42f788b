"""Issue 12, finding 1: the sample rate and encoding a media server names are checked
against a short accepted list; an exotic rate can no longer make the resampler build a
gigabyte filter on the event loop."""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.telephony import resample
from voicebot.telephony.control import ControlError, parse_control
from voicebot.telephony.inbound import InboundDecoder, UnsupportedMedia, warm_up_filters
from voicebot.telephony.rates import ACCEPTED_RATES, check_rate


@pytest.mark.parametrize("value", [1, 0, -8000, 249989, 8001, 7, "abc", "", "1e9", 1.5,
                                   True, None, [8000], "8000000"])
def test_rates_outside_the_list_are_refused_with_the_list(value: object) -> None:
    with pytest.raises(UnsupportedMedia) as info:
        check_rate(value)
    assert "8000, 11025, 16000" in str(info.value)
    assert str(info.value).isascii()


@pytest.mark.parametrize("value", [8000, "16000", " 44100 ", 48000.0])
def test_accepted_rates_in_any_spelling(value: object) -> None:
    assert check_rate(value) in ACCEPTED_RATES


@pytest.mark.parametrize(("encoding", "rate"), [("pcmu", "1"), ("pcmu", "abc"), ("pcmu", "0"),
                                                ("pcmu", "-8000"), ("bogus", "8000")])
def test_decoder_refuses_query_string_formats(encoding: str, rate: str) -> None:
    with pytest.raises(UnsupportedMedia):
        InboundDecoder(default_encoding=encoding, default_rate=rate)


def test_a_start_message_with_an_exotic_rate_refuses_the_call() -> None:
    decoder = InboundDecoder()
    assert decoder.feed_text('{"event": "start", "sample_rate": 8009}') is None
    assert decoder.refused and "8009" in decoder.refused
    assert decoder.counters["frames_dropped_unsupported_media"] == 1
    with pytest.raises(ControlError) as info:
        parse_control('{"event": "start", "mediaFormat": {"encoding": "opus"}}')
    assert info.value.reason == "unsupported_media"


def test_no_filter_is_designed_during_a_call_once_warmed_up() -> None:
    warm_up_filters()
    before = resample._plan.cache_info().misses
    decoder = InboundDecoder(default_encoding="l16le", framing="raw")
    for rate in ACCEPTED_RATES * 3:  # a start message per rate, three rounds
        decoder.feed_text(f'{{"event": "start", "sample_rate": {rate}}}')
        decoder.feed_binary(np.zeros(rate // 50, "<i2").tobytes())
    assert decoder.refused is None
    assert resample._plan.cache_info().misses == before


def test_the_stream_resampler_itself_refuses_a_gigantic_filter() -> None:
    with pytest.raises(ValueError, match="phases"):
        resample.StreamResampler(1, 16000)
    with pytest.raises(ValueError, match="phases"):
        resample.StreamResampler(249989, 16000)
