"""A packet-count jitter buffer: reorder RTP, drop duplicates, declare losses.

It never looks at a clock. A missing packet is waited for while the newest packet is at
most `max_delay_packets` sequence numbers ahead of it (with 20 ms packets, 3 packets is
60 ms of reordering tolerance); then it is declared lost and the caller conceals it.
That makes its behaviour a pure function of the arrival order, exact in tests and in
replays. Sequence numbers are 16-bit and wrap; internally they are extended to ints.

Until the first packet is played, the buffer also waits for `max_delay_packets` packets so
that a stream whose very first packets arrive out of order starts at the right one; after
that, packets that arrive in order are released at once (no added delay).

A change of SSRC, or a jump of more than `max_jump` sequence numbers that the next
packet confirms (RFC 3550 appendix A.1 does the same probation), means the sender
restarted its stream: what is buffered is played out and the buffer starts afresh.
"""

from __future__ import annotations

from voicebot.telephony.rtp import RtpPacket

_SEQ_MOD = 1 << 16
_HISTORY = 1024  # remembers this many played sequence numbers to tell duplicates from late


class JitterBuffer:
    def __init__(self, max_delay_packets: int = 3, max_jump: int = 100) -> None:
        if max_delay_packets < 0:
            raise ValueError("max_delay_packets must be >= 0")
        if not 0 < max_jump < _SEQ_MOD // 2:
            raise ValueError("max_jump must be between 1 and 32767")
        self.max_delay_packets = max_delay_packets
        self.max_jump = max_jump
        self.received = 0
        self.duplicates = 0
        self.late = 0
        self.lost = 0
        self.resets = 0
        self.stray = 0  # out-of-range packets that the next packet did not confirm
        self._ssrc: int | None = None
        self._next = 0  # extended sequence number of the next packet to play
        self._highest = -1  # highest extended sequence number buffered or played
        self._buffer: dict[int, RtpPacket] = {}
        self._played = [-1] * _HISTORY
        self._probe: RtpPacket | None = None
        self._primed = False  # True once the first packet has been played

    def __len__(self) -> int:
        return len(self._buffer)

    def push(self, pkt: RtpPacket) -> list[RtpPacket | None]:
        """Add one packet; return what is now ready to play, in order (None = lost)."""
        self.received += 1
        if self._ssrc is None:
            self._start(pkt)
            return self._release()
        if pkt.ssrc != self._ssrc:
            return self._restart(pkt, None)
        delta = ((pkt.sequence - self._next + _SEQ_MOD // 2) % _SEQ_MOD) - _SEQ_MOD // 2
        ext = self._next + delta
        if delta > self.max_jump or delta < -self.max_jump:
            probe = self._probe
            if probe is not None and pkt.sequence == (probe.sequence + 1) % _SEQ_MOD:
                return self._restart(probe, pkt)
            if probe is not None:
                self.stray += 1
            self._probe = pkt
            return []
        if self._probe is not None:
            self._probe = None
            self.stray += 1
        if delta < 0 and not self._primed and self._highest - ext <= self.max_delay_packets:
            self._next = ext  # an earlier packet of a stream that has not started playing
        elif delta < 0:
            if self._played[ext % _HISTORY] == ext:
                self.duplicates += 1
            else:
                self.late += 1
            return []
        if ext in self._buffer:
            self.duplicates += 1
            return []
        self._buffer[ext] = pkt
        self._highest = max(self._highest, ext)
        return self._release()

    def flush(self) -> list[RtpPacket | None]:
        """Play out everything buffered, declaring the remaining gaps lost."""
        out: list[RtpPacket | None] = []
        while self._buffer:
            out.append(self._pop_next())
        self._primed = True
        if self._probe is not None:
            self._probe = None
            self.stray += 1
        return out

    def _start(self, pkt: RtpPacket) -> None:
        self._ssrc = pkt.ssrc
        self._next = pkt.sequence
        self._highest = pkt.sequence
        self._buffer = {pkt.sequence: pkt}
        self._played = [-1] * _HISTORY
        self._probe = None
        self._primed = self.max_delay_packets == 0

    def _restart(self, first: RtpPacket, second: RtpPacket | None) -> list[RtpPacket | None]:
        out = self.flush()
        self.resets += 1
        self._start(first)
        out += self._release()
        if second is not None:
            self.received -= 1  # push() counts it again
            out += self.push(second)
        return out

    def _pop_next(self) -> RtpPacket | None:
        pkt = self._buffer.pop(self._next, None)
        if pkt is None:
            self.lost += 1
        else:
            self._played[self._next % _HISTORY] = self._next
        self._next += 1
        return pkt

    def _release(self) -> list[RtpPacket | None]:
        out: list[RtpPacket | None] = []
        buffer = self._buffer
        if not self._primed:
            if self._highest - self._next < self.max_delay_packets:
                return out
            self._primed = True
        while buffer:
            if self._next in buffer or self._highest - self._next > self.max_delay_packets:
                out.append(self._pop_next())
            else:
                break
        return out
