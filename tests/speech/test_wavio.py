from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from voicebot.audio.wavio import pcm_to_wav_bytes, read_wav, wav_bytes_to_pcm, write_wav


def test_round_trip_file_and_bytes(tmp_path) -> None:
    pcm = (np.sin(np.arange(800) / 10) * 20000).astype(np.int16)
    path = tmp_path / "a.wav"
    write_wav(path, pcm, 8000)
    back, rate = read_wav(path)
    assert rate == 8000 and np.array_equal(back, pcm)
    back, rate = wav_bytes_to_pcm(pcm_to_wav_bytes(pcm, 16000))
    assert rate == 16000 and np.array_equal(back, pcm)


def test_stereo_is_averaged_without_wrapping() -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(np.array([32000, 32000, -32000, 0], dtype="<i2").tobytes())
    buf.seek(0)
    pcm, _ = read_wav(buf)
    assert pcm.tolist() == [32000, -16000]
    assert wav_bytes_to_pcm(buf.getvalue())[0].tolist() == [32000, -16000]


def test_streamed_header_with_placeholder_sizes() -> None:
    # What `espeak-ng --stdout` writes: it cannot seek back to fill in the sizes.
    data = bytearray(pcm_to_wav_bytes(np.arange(10, dtype=np.int16), 22050))
    data[4:8] = (0x7FFFF024).to_bytes(4, "little")
    data[40:44] = (0x7FFFF000).to_bytes(4, "little")
    data += b"\x01"  # a torn last sample is dropped, not misread
    pcm, rate = wav_bytes_to_pcm(bytes(data))
    assert rate == 22050 and pcm.tolist() == list(range(10))


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="RIFF"):
        wav_bytes_to_pcm(b"not a wav file at all")
    with pytest.raises(TypeError, match="int16"):
        write_wav(io.BytesIO(), np.zeros(4, dtype=np.float32), 8000)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(1)
        handle.setframerate(8000)
        handle.writeframes(b"\x80" * 4)
    with pytest.raises(ValueError, match="16-bit"):
        wav_bytes_to_pcm(buf.getvalue())
    buf.seek(0)
    with pytest.raises(ValueError, match="16-bit"):
        read_wav(buf)
