"""Band-limited sample-rate conversion for the wire's rates (8/16/22.05/24/44.1/48 kHz).

`resample` converts a whole buffer with soxr (high quality, used for prompts and TTS
output). `StreamResampler` converts a live stream 20 ms at a time. soxr's streaming
mode was measured first: its per-call cost is low, but it releases output in bursts of
about 100 ms (its internal block size), which would delay speech detection and barge-in
by that much. So the stream path is a polyphase FIR of our own: a Kaiser-windowed sinc
designed once per rate pair, applied with one vectorised gather-and-dot per chunk. Its
latency is 16 samples at the lower rate (2 ms at 8 kHz), its output is time-aligned
with its input (the filter's group delay is compensated), and it never drops or repeats
samples: after `flush()`, n input samples have given exactly ceil(n * dst / src) outputs.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np
import soxr
from numpy.lib.stride_tricks import sliding_window_view

MAX_PHASES = 2048  # a bigger polyphase bank means an exotic rate pair (see rates.py)
ZERO_CROSSINGS = 16  # sinc lobes each side, in samples at the lower of the two rates
KAISER_BETA = 6.8  # ~70 dB stopband: below the 8-bit G.711 noise floor that follows


def _int16(x: np.ndarray) -> np.ndarray:
    # The ufuncs directly: np.clip's Python wrapper alone costs a microsecond per frame.
    np.rint(x, out=x)
    np.minimum(x, 32767, out=x)
    np.maximum(x, -32768, out=x)
    return x.astype(np.int16)


def resample(pcm: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample a whole int16 mono buffer (soxr HQ)."""
    pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
    if src_rate == dst_rate or pcm.size == 0:
        return pcm.copy()
    return np.asarray(soxr.resample(pcm, src_rate, dst_rate, quality="HQ"), dtype=np.int16)


