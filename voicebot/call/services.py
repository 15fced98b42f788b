"""What every call of one server process shares: plugins, the flow, the executor, the store.

Built once at start-up, so a bad option or a broken flow stops the server before it
takes a call, and models load (and warm up) before the first caller waits on them.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np

from voicebot.call.flow_catalog import FlowCatalog
from voicebot.call.prompt_cache import prompt_pieces, synthesise_prompts
from voicebot.call.registry import CallRegistry
from voicebot.call.stt_scheduler import STTScheduler
from voicebot.call.tts_scheduler import TTSScheduler
from voicebot.config import Config
from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.loader import load_flow
from voicebot.metrics import Metrics
from voicebot.plugins.base import NLU, STT, TTS, VAD, Expectation, Transcript
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


def _post(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    """Run `fn` on the loop, from a worker thread; dropped if the loop has closed."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the server is shutting down: a lost sample is no loss
        pass


@dataclass
class Services:
    config: Config
    registry: PluginRegistry
    engine: FlowEngine
    stt: STT
    nlu: NLU
    tts: TTS
    executor: Executor  # NLU and other short work; STT too unless stt_executor is set
    metrics: Metrics
    tts_executor: Executor | None = None
    stt_executor: Executor | None = None  # transcriptions: an STTScheduler from `build`
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
    # The scheduler's job behind each transcription still running (`promote`).
    _jobs: dict[asyncio.Future[Any], Future[Any]] = field(default_factory=dict, repr=False)

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
        # A caller whose turn has ended outranks other calls' speculative transcriptions
        # (call/stt_scheduler.py); a guess is filed only while an STT thread is free. The
        # NLU (milliseconds) has threads of its own, so it never waits for a Whisper run
        # to finish; with stt_priority off, STT and NLU share one first-come queue.
        listen, server = config.listen, config.server
        executor = ThreadPoolExecutor(server.executor_workers, thread_name_prefix="voicebot-work")
        stt_executor = STTScheduler(
            server.executor_workers,
            speculative_lead_s=max(0, listen.hangover_ms - listen.speculative_after_ms) / 1000,
            idle_workers=min(server.speculative_idle_workers, server.executor_workers),
        ) if server.stt_priority else None
        # Most urgent piece first, not oldest first: every call's first words outrank the
        # rest of another call's reply (call/tts_scheduler.py).
        tts_executor = TTSScheduler(config.server.tts_workers)
        return cls(config, registry, engine, stt, nlu, tts, executor, Metrics(), tts_executor,
                   stt_executor=stt_executor)

    def may_speculate(self) -> bool:
        """Whether a speculative transcription would run now on a free STT thread."""
        executor = self.stt_executor
        return not isinstance(executor, STTScheduler) or executor.may_speculate()

    def transcribe(self, audio: np.ndarray, sample_rate: int, expectation: Expectation | None,
                   *, speculative: bool = False) -> asyncio.Future[Transcript]:
        """Start transcribing on the STT threads; a final run is due now, a speculative one
        when its turn would end. Cancelling the future drops a run that has not started."""
        loop = asyncio.get_running_loop()
        fn = self.stt.transcribe
        future: asyncio.Future[Transcript]
        if inspect.iscoroutinefunction(fn):  # an async plugin (a cloud STT) awaits itself
            future = asyncio.ensure_future(fn(audio, sample_rate, expectation))
        else:
            # The thread runs in a copy of this context, so its log lines keep the call id.
            context = contextvars.copy_context()
            kind = "speculative" if speculative else "final"
            filed = time.monotonic()

            def run() -> Transcript:
                started = time.monotonic()
                try:
                    return context.run(fn, audio, sample_rate, expectation)
                finally:  # queue wait and run time, recorded by the loop (metrics' writer)
                    _post(loop, self._observe_stt, kind, started - filed,
                          time.monotonic() - started)

            executor = self.stt_executor or self.executor
            job = (executor.submit_speculative(run)
                   if speculative and isinstance(executor, STTScheduler)
                   else executor.submit(run))
            future = asyncio.wrap_future(job, loop=loop)
            self._jobs[future] = job
            future.add_done_callback(self._forget_job)
        started = time.monotonic()

        def done(f: asyncio.Future[Transcript]) -> None:
            if not f.cancelled() and f.exception() is None:
                self.metrics.observe("voicebot_stt_seconds", time.monotonic() - started)

        future.add_done_callback(done)
        return future

    def promote(self, transcription: asyncio.Future[Transcript]) -> None:
        """A speculative transcription became its turn's: due now (stt_scheduler.py)."""
        job = self._jobs.get(transcription)
        if job is not None and isinstance(self.stt_executor, STTScheduler):
            self.stt_executor.promote(job)

    def _forget_job(self, transcription: asyncio.Future[Transcript]) -> None:
        self._jobs.pop(transcription, None)

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
        self._observe_tts_queue(asyncio.get_running_loop())
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

    def _observe_stt(self, kind: str, waited: float, ran: float) -> None:
        self.metrics.observe("voicebot_queue_wait_seconds", waited, stage="stt", run=kind)
        self.metrics.observe("voicebot_job_run_seconds", ran, stage="stt", run=kind)

    def _observe_tts_queue(self, loop: asyncio.AbstractEventLoop) -> None:
        """Each synthesis job's queue wait and run time into /metrics, beside STT's: where
        a slow reply's time went. The threads report; the loop (metrics' writer) records."""
        executor = self.tts_executor
        if not isinstance(executor, TTSScheduler):
            return

        def record(waited: float, ran: float) -> None:
            self.metrics.observe("voicebot_queue_wait_seconds", waited, stage="tts")
            self.metrics.observe("voicebot_job_run_seconds", ran, stage="tts")

        executor.on_run = lambda waited, ran: _post(loop, record, waited, ran)

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
        for executor in (self.executor, self.stt_executor, self.tts_executor):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
