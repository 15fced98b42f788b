"""The inbound half of the media WebSocket: frames in, 20 ms AudioFrames and digits out.

One `InboundDecoder` per call. Binary frames are either RTP packets or raw audio; which
one is decided per call from the first frames (see `_classify`) and then kept. RTP goes
through the jitter buffer, telephone-event packets to the DTMF detector, audio packets
are decoded, their timestamp gaps filled (a short fade-out of the last packet, then
silence) so media time stays exact; raw frames are decoded as they come (payloads.py).
Both are then resampled to 16 kHz and cut into frames of exactly 20 ms (frame_maker.py).

Nothing here raises on bad input: a frame that cannot be used is dropped and counted in
`counters` under `frames_dropped_<reason>`, and `last_error` says what was wrong.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from voicebot.audio.frame import PIPELINE_RATE, AudioFrame
from voicebot.telephony.control import (
    ControlError,
    ControlMessage,
    DtmfMessage,
    StartMessage,
    StopMessage,
    normalise_encoding,
    parse_control,
)
from voicebot.telephony.dtmf import DtmfDetector
from voicebot.telephony.frame_maker import FrameMaker
from voicebot.telephony.jitter import JitterBuffer
from voicebot.telephony.payloads import STATIC_PAYLOADS, Decoder, decoder
from voicebot.telephony.rates import ACCEPTED_RATES, UnsupportedMedia, check_rate
from voicebot.telephony.resample import warm_up
from voicebot.telephony.rtp import RtpError, RtpPacket, parse_rtp

__all__ = [
    "ControlMessage", "DtmfDigit", "DtmfMessage", "InboundDecoder", "StartMessage", "StopMessage",
    "UnsupportedMedia", "warm_up_filters",
]

log = logging.getLogger(__name__)

_TS_MOD = 1 << 32


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    digit: str
    time: float  # media seconds since the call's first frame, like AudioFrame.time


def warm_up_filters() -> None:
    """Build the resampling filters of every accepted rate (server start-up)."""
    warm_up(ACCEPTED_RATES, PIPELINE_RATE)


class InboundDecoder:
    """Per-call decoder of the media WebSocket's inbound frames.

    `default_encoding` / `default_rate` describe raw frames and dynamic RTP payload types
    until a start message says otherwise (they come from the query string; a rate not in
    ACCEPTED_RATES or an unknown encoding raises UnsupportedMedia). Feed every binary
    frame to `feed_binary`, every text frame to `feed_text`, and call `finish` once when
    the socket closes. A start message naming a format we cannot decode sets `refused`:
    the caller should end the call (close 1003). Not thread-safe; one call, one task.
    """

    def __init__(
        self,
        default_encoding: str = "pcmu",
        default_rate: int = 8000,
        dtmf_payload_type: int = 101,
        *,
        framing: str = "auto",
        max_delay_packets: int = 3,
        max_frame_bytes: int = 16384,
        conceal_ms: int = 60,
        max_fill_s: float = 5.0,
    ) -> None:
        if framing not in ("auto", "rtp", "raw"):
            raise ValueError(f"framing must be auto, rtp or raw, got {framing!r}")
        self.encoding = normalise_encoding(default_encoding)
        self.sample_rate = check_rate(default_rate)
        self.refused: str | None = None  # why this call's media cannot be decoded
        self.dtmf_payload_type = dtmf_payload_type
        self.dynamic_payload_type: int | None = None
        self.framing = framing
        self.max_frame_bytes = max_frame_bytes
        self.conceal_ms = conceal_ms
        self.max_fill_s = max_fill_s
        self.last_error: str | None = None
        self._counts: dict[str, int] = {}
        self._pending: list[bytes] = []  # frames held while framing is undecided
        self._jitter = JitterBuffer(max_delay_packets)
        self._dtmf = DtmfDetector()
        self._frames = FrameMaker()
        self._raw_decoder = decoder(self.encoding, rtp=False)
        self._formats: dict[int, tuple[Decoder, int, int, str]] = {}
        # RTP timeline: the audio stream's SSRC, next expected timestamp, clock rate
        self._ssrc: int | None = None
        self._resets = 0
        self._expected_ts = 0
        self._clock = 8000
        self._last_pcm: np.ndarray | None = None

    # ---- counters -----------------------------------------------------------------

    @property
    def counters(self) -> dict[str, int]:
        jb = self._jitter
        return {
            **self._counts,
            "packets_received": jb.received,
            "packets_lost": jb.lost,
            "packets_late": jb.late,
            "packets_duplicate": jb.duplicates,
            "packets_stray": jb.stray,
            "jitter_resets": jb.resets,
        }

    def _count(self, name: str, n: int = 1) -> None:
        self._counts[name] = self._counts.get(name, 0) + n

    def _drop(self, reason: str, detail: str) -> None:
        self._count(f"frames_dropped_{reason}")
        self.last_error = f"{reason}: {detail}"
        log.debug("dropped frame: %s: %s", reason, detail)

    # ---- text frames ----------------------------------------------------------------

    def feed_text(self, text: str) -> ControlMessage | None:
        self._count("frames_in")
        self._count("text_frames_in")
        try:
            message = parse_control(text)
        except ControlError as exc:
            self._drop(exc.reason, exc.detail)
            if exc.reason == "unsupported_media":
                self.refused = exc.detail
            return None
        if isinstance(message, StartMessage):
            self._apply_start(message)
        return message

    def _apply_start(self, start: StartMessage) -> None:
        if start.encoding is not None:
            self.encoding = start.encoding
        if start.sample_rate is not None:
            self.sample_rate = start.sample_rate
        if start.payload_type is not None:
            self.dynamic_payload_type = start.payload_type
        if start.dtmf_payload_type is not None:
            self.dtmf_payload_type = start.dtmf_payload_type
        self._raw_decoder = decoder(self.encoding, rtp=False)
        self._formats.clear()

    # ---- binary frames --------------------------------------------------------------

    def feed_binary(self, data: bytes) -> list[AudioFrame | DtmfDigit]:
        self._count("frames_in")
        self._count("binary_frames_in")
        if len(data) > self.max_frame_bytes:
            self._drop("oversized", f"{len(data)} bytes, limit {self.max_frame_bytes}")
            return []
        if not data:
            self._drop("empty", "zero-length binary frame")
            return []
        if self.framing == "rtp":
            return self._rtp(data)
        if self.framing == "raw":
            return self._raw(data)
        return self._classify(data)

    def finish(self) -> list[AudioFrame | DtmfDigit]:
        """End of call: decide held frames, play out the jitter buffer, pad the last frame."""
        out: list[AudioFrame | DtmfDigit] = []
        if self._pending:
            self.framing = "rtp"  # a lone RTP-looking frame is taken at its word
            for data in self._pending:
                out += self._rtp(data)
            self._pending = []
        out += self._play(self._jitter.flush())
        unended = self._dtmf.flush()
        self._count("dtmf_digits", len(unended))
        out += [DtmfDigit(d, self._frames.input_time) for d in unended]
        out += self._audio_out(self._frames.finish())
        return out

    def _classify(self, data: bytes) -> list[AudioFrame | DtmfDigit]:
        # Raw audio almost never passes as RTP twice in a row with the same SSRC and a
        # sequence number one step on; silence in every codec fails the version check.
        pkt = self._rtp_candidate(data)
        if pkt is not None and not self._pending:
            self._pending.append(data)
            return []
        held = self._pending
        self._pending = []
        first = self._rtp_candidate(held[0]) if held else None
        # The sequence step may be negative or zero: the first two may be reordered or
        # duplicated, which the jitter buffer then sorts out.
        if first is not None and pkt is not None and pkt.ssrc == first.ssrc and (
            (pkt.sequence - first.sequence + 10) % 65536 <= 20
        ):
            self.framing = "rtp"
            log.info("media framing: RTP (payload type %d)", first.payload_type)
            return self._rtp(held[0]) + self._rtp(data)
        self.framing = "raw"
        log.info("media framing: raw %s at %d Hz", self.encoding, self.sample_rate)
        out: list[AudioFrame | DtmfDigit] = []
        for frame in [*held, data]:
            out += self._raw(frame)
        return out

    def _rtp_candidate(self, data: bytes) -> RtpPacket | None:
        if len(data) < 13 or data[0] >> 6 != 2:
            return None
        try:
            pkt = parse_rtp(data)
        except RtpError:
            return None
        known = pkt.payload_type in STATIC_PAYLOADS or pkt.payload_type >= 96
        return pkt if known and pkt.payload else None

    def _raw(self, data: bytes) -> list[AudioFrame | DtmfDigit]:
        if self.encoding.startswith("l16") and len(data) % 2:
            self._drop("odd_length", f"{len(data)} bytes of 16-bit audio")
            return []
        pcm = self._raw_decoder(data)
        return self._audio_out(self._frames.push(pcm, self.sample_rate))

    def _audio_out(self, frames: list[AudioFrame]) -> list[AudioFrame | DtmfDigit]:
        self._count("audio_frames_out", len(frames))
        return list(frames)

    # ---- RTP ----------------------------------------------------------------------

    def _rtp(self, data: bytes) -> list[AudioFrame | DtmfDigit]:
        try:
            pkt = parse_rtp(data)
        except RtpError as exc:
            self._drop("bad_rtp", str(exc))
            return []
        pt = pkt.payload_type
        if pt != self.dtmf_payload_type and pt not in STATIC_PAYLOADS and pt < 96:
            self._drop("unsupported_payload_type", f"RTP payload type {pt}")
            return []
        return self._play(self._jitter.push(pkt))

    def _play(self, packets: list[RtpPacket | None]) -> list[AudioFrame | DtmfDigit]:
        out: list[AudioFrame | DtmfDigit] = []
        for pkt in packets:
            # A lost packet is only counted here: the next audio packet's timestamp says
            # exactly how much audio is missing, and _fill conceals that much.
            if pkt is None:
                continue
            if pkt.payload_type == self.dtmf_payload_type:
                digits = self._dtmf.feed(pkt)
                if digits:
                    time = self._time_of(pkt)
                    self._count("dtmf_digits", len(digits))
                    out += [DtmfDigit(d, time) for d in digits]
                continue
            out += self._rtp_audio(pkt)
        return out

    def _payload_format(self, pt: int) -> tuple[Decoder, int, int, str]:
        """(decoder, clock rate, bytes per sample frame, encoding) for a payload type."""
        known = self._formats.get(pt)
        if known is None:
            if pt in STATIC_PAYLOADS:
                encoding, rate, channels = STATIC_PAYLOADS[pt]
            else:  # dynamic: whatever the start message (or the query string) declared
                encoding, rate, channels = self.encoding, self.sample_rate, 1
            width = (1 if encoding in ("pcmu", "pcma") else 2) * channels
            known = (decoder(encoding, rtp=True, channels=channels), rate, width, encoding)
            self._formats[pt] = known
        return known

    def _rtp_audio(self, pkt: RtpPacket) -> list[AudioFrame | DtmfDigit]:
        decode, rate, width, encoding = self._payload_format(pkt.payload_type)
        if len(pkt.payload) % width:
            self._drop("odd_length", f"{len(pkt.payload)}-byte {encoding} payload")
            return []
        pcm = decode(pkt.payload)
        out: list[AudioFrame | DtmfDigit] = []
        restarted = pkt.ssrc != self._ssrc or self._jitter.resets != self._resets
        if restarted or rate != self._clock:
            # New stream (or new clock): its timestamps start a new timeline here.
            if self._ssrc is not None:
                self._count("stream_restarts")
            self._ssrc, self._resets, self._clock = pkt.ssrc, self._jitter.resets, rate
        else:
            gap = (pkt.timestamp - self._expected_ts + _TS_MOD // 2) % _TS_MOD - _TS_MOD // 2
            if gap < 0:
                self._count("timestamp_overlaps")  # played anyway: no sample is dropped
            elif gap > self.max_fill_s * rate:
                self._count("discontinuities")
                resume = self._frames.input_time + gap / rate
                out += self._audio_out(self._frames.finish(resume_at=resume))
            elif gap:
                out += self._audio_out(self._frames.push(self._fill(gap, rate), rate))
        self._expected_ts = (pkt.timestamp + pcm.size) % _TS_MOD
        self._last_pcm = pcm
        out += self._audio_out(self._frames.push(pcm, rate))
        return out

    def _fill(self, samples: int, rate: int) -> np.ndarray:
        fill = np.zeros(samples, dtype=np.int16)
        last = self._last_pcm
        conceal = min(samples, self.conceal_ms * rate // 1000)
        if last is not None and last.size and conceal:
            # Repeat the last packet under a fade to zero: no click, no invented speech.
            fade = np.linspace(0.5, 0.0, conceal, endpoint=False)
            fill[:conceal] = (np.resize(last, conceal) * fade).astype(np.int16)
            self._count("samples_concealed", conceal)
        self._count("samples_filled", samples - conceal)
        return fill

    def _time_of(self, pkt: RtpPacket) -> float:
        """Media time of a packet on the audio timeline (its event start for DTMF)."""
        if self._ssrc != pkt.ssrc:
            return self._frames.input_time
        ahead = (pkt.timestamp - self._expected_ts + _TS_MOD // 2) % _TS_MOD - _TS_MOD // 2
        return max(0.0, self._frames.input_time + ahead / self._clock)
