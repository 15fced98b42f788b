"""FreeSWITCH mod_audio_stream: raw L16 audio in binary frames, JSON streamAudio out."""

from voicebot.telephony.audio_stream.protocol import AudioStreamProtocol

__all__ = ["AudioStreamProtocol"]
