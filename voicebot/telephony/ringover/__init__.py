"""Ringover's media streamer: RTP or raw audio in, ringover-streamer JSON events out."""

from voicebot.telephony.ringover.protocol import RingoverProtocol

__all__ = ["RingoverProtocol"]
