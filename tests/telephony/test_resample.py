import numpy as np
import pytest

from voicebot.telephony.resample import StreamResampler, resample

RATES = [(8000, 16000), (16000, 8000), (22050, 8000), (24000, 16000), (22050, 16000),
         (44100, 16000), (48000, 16000), (16000, 24000), (8000, 22050)]


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 10000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def peak_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
    return float(np.argmax(spectrum) * rate / pcm.size)


def level_db(pcm: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) + 1e-9)


def stream(resampler: StreamResampler, pcm: np.ndarray, chunk: int) -> tuple[np.ndarray, int]:
    parts = [resampler.process(pcm[i : i + chunk]) for i in range(0, pcm.size, chunk)]
    return np.concatenate([*parts, resampler.flush()]), len(parts)


@pytest.mark.parametrize(("src", "dst"), RATES)
def test_whole_buffer_keeps_a_1khz_tone(src: int, dst: int) -> None:
    out = resample(tone(1000, src), src, dst)
    assert out.dtype == np.int16
    assert abs(out.size - src * dst / src) <= 1
    assert abs(peak_hz(out, dst) - 1000) <= 2


@pytest.mark.parametrize(("src", "dst"), RATES)
def test_stream_keeps_a_1khz_tone_aligned_and_counts_every_sample(src: int, dst: int) -> None:
    pcm = tone(1000, src)
    out, _ = stream(StreamResampler(src, dst), pcm, src // 50)
    assert out.dtype == np.int16
    assert out.size == -(-pcm.size * dst // src)
    assert abs(peak_hz(out, dst) - 1000) <= 2
    # time-aligned: matches the ideal tone sampled at the new rate, to a few LSB
    ideal = 10000 * np.sin(2 * np.pi * 1000 * np.arange(out.size) / dst)
    middle = slice(dst // 50, -dst // 50)
    assert np.max(np.abs(out[middle] - ideal[middle])) < 8


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (24000, 16000), (22050, 16000)])
def test_stream_output_does_not_depend_on_chunking(src: int, dst: int) -> None:
    pcm = (np.random.default_rng(1).normal(0, 3000, src // 2)).astype(np.int16)
    whole, _ = stream(StreamResampler(src, dst), pcm, pcm.size)
    for chunk in (3, 37, src // 50):
        chunked, _ = stream(StreamResampler(src, dst), pcm, chunk)
        assert np.array_equal(whole, chunked)


def test_flush_resets_for_a_new_stream() -> None:
    resampler = StreamResampler(8000, 16000)
    pcm = tone(1000, 8000, 0.1)
    first, _ = stream(resampler, pcm, 160)
    second, _ = stream(resampler, pcm, 160)
    assert np.array_equal(first, second)


def test_stream_latency_is_a_couple_of_milliseconds() -> None:
    resampler = StreamResampler(8000, 16000)
    first = resampler.process(tone(1000, 8000, 0.02))
    assert first.size == 320 - 2 * resampler.latency_samples
    assert resampler.latency_samples <= 16  # 2 ms at 8 kHz
    assert resampler.process(tone(1000, 8000, 0.02)).size == 320


def test_downsampling_rejects_what_would_alias() -> None:
    # 5 kHz at 16 kHz would fold to 3 kHz at 8 kHz, right in the speech band.
    out, _ = stream(StreamResampler(16000, 8000), tone(5000, 16000), 320)
    assert level_db(out[200:-200]) < level_db(tone(5000, 16000)) - 60


def test_upsampling_leaves_no_image() -> None:
    out, _ = stream(StreamResampler(8000, 16000), tone(3000, 8000), 160)
    spectrum = np.abs(np.fft.rfft(out[400:-400] * np.hanning(out.size - 800)))
    freqs = np.fft.rfftfreq(out.size - 800, 1 / 16000)
    main = spectrum[np.abs(freqs - 3000) < 50].max()
    image = spectrum[np.abs(freqs - 5000) < 50].max()  # 8000 - 3000
    assert 20 * np.log10(image / main) < -60


def test_passband_is_flat_across_telephone_speech() -> None:
    for freq in (300, 1000, 2000, 3000, 3400):
        out, _ = stream(StreamResampler(8000, 16000), tone(freq, 8000), 160)
        assert abs(level_db(out[400:-400]) - level_db(tone(freq, 16000))) < 0.2


def test_same_rate_is_a_copy() -> None:
    pcm = tone(440, 16000, 0.1)
    resampler = StreamResampler(16000, 16000)
    assert np.array_equal(resampler.process(pcm), pcm)
    assert resampler.flush().size == 0
    assert np.array_equal(resample(pcm, 16000, 16000), pcm)


def test_full_scale_clips_instead_of_wrapping() -> None:
    square = np.tile(np.r_[np.full(20, 32767), np.full(20, -32768)], 50).astype(np.int16)
    out, _ = stream(StreamResampler(8000, 16000), square, 160)
    # Gibbs overshoot must saturate, not wrap to the opposite sign
    assert out.max() == 32767 and out.min() == -32768
    assert np.all(np.abs(np.diff(out.astype(np.int32))) < 40000)


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        StreamResampler(0, 16000)
