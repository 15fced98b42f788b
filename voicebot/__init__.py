"""voicebot: telephone voicebots on Ringover."""

__version__ = "0.1.0"
