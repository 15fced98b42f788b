"""One call: listens, takes turns with the flow, speaks, and executes the flow's actions.

Frame handling (`on_audio`) is synchronous and O(1): VAD, endpointer, barge-in. Anything
slow (STT, TTS) runs in the shared bounded executor. A single "brain" task consumes turn
events in order, so the flow sees one event at a time, exactly as in `voicebot chat`;
the brain is the `TurnTaking` half (turns.py), this module the listening half and the
call's lifecycle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Coroutine
from typing import Any

import numpy as np

from voicebot.audio.endpointer import (
    Endpointer,
    EndpointEvent,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)
from voicebot.audio.frame import PIPELINE_RATE, AudioFrame
from voicebot.audio.gate import EnergyGate
from voicebot.call.brain_items import (
    BrainItem,
    HeardUtterance,
    NoInputElapsed,
    PressedKey,
    WebhookArrived,
)
from voicebot.call.end_of_turn import looks_unfinished
from voicebot.call.joining import OpenTurn
from voicebot.call.outbox import Outbox
from voicebot.call.prompt import Prompt
from voicebot.call.recording import CallRecording, open_recording
from voicebot.call.services import Services
from voicebot.call.speaker import Speaker
from voicebot.call.turns import QUEUE_SIZE, TurnTaking
from voicebot.flow import events as ev
from voicebot.flow.engine import CallState
from voicebot.flow.http_client import HttpBudget
from voicebot.types import Transcript

log = logging.getLogger(__name__)

# A "#" this soon after another key terminates that entry rather than answering a prompt.
TRAILING_HASH_S = 1.5
# Webhooks after which there is no caller left to talk to.
TERMINAL_WEBHOOKS = frozenset({"hangup", "call_ended", "missed", "voicemail"})
# Webhook data fields that describe the call, offered to the flow as {{ call.* }}.
CALL_FIELDS = ("from_number", "to_number", "direction", "user_id", "channel_id",
               "is_anonymous", "is_internal", "start_time", "answered_time", "contact_name")


class CallSession(TurnTaking):
    def __init__(self, services: Services, call_id: str, call: dict[str, Any],
                 outbox: Outbox) -> None:
        self.s = services
        # The flow this call runs: the served one unless the media URL named another.
        self.engine = services.engine
        self.call_id = call_id
        self.call = dict(call)
        self.outbox = outbox
        cfg = services.config
        self.vad = services.new_vad()
        self.endpointer = Endpointer(
            min_speech_ms=cfg.listen.min_speech_ms,
            hangover_ms=cfg.listen.hangover_ms,
            preroll_ms=cfg.listen.preroll_ms,
            max_utterance_s=cfg.listen.max_utterance_s,
            speculative_after_ms=(
                cfg.listen.speculative_after_ms if cfg.listen.speculative else None
            ),
            join_window_ms=cfg.listen.join_window_ms,
            # The pause's speculative transcript decides how much silence ends the turn.
            unfinished_hangover_ms=(
                cfg.listen.unfinished_hangover_ms
                if cfg.listen.end_of_turn == "transcript" else None
            ),
        )
        self._open_turn: OpenTurn | None = None  # the last turn, while it may be joined
        self.gate = EnergyGate(cfg.listen.energy_gate_db, cfg.listen.noise_gate_db)
        self.speaker = Speaker(
            outbox,
            sample_rate=outbox.protocol.output_rate,
            chunk_ms=cfg.speak.chunk_ms,
            lead_ms=cfg.speak.lead_ms,
            playout_ack=outbox.protocol.playout_ack,
        )
        self.log = logging.LoggerAdapter(log, {"call_id": call_id})
        self.state: CallState | None = None
        self.ended = False
        self.closed = asyncio.Event()
        self._queue: asyncio.Queue[BrainItem] = asyncio.Queue(QUEUE_SIZE)
        self.http_budget = HttpBudget()
        self._brain: asyncio.Task[None] | None = None
        self._no_input: asyncio.Task[None] | None = None
        self._spec: tuple[int, asyncio.Future[Transcript]] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        # The prompt playing, or the last one played (barge-in, what was heard, resume).
        self.prompt = Prompt()
        self.turns = 0
        # The console's view of the call: the recording, media time, and how it ended.
        self.recording: CallRecording | None = None
        self.media_s = 0.0  # media time where the caller's latest frame ends
        self.outcome: str | None = None  # transfer | hangup | error
        self._last_key_at = float("-inf")
        # Set when the flow or a webhook ends the call; the WebSocket handler then hangs up
        # (hangup) or just stops listening (transfer: the media server moves the call).
        self.end_requested = asyncio.Event()
        self.end_reason = ""
        self.hangup_requested = False

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.s.metrics.inc("voicebot_calls_total")
        self.s.metrics.gauge("voicebot_active_calls", 1)
        self.s.active_calls += 1
        self.recording = self.speaker.recording = open_recording(self.s.config, self.call_id)
        await self._record("open_call", self.call)
        if self.recording is not None:
            await self._record("open_call", {"recording": {
                "file": self.recording.path.name, "started_at": time.time()}})
        await self._record("add_event", "media_start", dict(self.call))
        self.state, actions = self.engine.start(self.call)
        self._brain = asyncio.create_task(self._run(actions), name=f"brain:{self.call_id}")

    async def close(self, reason: str) -> None:
        """Idempotent: the peer went away, or the flow ended the call."""
        if self.closed.is_set():
            return
        if reason == "disconnect" and self.s.stopping:
            reason = "shutdown"  # uvicorn closed the socket at the drain deadline
        self.closed.set()
        self.ended = True
        for task in [self._brain, self._no_input, *self._tasks]:
            if task is not None and not task.done():
                task.cancel()
        for task in [self._brain, self._no_input, *self._tasks]:
            if task is not None:
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self.s.metrics.gauge("voicebot_active_calls", -1)
        self.s.active_calls -= 1
        if self.recording is not None:
            self.recording.close()
        await self._record("open_call", {"outcome": self.outcome or "hangup"})
        await self._record("add_event", "media_stop", {"reason": reason})
        await self._record("close_call", reason)

    # ---- inbound: called by the WebSocket handler -------------------------------------

    def on_audio(self, frame: AudioFrame) -> None:
        if self.ended:
            return
        self.media_s = frame.time + frame.pcm.size / frame.sample_rate
        if self.recording is not None:
            self.recording.caller(frame)
        prob = self.vad.speech_probability(frame.pcm)
        is_speech = self.gate(frame.pcm, prob >= 0.5)
        if is_speech and self.speaker.speaking and self.s.config.barge_in.echo_guard:
            is_speech = not self._is_echo(frame.pcm)
        self._on_endpoint(self.endpointer.push(frame, is_speech))
        if self.speaker.speaking and self.endpointer.in_speech:
            self._maybe_barge_in()

    def _on_endpoint(self, events: list[EndpointEvent]) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                self._cancel_no_input()
                if event.joins:
                    self._join_cut_turn()
                elif self.speaker.speaking:
                    self.prompt.speech_over_it = True
            elif isinstance(event, SpeechPaused):
                self._speculate(event.audio)
            elif isinstance(event, SpeechResumed):
                self._discard_speculation("resumed")
            elif isinstance(event, SpeechEnded):
                self._utterance(event)

    def on_dtmf(self, digit: str) -> None:
        if self.ended:
            return
        self._cancel_no_input()
        self._commit_turn()
        now = time.monotonic()
        # A "#" right after other keys ends their entry; it is not meant to cut the prompt
        # that the entry itself started (e.g. "I heard 1 2 3 4 5 6, is that correct?").
        trailing_hash = digit == "#" and now - self._last_key_at < TRAILING_HASH_S
        self._last_key_at = now
        if self.speaker.speaking and self.prompt.allows("dtmf") and not trailing_hash:
            self._break("dtmf")
        self._enqueue(PressedKey(digit))

    def on_played(self, name: str) -> None:
        """The media server acknowledged playout up to a mark (telephony/media.py)."""
        self.speaker.on_played(name)

    async def on_webhook(self, name: str, data: dict[str, Any]) -> None:
        """A Ringover webhook about this call (the registry matched it by call id)."""
        fresh = {k: data[k] for k in CALL_FIELDS if data.get(k) not in (None, "")}
        self.call.update(fresh)
        if self.state is not None and fresh:
            # The flow sees webhook call data as {{ call.* }} from its next step on.
            self.state = dataclasses.replace(self.state, call={**self.state.call, **fresh})
        if name not in TERMINAL_WEBHOOKS:
            self._enqueue(WebhookArrived(name, data))
            return
        if self.ended:
            return
        # The caller is gone: act now, not after the prompt that is playing.
        if self.speaker.speaking:
            self.speaker.interrupt()
        if self.state is not None:
            self.state, _ = self.engine.step(self.state, ev.Webhook(name, data))
        self.ended = True
        self.hangup_requested = True
        self._spawn(self._end_call("webhook:" + name))

    # ---- listening -------------------------------------------------------------------

    def _is_echo(self, pcm: np.ndarray) -> bool:
        # Our own voice coming back is quieter than what we sent (echo return loss is
        # rarely under 6 dB); a caller talking over us is not. See docs/speech.md.
        out_rms = self.speaker.recent_output_rms()
        if out_rms <= 0:
            return False
        in_rms = float(np.sqrt(np.mean(pcm.astype(np.float32) ** 2)))
        return in_rms < out_rms * self.s.config.barge_in.echo_ratio

    def _maybe_barge_in(self) -> None:
        cfg = self.s.config.barge_in
        if not cfg.enabled or not self.prompt.allows("speech") or self.prompt.broken:
            return
        if self.endpointer.speech_ms >= cfg.min_speech_ms:
            self._break("speech")

    def _break(self, cause: str) -> None:
        if self.speaker.interrupted:
            # This prompt is broken already: one barge-in is one break, however many keys
            # the caller pressed in one go (issue 12: 33 keys overflowed the outbox).
            return
        heard = self.speaker.interrupt()
        prompt = self.prompt
        prompt.cut(time.monotonic(), heard)
        if prompt.playing:
            spoken = prompt.spoken
            self._spawn(self._record("add_event", "barge_in", {
                "cause": cause, "heard_s": round(heard, 3), "heard": spoken.heard(heard),
                "prompt": spoken.all_text,
            }))
        self.s.metrics.inc("voicebot_barge_ins_total", cause=cause)
        self.log.info("barge-in (%s) after %.2fs of the prompt", cause, heard)

    def _speculate(self, audio: np.ndarray) -> None:
        self._discard_speculation("superseded")
        if not self.s.may_speculate():  # STT busy: a guess would delay others' replies
            self.s.metrics.inc("voicebot_speculative_total", outcome="skipped")
            # No transcript is coming for this pause: the hangover alone ends the turn.
            self._on_endpoint(self.endpointer.decide(None))
            return
        stt = self._transcribe(audio, speculative=True)
        self._spec = (audio.size, stt)
        stt.add_done_callback(self._speculated)

    def _speculated(self, stt: asyncio.Future[Transcript]) -> None:
        """The pause's transcript came: the endpointer decides whether the turn is over."""
        if self.ended or self._spec is None or self._spec[1] is not stt or stt.cancelled():
            return  # the caller went on (or the turn ended) before it came
        # A failed run says nothing about the caller: the hangover ends the turn, and
        # the turn's STT error is reported when the brain awaits it.
        unfinished = stt.exception() is None and looks_unfinished(stt.result().text)
        self._on_endpoint(self.endpointer.decide(unfinished))

    def _discard_speculation(self, outcome: str) -> None:
        if self._spec is not None:
            self._spec[1].cancel()  # dropped if not started; else its result is ignored
            self._spec = None
            self.s.metrics.inc("voicebot_speculative_total", outcome=outcome)

    def _transcribe(self, audio: np.ndarray,
                    speculative: bool = False) -> asyncio.Future[Transcript]:
        expectation = self.engine.expectation(self.state) if self.state is not None else None
        # Final runs outrank speculative ones on the STT threads (call/stt_scheduler.py).
        future = self.s.transcribe(audio, PIPELINE_RATE, expectation, speculative=speculative)
        self._tasks.add(future)  # cancelled with the call
        future.add_done_callback(self._tasks.discard)
        return future

    def _utterance(self, event: SpeechEnded) -> None:
        ended_at = time.monotonic()
        self._open_turn = None  # a turn before this one is final, or was joined into it
        if self._spec is not None and self._spec[0] == event.audio.size:
            stt, self._spec = self._spec[1], None
            self.s.promote(stt)  # the turn has ended: its guess is due now
            self.s.metrics.inc("voicebot_speculative_total", outcome="used")
        else:
            self._discard_speculation("stale")
            stt = self._transcribe(event.audio)
        prompt = self.prompt
        during_prompt, prompt.speech_over_it = prompt.speech_over_it, False
        if during_prompt and not prompt.allows("speech") and not prompt.broken:
            # The prompt could not be interrupted: what was said over it is not a turn.
            stt.cancel()
            self.endpointer.close_join()
            return
        # The caller's last sample was heard this much media time before the turn ended
        # (the hangover, or longer when the transcript looked unfinished or came late).
        speech_end = ended_at - max(0.0, self.media_s - event.last_speech)
        self.s.metrics.inc("voicebot_turn_ends_total", reason=event.reason)
        self._open_turn = OpenTurn()
        self._enqueue(HeardUtterance(event, stt, speech_end, self._open_turn))

    def _join_cut_turn(self) -> None:
        """The caller went on after a cut: undo the turn taken for the first part."""
        turn, self._open_turn = self._open_turn, None
        if turn is None:
            return
        turn.void_it()
        if turn.started:
            # The flow state and the prompt (with whether it could be resumed) as they were.
            self.state = turn.state_before
            self.prompt, self.prompt.resumable = turn.interrupted_before
        if self.speaker.speaking:  # the reply to the first part: stop it now
            self.prompt.broke_at = time.monotonic()
            self.speaker.interrupt()
        self.s.metrics.inc("voicebot_turns_joined_total")
        self._spawn(self._record("add_event", "turn_joined", {"answered": turn.started}))

    def _commit_turn(self) -> None:
        """The last turn is final: speech from now on is a new turn."""
        self._open_turn = None
        self.endpointer.close_join()

    def _caller_speaking(self) -> bool:
        return self.endpointer.in_speech

    # ---- timers and endings ----------------------------------------------------------

    def _restart_no_input(self) -> None:
        self._cancel_no_input()
        if self.state is None:
            return
        timeout = self.engine.no_input_timeout(self.state)
        if timeout is None or self.ended:
            return

        async def wait() -> None:
            await asyncio.sleep(timeout)
            if not self.endpointer.in_speech and not self.ended:
                self._enqueue(NoInputElapsed())

        self._no_input = asyncio.create_task(wait(), name=f"no-input:{self.call_id}")

    def _cancel_no_input(self) -> None:
        if self._no_input is not None and not self._no_input.done():
            self._no_input.cancel()
        self._no_input = None

    async def _end_call(self, reason: str) -> None:
        if self.end_requested.is_set():
            return
        self._cancel_no_input()
        self.ended = True
        self.end_reason = reason
        self.end_requested.set()
        await self._record("add_event", "flow_end", {"reason": reason})

    # ---- records ---------------------------------------------------------------------

    async def _record(self, method: str, *args: Any) -> None:
        store = self.s.store
        if store is None:
            return
        try:
            await getattr(store, method)(self.call_id, *args)
        except Exception:  # losing a record line must not cost the call
            self.log.exception("record %s failed", method)
            self.s.metrics.inc("voicebot_errors_total", kind="store")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

