"""An LRU cache in front of any TTS plugin: prompts repeat across calls, synthesis need not.

The key is (plugin name, its options as JSON, text), so two differently configured voices
never share audio. Cached arrays are returned read-only: a caller that wants to change
samples must copy, and can never corrupt what the next call will hear.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from pydantic import BaseModel


class CachedTTS:
    kind = "tts"

    def __init__(self, inner: Any, max_entries: int = 256) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.inner = inner
        self.name: str = inner.name
        self.Options: type[BaseModel] = type(inner).Options
        self.max_entries = max_entries
        options = getattr(inner, "options", None)
        self._options_key = options.model_dump_json() if isinstance(options, BaseModel) else ""
        self._entries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def sample_rate(self) -> int:
        return int(self.inner.sample_rate)

    def load(self) -> None:
        self.inner.load()

    def health(self) -> dict[str, Any]:
        inner_health = self.inner.health() if hasattr(self.inner, "health") else {}
        with self._lock:
            entries = len(self._entries)
        return {
            **inner_health,
            "cache_entries": entries, "cache_hits": self.hits, "cache_misses": self.misses,
        }

    def _key(self, text: str) -> str:
        # Whitespace differences are not different prompts.
        return "\x00".join((self.name, self._options_key, " ".join(text.split())))

    def lookup(self, text: str) -> np.ndarray | None:
        """The cached audio for `text`, or None; cheap enough to call on the event loop,
        so a cached prompt never waits for an executor thread busy with STT."""
        key = self._key(text)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return cached

    def synthesize(self, text: str) -> np.ndarray:
        cached = self.lookup(text)
        if cached is not None:
            return cached
        key = self._key(text)
        with self._lock:
            self.misses += 1
        # Synthesise outside the lock so a slow prompt does not stall hits for other calls;
        # two simultaneous misses on one text both synthesise, which is merely wasted work.
        pcm = np.asarray(self.inner.synthesize(text))
        pcm.flags.writeable = False
        with self._lock:
            self._entries[key] = pcm
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return pcm

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
