"""One call: listens, takes turns with the flow, speaks, and executes the flow's actions.

Frame handling (`on_audio`) is synchronous and O(1): VAD, endpointer, barge-in. Anything
slow (STT, TTS) runs in the shared bounded executor. A single "brain" task consumes turn
events in order, so the flow sees one event at a time, exactly as in `voicebot chat`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

import numpy as np

from voicebot.audio.endpointer import (
    Endpointer,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)
from voicebot.audio.frame import PIPELINE_RATE, AudioFrame
from voicebot.audio.gate import EnergyGate
from voicebot.call import http_step
from voicebot.call.backchannel import not_a_turn
from voicebot.call.handoff import hand_off
from voicebot.call.joining import OpenTurn
from voicebot.call.outbox import Outbox
from voicebot.call.recording import CallRecording, open_recording
from voicebot.call.services import Services
from voicebot.call.speaker import Speaker
from voicebot.call.tts_stream import SpokenText, stream_speech
from voicebot.flow import actions as act
from voicebot.flow import events as ev
from voicebot.flow.http_client import HttpBudget
from voicebot.plugins.base import NLUResult, Transcript, call_plugin
from voicebot.telephony import media

log = logging.getLogger(__name__)

# Turn events waiting for the brain. Bounded: a caller cannot queue work without limit.
QUEUE_SIZE = 16
# A "#" this soon after another key terminates that entry rather than answering a prompt.
TRAILING_HASH_S = 1.5
# Webhooks after which there is no caller left to talk to.
TERMINAL_WEBHOOKS = frozenset({"hangup", "call_ended", "missed", "voicemail"})
# Webhook data fields that describe the call, offered to the flow as {{ call.* }}.
CALL_FIELDS = ("from_number", "to_number", "direction", "user_id", "channel_id",
               "is_anonymous", "is_internal", "start_time", "answered_time", "contact_name")


class CallSession:
    def __init__(self, services: Services, call_id: str, call: dict[str, Any], outbox: Outbox):
        self.s = services
        # The flow this call runs: the served one unless the media URL named another.
        self.engine = services.engine
        self.call_id = call_id
        self.call = dict(call)
        self.outbox = outbox
        self.http_budget = HttpBudget()  # the flow's http steps share one per call
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
        )
        self._open_turn: OpenTurn | None = None  # the last turn, while it may be joined
        self.gate = EnergyGate(cfg.listen.energy_gate_db)
        self.speaker = Speaker(
            outbox,
            sample_rate=outbox.protocol.output_rate,
            chunk_ms=cfg.speak.chunk_ms,
            lead_ms=cfg.speak.lead_ms,
            playout_ack=outbox.protocol.playout_ack,
        )
        self.log = logging.LoggerAdapter(log, {"call_id": call_id})
        self.state: Any = None
        self.ended = False
        self.closed = asyncio.Event()
        self._queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue(QUEUE_SIZE)
        self._brain: asyncio.Task[None] | None = None
        self._no_input: asyncio.Task[None] | None = None
        self._spec: tuple[int, asyncio.Future[Transcript]] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        # Barge-in state for the prompt now playing.
        self._barge_in = "true"
        self._spoken: SpokenText | None = None
        self._broke_at: float | None = None
        self._interrupted: tuple[SpokenText, float] | None = None
        self._speech_during_prompt = False
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
        for event in self.endpointer.push(frame, is_speech):
            if isinstance(event, SpeechStarted):
                self._cancel_no_input()
                if event.joins:
                    self._join_cut_turn()
                elif self.speaker.speaking:
                    self._speech_during_prompt = True
            elif isinstance(event, SpeechPaused):
                self._speculate(event.audio)
            elif isinstance(event, SpeechResumed):
                self._discard_speculation("resumed")
            elif isinstance(event, SpeechEnded):
                self._utterance(event)
        if self.speaker.speaking and self.endpointer.in_speech:
            self._maybe_barge_in()

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
        if self.speaker.speaking and self._barge_in in ("true", "dtmf") and not trailing_hash:
            self._break("dtmf")
        self._enqueue(("dtmf", digit))

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
            self._enqueue(("webhook", name, data))
            return
        if self.ended:
            return
        # The caller is gone: act now, not after the prompt that is playing.
        if self.speaker.speaking:
            self.speaker.interrupt()
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
        if not cfg.enabled or self._barge_in != "true" or self._broke_at is not None:
            return
        if self.endpointer.speech_ms >= cfg.min_speech_ms:
            self._break("speech")

    def _break(self, cause: str) -> None:
        if self.speaker.interrupted:
            # This prompt is broken already: one barge-in is one break, however many keys
            # the caller pressed in one go (issue 12: 33 keys overflowed the outbox).
            return
        self._broke_at = time.monotonic()
        heard = self.speaker.interrupt()
        spoken = self._spoken
        if spoken is not None:
            self._interrupted = (spoken, heard)
            self._spawn(self._record("add_event", "barge_in", {
                "cause": cause, "heard_s": round(heard, 3), "heard": spoken.heard(heard),
                "prompt": spoken.all_text,
            }))
        self.s.metrics.inc("voicebot_barge_ins_total", cause=cause)
        self.log.info("barge-in (%s) after %.2fs of the prompt", cause, heard)

    def _speculate(self, audio: np.ndarray) -> None:
        self._discard_speculation("superseded")
        self._spec = (audio.size, self._transcribe(audio))

    def _discard_speculation(self, outcome: str) -> None:
        if self._spec is not None:
            self._spec[1].cancel()  # the executor run finishes, its result is ignored
            self._spec = None
            self.s.metrics.inc("voicebot_speculative_total", outcome=outcome)

    def _transcribe(self, audio: np.ndarray) -> asyncio.Future[Transcript]:
        expectation = self.engine.expectation(self.state) if self.state is not None else None

        async def run() -> Transcript:
            started = time.monotonic()
            result = await call_plugin(
                self.s.executor, self.s.stt.transcribe, audio, PIPELINE_RATE, expectation
            )
            self.s.metrics.observe("voicebot_stt_seconds", time.monotonic() - started)
            return result

        return self._spawn(run())

    def _utterance(self, event: SpeechEnded) -> None:
        ended_at = time.monotonic()
        self._open_turn = None  # a turn before this one is final, or was joined into it
        if self._spec is not None and self._spec[0] == event.audio.size:
            stt, self._spec = self._spec[1], None
            self.s.metrics.inc("voicebot_speculative_total", outcome="used")
        else:
            self._discard_speculation("stale")
            stt = self._transcribe(event.audio)
        during_prompt = self._speech_during_prompt
        self._speech_during_prompt = False
        if during_prompt and self._barge_in != "true" and self._broke_at is None:
            # The prompt could not be interrupted: what was said over it is not a turn.
            stt.cancel()
            self.endpointer.close_join()
            return
        # The caller's last sample was heard `hangover` before the endpointer said so.
        speech_end = ended_at - (self.s.config.listen.hangover_ms / 1000)
        self._open_turn = OpenTurn()
        self._enqueue(("utterance", event, stt, speech_end, self._open_turn))

    def _join_cut_turn(self) -> None:
        """The caller went on after a cut: undo the turn taken for the first part."""
        turn, self._open_turn = self._open_turn, None
        if turn is None:
            return
        turn.void_it()
        if turn.started:
            self.state, self._interrupted = turn.state_before, turn.interrupted_before
        if self.speaker.speaking:  # the reply to the first part: stop it now
            self._broke_at = time.monotonic()
            self.speaker.interrupt()
        self.s.metrics.inc("voicebot_turns_joined_total")
        self._spawn(self._record("add_event", "turn_joined", {"answered": turn.started}))

    def _commit_turn(self) -> None:
        """The last turn is final: speech from now on is a new turn."""
        self._open_turn = None
        self.endpointer.close_join()

    # ---- the brain: one turn at a time ------------------------------------------------

    def _enqueue(self, item: tuple[Any, ...]) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.s.metrics.inc("voicebot_errors_total", kind="turn_queue_full")
            self.log.warning("turn queue full; dropping %s", item[0])

    async def _run(self, first_actions: list[Any]) -> None:
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
                await self._step(ev.TurnFailed("internal", str(exc)), turn={"error": str(exc)})

    async def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "utterance":
            turn: OpenTurn = item[4]
            if turn.void:  # joined before the brain got to it
                item[2].cancel()
                return
            turn.begin(self.state, self._interrupted)
            await turn.run(self._user_turn(item[1], item[2], item[3]))
            return
        self._commit_turn()
        if kind == "dtmf":
            self._interrupted = None
            # The turn's record has no column for a key: the event keeps it.
            self._spawn(self._record("add_event", "dtmf", {"digit": item[1]}))
            await self._step(ev.Dtmf(item[1]), turn={"dtmf": item[1]})
        elif kind == "no_input":
            await self._step(ev.NoInput(), turn={"no_input": True})
        elif kind == "webhook":
            await self._step(ev.Webhook(item[1], item[2]), turn=None)
        elif kind == "http":
            await self._step(item[1], turn=None)

    async def _user_turn(
        self, utt: SpeechEnded, stt: asyncio.Future[Transcript], speech_end: float
    ) -> None:
        turn: dict[str, Any] = {"speech_ms": utt.speech_ms}
        latencies: dict[str, float] = {}
        turn["latencies"] = latencies
        t0 = time.monotonic()
        try:
            transcript = await asyncio.wait_for(stt, self.s.config.listen.stt_timeout_s)
        except asyncio.CancelledError:
            if self.ended:
                raise
            return
        except Exception as exc:
            kind = "stt_timeout" if isinstance(exc, asyncio.TimeoutError) else "stt"
            self.s.metrics.inc("voicebot_errors_total", kind=kind)
            self.log.warning("STT failed: %r", exc)
            await self._step(ev.TurnFailed(kind, repr(exc)), turn={"error": f"{kind}: {exc!r}"})
            return
        latencies["stt_wait_ms"] = round((time.monotonic() - t0) * 1000, 1)
        text = transcript.text.strip()
        self._spawn(self._record("add_event", "utterance", {
            "onset_s": round(utt.onset, 2), "end_s": round(utt.last_speech, 2), "text": text,
            "confidence": transcript.confidence}))
        turn["transcript"] = text
        t1 = time.monotonic()
        try:
            expectation = self.engine.expectation(self.state)
            nlu = await self._parse(text, expectation)
        except Exception as exc:
            self.s.metrics.inc("voicebot_errors_total", kind="nlu")
            await self._step(ev.TurnFailed("nlu", repr(exc)), turn={**turn, "error": repr(exc)})
            return
        latencies["nlu_ms"] = round((time.monotonic() - t1) * 1000, 2)
        self.s.metrics.observe("voicebot_nlu_seconds", time.monotonic() - t1)
        if self._interrupted is not None and not_a_turn(text, nlu, utt.speech_ms,
                                                         self.s.config.barge_in):
            # "mhm" or a noise over a prompt is not a turn: say the rest of the prompt.
            spoken, heard = self._interrupted
            self._interrupted = None
            rest = spoken.rest(heard)
            await self._record("add_event", "resume", {"after": text, "rest": rest})
            if rest:
                await self._execute([act.Say(rest, self._barge_in)], reply_from=speech_end)
            return
        self._interrupted = None
        if not text:
            # Heard as speech, transcribed as nothing: a noise, or a word lost to STT.
            self.s.metrics.inc("voicebot_turns_total", outcome="empty")
            await self._record("add_event", "empty_utterance", {
                "speech_ms": utt.speech_ms, "audio_s": round(utt.audio.size / PIPELINE_RATE, 2),
                "stt_ms": latencies.get("stt_wait_ms"),
            })
            self._restart_no_input()
            return
        turn.update(intent=nlu.intent, confidence=nlu.confidence, entities=nlu.entities)
        await self._step(ev.UserInput(nlu), turn=turn, reply_from=speech_end)

    async def _step(
        self, event: Any, *, turn: dict[str, Any] | None, reply_from: float | None = None
    ) -> None:
        if self.ended:
            return
        try:
            self.state, actions = self.engine.step(self.state, event)
        except Exception as exc:
            # The engine is pure and validated; if it raises, end the call politely.
            self.log.exception("flow engine failed")
            self.s.metrics.inc("voicebot_errors_total", kind="flow")
            actions = [act.Hangup("flow_error")]
            if turn is not None:
                turn["error"] = f"flow: {exc!r}"
        self.turns += 1
        if turn is not None:
            turn["state"] = getattr(self.state, "state", None)
            turn["slots"] = dict(getattr(self.state, "slots", {}) or {})
            turn["actions"] = [_describe(a) for a in actions]
            self.s.metrics.inc("voicebot_turns_total", outcome="error" if "error" in turn else "ok")
        await self._execute(actions, reply_from=reply_from, turn=turn)
        if turn is not None:
            await self._record("add_turn", turn)

    async def _execute(
        self, actions: list[Any], *, reply_from: float | None, turn: dict[str, Any] | None = None
    ) -> None:
        interrupted = False
        for action in actions:
            if isinstance(action, act.Play | act.Transfer | act.SendDigits | act.Hangup):
                self._commit_turn()  # the caller cannot un-hear it, nor the line undo it
            if isinstance(action, act.Say) and not interrupted:
                interrupted = not await self._say(action, reply_from, turn)
                reply_from = None
            elif isinstance(action, act.Play) and not interrupted:
                await self.outbox.send(media.PlayUrl(action.url))
            elif isinstance(action, act.Transfer):
                handed, note = hand_off(action, self.s.config.targets)
                self._spawn(self._record("add_event", *note))
                await self.outbox.send(handed)
                self.ended = True
                self.outcome = "transfer" if isinstance(handed, media.Transfer) else "error"
            elif isinstance(action, act.HttpCall):  # answered later, as an "http" item
                self._spawn(http_step.run(
                    action, self.s.config.http, self.http_budget,
                    say=lambda text: self._say(act.Say(text), None, None),
                    answer=lambda result: self._enqueue(("http", result))))
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
        if self.ended:
            self._spawn(self._end_call("flow"))
        else:
            self._restart_no_input()

    async def _say(self, action: act.Say, reply_from: float | None, turn: dict | None) -> bool:
        """Speak; False if the caller broke in."""
        self._barge_in = action.barge_in
        self._broke_at = None
        self._speech_during_prompt = self.endpointer.in_speech
        spoken = SpokenText()
        self._spoken = spoken
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
                turn["error"] = f"tts: {exc!r}"
            return True
        finally:
            self._spoken = None
        if spoken.first_audio_at is not None:
            self.s.metrics.observe("voicebot_tts_seconds", spoken.first_audio_at - t0)
        if reply_from is not None and playback.first_chunk_at is not None:
            reply = playback.first_chunk_at - reply_from
            self.s.metrics.observe("voicebot_reply_seconds", reply)
            if turn is not None:
                turn["latencies"]["reply_ms"] = round(reply * 1000, 1)
        if not playback.completed:
            await self._record("add_event", "heard", {
                "prompt": spoken.all_text, "heard": spoken.heard(playback.heard_s),
                "heard_s": round(playback.heard_s, 3),
            })
        return playback.completed

    async def _parse(self, text: str, expectation: Any) -> NLUResult:
        # NLU is fast and pure CPU: called inline unless the plugin is async (e.g. an LLM).
        if asyncio.iscoroutinefunction(self.s.nlu.parse):
            return await self.s.nlu.parse(text, expectation)
        return self.s.nlu.parse(text, expectation)

    # ---- timers and endings ----------------------------------------------------------

    def _restart_no_input(self) -> None:
        self._cancel_no_input()
        timeout = self.engine.no_input_timeout(self.state)
        if timeout is None or self.ended:
            return

        async def wait() -> None:
            await asyncio.sleep(timeout)
            if not self.endpointer.in_speech and not self.ended:
                self._enqueue(("no_input",))

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

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _describe(action: Any) -> dict[str, Any]:
    return {"type": type(action).__name__.lower(), **{
        k: getattr(action, k) for k in getattr(action, "__slots__", ())
    }}
