"""Twilio Media Streams (bidirectional, `<Connect><Stream>`): JSON messages, base64 µ-law."""

from voicebot.telephony.twilio.protocol import TwilioProtocol
from voicebot.telephony.twilio.twiml import connect_stream_twiml, signature

__all__ = ["TwilioProtocol", "connect_stream_twiml", "signature"]
