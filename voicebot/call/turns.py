"""The brain of a call: one turn at a time, in order, and the flow's actions executed.

`TurnTaking` is the half of `CallSession` that consumes the brain queue (brain_items.py):
it waits for the transcript, parses it (a plain NLU in the executor, as documented), steps
the flow, executes every action kind on the media seam, and records the turn. The other
half (session.py) listens, keeps the lifecycle, and provides the hooks declared here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Sequence
from typing import Any, assert_never

from voicebot.audio.frame import PIPELINE_RATE
from voicebot.call import http_step
from voicebot.call.backchannel import not_a_turn
from voicebot.call.brain_items import (
    BrainItem,
    HeardUtterance,
    HttpAnswered,
    NoInputElapsed,
    PressedKey,
    WebhookArrived,
)
from voicebot.call.handoff import hand_off
from voicebot.call.outbox import Outbox
from voicebot.call.prompt import Prompt
from voicebot.call.services import Services
from voicebot.call.speaker import Speaker
from voicebot.call.tts_stream import SpokenText, stream_speech
from voicebot.flow import actions as act
from voicebot.flow import events as ev
from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.http_client import HttpBudget
from voicebot.plugins.base import call_plugin
from voicebot.store.turn import TurnRecord
from voicebot.telephony import media
from voicebot.types import Expectation, NLUResult

# Turn events waiting for the brain. Bounded: a caller cannot queue work without limit.
QUEUE_SIZE = 16


class TurnTaking(ABC):
    # The state the brain shares with the listening half (set by CallSession.__init__).
    s: Services
    engine: FlowEngine
    call_id: str
    outbox: Outbox
    speaker: Speaker
    prompt: Prompt
    state: CallState | None
    ended: bool
    hangup_requested: bool
    outcome: str | None
    turns: int
    media_s: float
    log: logging.LoggerAdapter[logging.Logger]
    _queue: asyncio.Queue[BrainItem]
    http_budget: HttpBudget  # the flow's http steps share one per call

    # ---- hooks the listening half provides ---------------------------------------------

    @abstractmethod
    def _break(self, cause: str) -> None: ...

    @abstractmethod
    def _restart_no_input(self) -> None: ...

    @abstractmethod
    def _commit_turn(self) -> None:
        """The last turn is final: it can no longer be joined by the caller's next words."""

    @abstractmethod
    async def _end_call(self, reason: str) -> None: ...

    @abstractmethod
    async def _record(self, method: str, *args: Any) -> None: ...

    @abstractmethod
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]: ...

    # ---- the queue ---------------------------------------------------------------------

    def _enqueue(self, item: BrainItem) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.s.metrics.inc("voicebot_errors_total", kind="turn_queue_full")
            self.log.warning("turn queue full; dropping %s", type(item).__name__)

    async def _run(self, first_actions: Sequence[act.Action]) -> None:
        await self._execute(first_actions, reply_from=None)
        while not self.ended:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug in a turn must not end the call
                self.log.exception("turn failed")
                self.s.metrics.inc("voicebot_errors_total", kind="turn")
                await self._step(ev.TurnFailed("internal", str(exc)),
                                 turn=TurnRecord(error=str(exc)))

    async def _handle(self, item: BrainItem) -> None:
        if isinstance(item, HeardUtterance):
            turn = item.open_turn
            if turn.void:  # joined before the brain got to it
                item.stt.cancel()
                return
            # What a join restores: the flow state, the prompt and whether it may resume.
            turn.begin(self.state, (self.prompt, self.prompt.resumable))
            await turn.run(self._user_turn(item))
            return
        self._commit_turn()
        if isinstance(item, PressedKey):
            self.prompt.resumable = False
            # The console's timeline shows keys as events; the turn keeps it too.
            self._spawn(self._record("add_event", "dtmf", {"digit": item.digit}))
            await self._step(ev.Dtmf(item.digit), turn=TurnRecord(dtmf=item.digit))
        elif isinstance(item, NoInputElapsed):
            await self._step(ev.NoInput(), turn=TurnRecord(no_input=True))
        elif isinstance(item, WebhookArrived):
            await self._step(ev.Webhook(item.name, dict(item.data)), turn=None)
        elif isinstance(item, HttpAnswered):
            await self._step(item.result, turn=None)
        else:
            assert_never(item)

    # ---- a spoken turn -------------------------------------------------------------------

    async def _user_turn(self, item: HeardUtterance) -> None:
        utt = item.utterance
        turn = TurnRecord(speech_ms=utt.speech_ms)
        t0 = time.monotonic()
        try:
            transcript = await asyncio.wait_for(item.stt, self.s.config.listen.stt_timeout_s)
        except asyncio.CancelledError:
            if self.ended:
                raise
            return
        except Exception as exc:
            kind = "stt_timeout" if isinstance(exc, asyncio.TimeoutError) else "stt"
            self.s.metrics.inc("voicebot_errors_total", kind=kind)
            self.log.warning("STT failed: %r", exc)
            turn.error = f"{kind}: {exc!r}"
            await self._step(ev.TurnFailed(kind, repr(exc)), turn=turn)
            return
        turn.latencies["stt_wait_ms"] = round((time.monotonic() - t0) * 1000, 1)
        text = transcript.text.strip()
        self._spawn(self._record("add_event", "utterance", {
            "onset_s": round(utt.onset, 2), "end_s": round(utt.last_speech, 2), "text": text,
            "confidence": transcript.confidence, "ended": utt.reason}))
        turn.transcript = text
        t1 = time.monotonic()
        try:
            nlu = await self._parse(text, self.engine.expectation(self._flow_state()))
        except Exception as exc:
            self.s.metrics.inc("voicebot_errors_total", kind="nlu")
            turn.error = repr(exc)
            await self._step(ev.TurnFailed("nlu", repr(exc)), turn=turn)
            return
        turn.latencies["nlu_ms"] = round((time.monotonic() - t1) * 1000, 2)
        self.s.metrics.observe("voicebot_nlu_seconds", time.monotonic() - t1)
        prompt = self.prompt
        if prompt.resumable and not_a_turn(text, nlu, utt.speech_ms, self.s.config.barge_in):
            # "mhm" or a noise over a prompt is not a turn: say the rest of the prompt.
            prompt.resumable = False
            rest = prompt.rest()
            await self._record("add_event", "resume", {"after": text, "rest": rest})
            if rest:
                await self._execute([act.Say(rest, prompt.barge_in)], reply_from=item.speech_end)
            return
        prompt.resumable = False
        if not text:
            # Heard as speech, transcribed as nothing: a noise, or a word lost to STT.
            self.s.metrics.inc("voicebot_turns_total", outcome="empty")
            await self._record("add_event", "empty_utterance", {
                "speech_ms": utt.speech_ms, "audio_s": round(utt.audio.size / PIPELINE_RATE, 2),
                "stt_ms": turn.latencies.get("stt_wait_ms"),
            })
            self._restart_no_input()
            return
        turn.intent, turn.confidence = nlu.intent, nlu.confidence
        turn.entities = dict(nlu.entities)
        await self._step(ev.UserInput(nlu), turn=turn, reply_from=item.speech_end)

    async def _parse(self, text: str, expectation: Expectation) -> NLUResult:
        # An async plugin (an LLM) is awaited; a plain one runs in the executor, as the
        # plugin docs and the conformance kit say (the embeddings NLU takes milliseconds).
        result: NLUResult = await call_plugin(self.s.executor, self.s.nlu.parse, text,
                                              expectation)
        return result

    def _flow_state(self) -> CallState:
        if self.state is None:
            raise RuntimeError("the flow has not started")
        return self.state

    # ---- one flow step -------------------------------------------------------------------

    async def _step(self, event: ev.Event, *, turn: TurnRecord | None,
                    reply_from: float | None = None) -> None:
        if self.ended:
            return
        actions: Sequence[act.Action]
        try:
            self.state, actions = self.engine.step(self._flow_state(), event)
        except Exception as exc:
            # The engine is pure and validated; if it raises, end the call politely.
            self.log.exception("flow engine failed")
            self.s.metrics.inc("voicebot_errors_total", kind="flow")
            actions = [act.Hangup("flow_error")]
            if turn is not None:
                turn.error = f"flow: {exc!r}"
        self.turns += 1
        if turn is not None and self.state is not None:
            turn.state = self.state.state
            turn.slots = dict(self.state.slots)
            turn.actions = [describe(a) for a in actions]
            self.s.metrics.inc("voicebot_turns_total",
                               outcome="error" if turn.error is not None else "ok")
        await self._execute(actions, reply_from=reply_from, turn=turn)
        if turn is not None:
            await self._record("add_turn", turn)

    async def _execute(self, actions: Sequence[act.Action], *, reply_from: float | None,
                       turn: TurnRecord | None = None) -> None:
        interrupted = False
        for action in actions:
            if isinstance(action, act.Play | act.Transfer | act.SendDigits | act.Hangup):
                self._commit_turn()  # the caller cannot un-hear it, nor the line undo it
            if isinstance(action, act.Say):
                if not interrupted:
                    interrupted = not await self._say(action, reply_from, turn)
                    reply_from = None
            elif isinstance(action, act.Play):
                if not interrupted:
                    await self.outbox.send(media.PlayUrl(action.url))
            elif isinstance(action, act.Transfer):
                # A target name becomes its number; an unknown one hangs up (handoff.py).
                handed, note = hand_off(action, self.s.config.targets)
                self._spawn(self._record("add_event", *note))
                await self.outbox.send(handed)
                self.ended = True
                transferred = isinstance(handed, media.Transfer)
                self.hangup_requested = not transferred
                self.outcome = "transfer" if transferred else "error"
            elif isinstance(action, act.HttpCall):  # answered later, as an HttpAnswered
                self._spawn(http_step.run(
                    action, self.s.config.http, self.http_budget,
                    say=lambda text: self._say(act.Say(text), None, None),
                    answer=lambda result: self._enqueue(HttpAnswered(result))))
            elif isinstance(action, act.SendDigits):
                await self.outbox.send(media.SendDigits(action.digits))
            elif isinstance(action, act.Break):
                if self.speaker.speaking:
                    self._break("flow")
            elif isinstance(action, act.Hangup):
                await self.outbox.send(media.Hangup(action.reason or "hangup"))
                self.ended = True
                self.hangup_requested = True
                self.outcome = "error" if "error" in action.reason else "hangup"
            else:
                assert_never(action)
        if self.ended:
            self._spawn(self._end_call("flow"))
        else:
            self._restart_no_input()

    async def _say(self, action: act.Say, reply_from: float | None,
                   turn: TurnRecord | None) -> bool:
        """Speak; False if the caller broke in."""
        spoken = SpokenText()
        self.prompt = prompt = Prompt(barge_in=action.barge_in, spoken=spoken, playing=True,
                                      speech_over_it=self._caller_speaking())
        self._spawn(self._record("add_event", "say", {"text": action.text,
                                                      "at_s": round(self.media_s, 2)}))
        t0 = time.monotonic()
        try:
            playback = await self.speaker.play(
                stream_speech(self.s.tts, action.text, self.speaker.sample_rate,
                              self.s.tts_executor or self.s.executor, spoken,
                              self.s.config.listen.tts_timeout_s)
            )
        except Exception as exc:
            self.s.metrics.inc("voicebot_errors_total", kind="tts")
            self.log.warning("TTS failed: %r", exc)
            if turn is not None:
                turn.error = f"tts: {exc!r}"
            return True
        finally:
            prompt.playing = False
        if spoken.first_audio_at is not None:
            self.s.metrics.observe("voicebot_tts_seconds", spoken.first_audio_at - t0)
        if reply_from is not None and playback.first_chunk_at is not None:
            reply = playback.first_chunk_at - reply_from
            self.s.metrics.observe("voicebot_reply_seconds", reply)
            if turn is not None:
                turn.latencies["reply_ms"] = round(reply * 1000, 1)
        if not playback.completed:
            await self._record("add_event", "heard", {
                "prompt": spoken.all_text, "heard": spoken.heard(playback.heard_s),
                "heard_s": round(playback.heard_s, 3),
            })
        return playback.completed

    @abstractmethod
    def _caller_speaking(self) -> bool:
        """Is the caller speaking right now (the endpointer is in speech)?"""


def describe(action: act.Action) -> dict[str, Any]:
    """An action as the turn record keeps it: its kind and its fields."""
    return {"type": type(action).__name__.lower(), **{
        k: getattr(action, k) for k in getattr(action, "__slots__", ())
    }}