@lru_cache(maxsize=32)
def _design(up: int, down: int) -> tuple[np.ndarray, int]:
    """Polyphase bank (phases x taps) and the filter's centre in upsampled samples.

    bank[p, q] = h[p + q*up]: output with phase p is the convolution of the input with
    row p, read at the input sample it lines up with.
    """
    per_low = max(up, down)  # upsampled samples per sample at the lower rate
    centre = ZERO_CROSSINGS * per_low
    n = np.arange(2 * centre + 1) - centre
    # Cut off at the lower Nyquist; the gain `up` makes up for the zero-stuffed samples.
    h = np.sinc(n / per_low) * np.kaiser(n.size, KAISER_BETA) * (up / per_low)
    taps = -(-h.size // up)
    h = np.concatenate([h, np.zeros(taps * up - h.size)])
    return np.ascontiguousarray(h.reshape(taps, up).T, dtype=np.float32), centre


_Plan = tuple[np.ndarray, int, np.ndarray, tuple[tuple[int, float] | None, ...]]


@lru_cache(maxsize=32)
def _plan(up: int, down: int) -> _Plan:
    """Everything a StreamResampler needs for one rate pair, built once per process:
    after `warm_up`, a call never designs a filter on the event loop."""
    bank, centre = _design(up, down)
    # With the cut-off at the lower Nyquist, some phases of an integer upsampler are a
    # single tap (8k->16k: every other output is an input sample): copy, don't convolve.
    single_tap: list[tuple[int, float] | None] = []
    for row in bank:
        nonzero = np.flatnonzero(np.abs(row) > 1e-6)
        single_tap.append((int(nonzero[0]), float(row[nonzero[0]])) if nonzero.size == 1 else None)
    return bank, centre, np.ascontiguousarray(bank[:, ::-1]), tuple(single_tap)


def warm_up(rates: tuple[int, ...], dst_rate: int) -> None:
    """Design the filters from each of `rates` to `dst_rate` now (start-up, ~0.1 s)."""
    for rate in rates:
        g = gcd(rate, dst_rate)
        _plan(dst_rate // g, rate // g)


# Up to this many phases, one np.convolve per phase is fastest (8k->16k has 2, 16k->8k 1).
_CONVOLVE_MAX_PHASES = 4


class StreamResampler:
    """Streaming int16 mono resampler: `process` chunks, then `flush` once at the end."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        g = gcd(src_rate, dst_rate)
        self._up, self._down = dst_rate // g, src_rate // g
        self._passthrough = self._up == self._down
        if max(self._up, self._down) > MAX_PHASES:
            # The filter grows with the rates' least common multiple: 1 Hz -> 16 kHz asked
            # for gigabytes. The wire's rates need at most 640 phases (11.025 kHz).
            raise ValueError(f"no streaming filter for {src_rate} -> {dst_rate} Hz: "
                             f"{max(self._up, self._down)} phases, limit {MAX_PHASES}")
        plan = _plan(self._up, self._down)
        self._bank, self._centre, self._reversed_bank, self._single_tap = plan
        self._taps = self._bank.shape[1]
        self._reset()

    @property
    def latency_samples(self) -> int:
        """Input samples that must arrive before the output for a given sample is out."""
        return 0 if self._passthrough else -(-self._centre // self._up)

    def _reset(self) -> None:
        # History starts as zeros standing for the samples before the stream began.
        self._history = np.zeros(self._taps - 1, dtype=np.float32)
        self._history_start = -(self._taps - 1)  # absolute index of _history[0]
        self._inputs = 0  # absolute input samples seen
        self._next_out = 0  # absolute index of the next output sample

    def process(self, pcm: np.ndarray) -> np.ndarray:
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        if self._passthrough:
            return pcm.copy()
        self._inputs += pcm.size
        buf = np.concatenate([self._history, pcm.astype(np.float32)])
        return self._emit(buf, self._inputs)

    def flush(self) -> np.ndarray:
        """Output the tail held back for the filter, then start over."""
        if self._passthrough:
            return np.zeros(0, dtype=np.int16)
        remaining = -(-self._inputs * self._up // self._down) - self._next_out
        pad = np.zeros(self._centre // self._up + self._taps, dtype=np.float32)
        buf = np.concatenate([self._history, pad])
        # The padding yields outputs past the end of the real input; keep only the real ones.
        out = self._emit(buf, self._inputs + pad.size)[: max(remaining, 0)]
        self._reset()
        return out

    def _emit(self, buf: np.ndarray, available: int) -> np.ndarray:
        up, down, taps, centre = self._up, self._down, self._taps, self._centre
        # Output j lines up with input sample floor((j*down + centre) / up).
        end = (available * up - 1 - centre) // down + 1
        start = self._next_out
        if end <= start:
            self._history = buf
            return np.zeros(0, dtype=np.int16)
        if up <= _CONVOLVE_MAX_PHASES:
            out = self._by_phase(buf, start, end)
        else:
            m = np.arange(start, end, dtype=np.int64) * down + centre
            first = m // up - self._history_start - (taps - 1)  # window start in buf
            windows = sliding_window_view(buf, taps)[first]
            out = np.einsum("ij,ij->i", windows, self._reversed_bank[m % up])
        self._next_out = end
        keep_from = (end * down + centre) // up - (taps - 1) - self._history_start
        keep_from = min(keep_from, buf.size)
        self._history = buf[keep_from:]
        self._history_start += keep_from
        return _int16(out)

    def _by_phase(self, buf: np.ndarray, start: int, end: int) -> np.ndarray:
        # Outputs start+s, start+s+up, ... share one phase and sit `down` inputs apart.
        up, down, taps = self._up, self._down, self._taps
        n = end - start
        out = np.empty(n, dtype=np.float32)
        for s in range(min(up, n)):
            m = (start + s) * down + self._centre
            phase = m % up
            first = m // up - self._history_start - taps + 1  # window start in buf
            span = ((n - s - 1) // up) * down  # inputs between the first and last window
            single = self._single_tap[phase]
            if single is not None:
                # bank[phase, q] weighs the input q samples before the window's last one.
                at = first + taps - 1 - single[0]
                picked = buf[at : at + span + 1 : down]
                out[s::up] = picked if single[1] == 1.0 else picked * single[1]
            else:
                taps_reversed = self._reversed_bank[phase]
                conv = np.correlate(buf[first : first + span + taps], taps_reversed, "valid")
                out[s::up] = conv[::down] if down > 1 else conv
        return out
