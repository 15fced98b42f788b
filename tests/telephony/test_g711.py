import warnings

import numpy as np
import pytest

from voicebot.telephony.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)


def _ulaw_ref(code: int) -> int:
    # G.711 table 2a, written out the long way: 8 segments of 16 steps, step doubles.
    code = ~code & 0xFF
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 7, code & 0x0F
    value = (2 * mantissa + 33) * (1 << exponent) - 33  # 14-bit decision midpoint
    value *= 4  # 14-bit -> 16-bit
    return -value if sign else value


def _alaw_ref(code: int) -> int:
    code ^= 0x55
    sign, segment, mantissa = code & 0x80, (code >> 4) & 7, code & 0x0F
    if segment == 0:
        value = 2 * mantissa + 1
    else:
        value = (2 * mantissa + 33) * (1 << (segment - 1))
    value *= 8  # 13-bit -> 16-bit
    return value if sign else -value


def test_ulaw_reference_values() -> None:
    assert ulaw_decode(b"\xff\x7f\x00\x80\xfe\x7e").tolist() == [0, 0, -32124, 32124, 8, -8]


def test_alaw_reference_values() -> None:
    # 0xD5/0x55 are the A-law "zero" codes (±8); 0xAA/0x2A the full-scale ones.
    assert alaw_decode(b"\xd5\x55\xaa\x2a\xd4").tolist() == [8, -8, 32256, -32256, 24]


def test_decode_tables_match_the_standard_formula() -> None:
    codes = bytes(range(256))
    assert ulaw_decode(codes).tolist() == [_ulaw_ref(c) for c in range(256)]
    assert alaw_decode(codes).tolist() == [_alaw_ref(c) for c in range(256)]


def test_every_code_survives_decode_then_encode() -> None:
    codes = bytes(range(256))
    # µ-law has two zeros (0xFF and 0x7F, "negative zero"); 0 encodes back to 0xFF.
    expected = bytearray(codes)
    expected[0x7F] = 0xFF
    assert ulaw_encode(ulaw_decode(codes)) == bytes(expected)
    assert alaw_encode(alaw_decode(codes)) == codes


def test_round_trip_error_is_within_half_a_step() -> None:
    x = ALL_INT16.astype(np.int64)
    err = np.abs(ulaw_decode(ulaw_encode(ALL_INT16)).astype(np.int64) - x)
    inside = np.abs(x) <= 32124
    assert np.all(err[inside] <= (np.abs(x[inside]) + 132) / 16)
    assert err.max() <= 32768 - 32124  # clipping at full scale, nothing worse
    err = np.abs(alaw_decode(alaw_encode(ALL_INT16)).astype(np.int64) - x)
    inside = np.abs(x) <= 32256
    assert np.all(err[inside] <= np.maximum(np.abs(x[inside]), 256) / 32)
    assert err.max() <= 32768 - 32256


def test_encoding_is_monotonic() -> None:
    up = ulaw_decode(ulaw_encode(ALL_INT16)).astype(np.int64)
    ua = alaw_decode(alaw_encode(ALL_INT16)).astype(np.int64)
    assert np.all(np.diff(up) >= 0) and np.all(np.diff(ua) >= 0)


def test_matches_audioop() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # In the standard library up to 3.12; audioop-lts (a test dependency) after.
        import audioop
    raw = ALL_INT16.tobytes()
    assert ulaw_encode(ALL_INT16) == audioop.lin2ulaw(raw, 2)
    assert alaw_encode(ALL_INT16) == audioop.lin2alaw(raw, 2)


def test_encode_rejects_non_int16() -> None:
    with pytest.raises(TypeError):
        ulaw_encode(np.zeros(4, dtype=np.float32))


def test_encode_accepts_non_contiguous_input() -> None:
    pcm = np.arange(0, 2000, dtype=np.int16)[::2]
    assert ulaw_encode(pcm) == ulaw_encode(pcm.copy())
