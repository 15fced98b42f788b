"""What every call of one server process shares: plugins, the flow, the executor, the store.

Built once at start-up, so a bad option or a broken flow stops the server before it
takes a call, and models load (and warm up) before the first caller waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from voicebot.call.flow_catalog import FlowCatalog
from voicebot.call.prompt_cache import prompt_pieces, synthesise_prompts
from voicebot.call.registry import CallRegistry
from voicebot.call.tts_scheduler import TTSScheduler
from voicebot.config import Config
from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.loader import load_flow
from voicebot.metrics import Metrics
from voicebot.plugins.base import NLU, STT, TTS, VAD
from voicebot.plugins.registry import PluginRegistry, health, warm_up
from voicebot.plugins.tts_cache import CachedTTS
from voicebot.store.feed import CallFeed
from voicebot.store.kinds import RecordStore
from voicebot.telephony.inbound import warm_up_filters
from voicebot.telephony.ringover_api import RingoverClient

log = logging.getLogger(__name__)

P = TypeVar("P")


def _as(kind: type[P], plugin: object) -> P:
    """The plugin, checked against the protocol it is used as (its methods are there)."""
    if not isinstance(plugin, kind):
        raise TypeError(f"{type(plugin).__name__} is not a {kind.__name__} plugin")
    return plugin


@dataclass
class Services:
    config: Config
    registry: PluginRegistry
    engine: FlowEngine
    stt: STT
    nlu: NLU
    tts: TTS
    executor: ThreadPoolExecutor
    metrics: Metrics
    tts_executor: Executor | None = None
    # Set by the app (app.py `_open_records`); None in a session built without records.
    store: RecordStore | None = None
    calls: CallRegistry | None = None  # or its cluster form, ClusterRegistry
    ringover: RingoverClient | None = None
    feed: CallFeed = field(default_factory=CallFeed)  # live record writes, for the console
    flows: FlowCatalog | None = None  # flows a call may pick by name (flow=...)
    ready: bool = False
    draining: bool = False  # SIGTERM: finish active calls, take no new ones
    stopping: bool = False  # the drain deadline passed: calls still up end as "shutdown"
    active_calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, config: Config) -> Services:
        registry = PluginRegistry(config.plugins, root=config.base_dir)
        engine = FlowEngine(load_flow(config.resolve(config.flow)))
        # The flow's language picks Whisper's language and model and the voice, where
        # config.yaml leaves them open (plugins' `for_language`).
        language = engine.flow.language
        stt = _as(STT, registry.create("stt", config.stt.use, config.stt.options, language))
        nlu = _as(NLU, registry.create("nlu", config.nlu.use, config.nlu.options, language))
        # The cache is a TTS in every way but ClassVar-ness (it takes its name from the
        # plugin it wraps), which the protocol cannot express.
        tts = cast(TTS, CachedTTS(
            registry.create("tts", config.tts.use, config.tts.options, language)))
        # VAD is per call (it has state); build one now so a bad option fails at start-up.
        registry.create("vad", config.vad.use, config.vad.options)
        executor = ThreadPoolExecutor(
            max_workers=config.server.executor_workers, thread_name_prefix="voicebot-work"
        )
        # Most urgent piece first, not oldest first: every call's first words outrank the
        # rest of another call's reply (call/tts_scheduler.py).
        tts_executor = TTSScheduler(config.server.tts_workers)
        return cls(config, registry, engine, stt, nlu, tts, executor, Metrics(), tts_executor)

    def new_vad(self) -> VAD:
        return _as(VAD, self.registry.create("vad", self.config.vad.use,
                                             self.config.vad.options))

    async def load(self) -> None:
        """Load and warm up every plugin off the event loop, one after the other, so the
        first caller does not wait for a model to load."""
        seconds = await warm_up(
            {"stt": self.stt, "nlu": self.nlu, "tts": self.tts, "vad": self.new_vad()},
            self.executor,
        )
        log.info("plugins loaded: %s", ", ".join(f"{k} {v:.2f}s" for k, v in seconds.items()))
        await self.prepare_nlu()
        await self.synthesise_prompts()
        # Every accepted sample rate's filter now, so no call designs one on the loop.
        warm_up_filters()
        self.ready = True

    async def prepare_nlu(self) -> None:
        """Every state's intents readied now (an NLU's optional `prepare`: the embeddings
        NLU embeds their examples), not by the first caller to reach each state."""
        prepare = getattr(self.nlu, "prepare", None)
        if callable(prepare):
            started = time.monotonic()
            engine = self.engine
            states = [engine.expectation(CallState(state=s)) for s in engine.flow.states]
            await asyncio.get_running_loop().run_in_executor(self.executor, prepare, states)
            log.info("nlu: %d states prepared in %.2fs", len(states), time.monotonic() - started)

    async def synthesise_prompts(self) -> None:
        """The flow's fixed prompts into the TTS cache now, not while a caller waits."""
        if not isinstance(self.tts, CachedTTS):
            return
        started, done = time.monotonic(), 0
        # Half the cache at most, so the replies made during calls keep room.
        pieces = prompt_pieces(self.engine.flow, self.tts.max_entries // 2)
        loop = asyncio.get_running_loop()
        for piece in pieces:
            # One at a time, each bounded as in a call: a hung voice delays start-up by
            # tts_timeout_s per prompt at most, and that prompt is tried again in a call.
            try:
                done += await asyncio.wait_for(
                    loop.run_in_executor(self.tts_executor or self.executor,
                                         synthesise_prompts, self.tts, [piece]),
                    self.config.listen.tts_timeout_s,
                )
            except TimeoutError:
                log.warning("pre-synthesis of %r timed out; left for the call", piece)
        log.info("%d of %d fixed prompt pieces synthesised in %.2fs", done, len(pieces),
                 time.monotonic() - started)

    def health(self) -> dict[str, Any]:
        # A store that cannot write says so (issue 12); calls go on, their records wait.
        store_health = getattr(self.store, "health", None)
        store = store_health() if callable(store_health) else None
        return {
            "ready": self.ready and not self.draining and (store is None or store["writable"]),
            "store": store,
            "draining": self.draining,
            "active_calls": self.active_calls,
            "plugins": {
                kind: {"name": p.name, **health(p)}
                for kind, p in (("stt", self.stt), ("nlu", self.nlu), ("tts", self.tts))
            },
        }

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.tts_executor is not None:
            self.tts_executor.shutdown(wait=False, cancel_futures=True)
