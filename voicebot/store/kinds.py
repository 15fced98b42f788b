"""The store a call, a route or the registry may be handed: the records themselves, or
the wrappers the app puts around them (resilience, the live feed), which forward every
method of the records and add their own."""

from __future__ import annotations

from voicebot.store.feed import FeedingStore
from voicebot.store.records import CallStore
from voicebot.store.resilient import ResilientStore

RecordStore = CallStore | ResilientStore | FeedingStore
