"""The calls bench/headline.py places to each bot, and what it reads off the wire.

Every figure is timed on the simulated media server's clock (bench/media_server.py):
- reply latency: from the send time of the packet that carries the caller's last speech
  sample to the arrival of the bot's first audio event after it (`streamAudio` for
  voicebot, `media` for pipecat), for a reply that came before the caller spoke again;
- a cut-off: the bot's first audio arrives before the caller's last speech sample of a
  long answer (it answered someone who had only paused);
- barge-in: from the first sample of speech that talks over a prompt to the `break`
  (`clear`) event, and how much bot audio the media server still had queued then.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.callers import Line, Turn, long_turns, voice_turns
from bench.media_server import Call, CallLog, RingoverWire, TwilioWire, Wire
from bench.pipecat_bot.venv import running_pipecat
from bench.server_stats import proc_sample
from voicebot.testing.server import running_server

FLOWS = Path(__file__).parent / "flows"
VOICEBOT_FLOWS = {"cached": FLOWS / "turns.yaml", "fresh": FLOWS / "fresh_turns.yaml",
                  "long": FLOWS / "long_prompts.yaml"}
BOTS = ("voicebot", "pipecat")
GREETING_TIMEOUT = 60.0  # pipecat loads its models when a call connects


@dataclass
class Bot:
    name: str
    url: str
    pid: int
    wire: Callable[[str, str], Wire]


@contextlib.contextmanager
def serving(bot: str, reply: str, **overrides: Any) -> Iterator[Bot]:
    """A fresh server of `bot` whose every turn is answered with `reply` words
    (`overrides`: voicebot config sections, e.g. listen={...}, for bench/end_of_turn.py)."""
    if bot == "voicebot":
        with running_server(VOICEBOT_FLOWS[reply], **overrides) as srv:
            yield Bot(bot, srv["url"], srv["process"].pid, RingoverWire)
    else:
        with running_pipecat(reply) as srv:
            yield Bot(bot, srv["url"], srv["process"].pid, TwilioWire)


def ms(values: list[float]) -> dict[str, Any]:
    """p50/p95 in whole milliseconds of latencies in seconds, and how many."""
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None}
    arr = np.asarray(values) * 1000
    return {"n": len(values), "p50_ms": round(float(np.percentile(arr, 50))),
            "p95_ms": round(float(np.percentile(arr, 95)))}


def place_call(bot: Bot, call_no: int, line_dbfs: float, script: Any, timeout: float,
               echo_db: float | None = None) -> CallLog:
    wire = bot.wire(f"bench{call_no:04d}", f"{100 + call_no}")
    call = Call(wire, Line(line_dbfs, seed=call_no), echo_db)
    return asyncio.run(call.run(bot.url, script, timeout))


def talk(turns: list[Turn], gap: float = 0.4, greeting: bool = True) -> Any:
    """A caller who waits for the greeting, then says each turn and waits for the reply."""
    async def script(call: Call) -> None:
        if greeting:
            await call.wait_reply(timeout=GREETING_TIMEOUT)
        for i, turn in enumerate(turns):
            await call.pause(gap)
            await call.say(turn, f"t{i}")
            # A caller gives up on a bot silent for 30 s: that turn counts as unanswered.
            await call.wait_reply(timeout=30.0)
    return script


def replies(log: CallLog, n: int) -> tuple[list[float], list[float], int]:
    """(latency of each answered turn, time from a cut turn's start to the bot's early
    answer, turns never answered)."""
    latencies, cuts, missed = [], [], 0
    for i in range(n):
        start, end = log.marks.get(f"t{i}.start"), log.marks.get(f"t{i}.end")
        if start is None or end is None:
            missed += 1
            continue
        nxt = log.marks.get(f"t{i + 1}.start", float("inf"))
        early = log.audio_between(start, end)
        if early:
            cuts.append(early[0].at - start)
            continue
        after = log.audio_between(end, nxt)
        if after:
            latencies.append(after[0].at - end)
        else:
            missed += 1
    return latencies, cuts, missed


def reply_latency(bot: Bot, turns: list[Turn], line_dbfs: float) -> dict[str, Any]:
    # CPU is read from the greeting on: a call's set-up (pipecat loads its models per
    # call) is not talking.
    cpu: dict[str, tuple[float, float]] = {}

    async def script(call: Call) -> None:
        await call.wait_reply(timeout=GREETING_TIMEOUT)
        cpu["from"] = (proc_sample(bot.pid).cpu_s, time.monotonic())
        await talk(turns, greeting=False)(call)
        cpu["to"] = (proc_sample(bot.pid).cpu_s, time.monotonic())

    log = place_call(bot, 1, line_dbfs, script, timeout=35 * len(turns) + 60)
    (c0, t0), (c1, t1) = cpu.get("from", (0.0, 0.0)), cpu.get("to", (0.0, 0.0))
    cpu_per_s = (c1 - c0) / (t1 - t0) if t1 > t0 else None
    latencies, cuts, missed = replies(log, len(turns))
    out = {**ms(latencies), "missed": missed, "cut": len(cuts),
           "cpu_s_per_s": None if cpu_per_s is None else round(cpu_per_s, 3), "by_voice": {}}
    for voice in sorted({t.voice for t in turns}):
        idx = [i for i, t in enumerate(turns) if t.voice == voice]
        lat = [x for i in idx for x in _turn_latency(log, i, len(turns))]
        out["by_voice"][voice] = ms(lat)
    return out


def _turn_latency(log: CallLog, i: int, n: int) -> list[float]:
    start, end = log.marks.get(f"t{i}.start"), log.marks.get(f"t{i}.end")
    if start is None or end is None or log.audio_between(start, end):
        return []
    after = log.audio_between(end, log.marks.get(f"t{i + 1}.start", float("inf")))
    return [after[0].at - end] if after else []


def cutoffs(bot: Bot, n: int) -> dict[str, Any]:
    """A long answer is cut off when the bot answered a part of it: its reply began
    before the caller's last speech sample, or it replied twice (to the part, then to the
    rest: on a slow bot both answers may come after the caller finished), told by two
    reply onsets or by twice the audio of the call's shortest single reply."""
    turns = long_turns(n)
    log = place_call(bot, 2, -65, talk(turns, gap=0.6), timeout=35 * n + 60)
    windows = []
    for i in range(n):
        start, end = log.marks.get(f"t{i}.start"), log.marks.get(f"t{i}.end")
        if start is None or end is None:
            continue
        nxt = log.marks.get(f"t{i + 1}.start", float("inf"))
        onsets = log.onsets_between(start, nxt)
        audio_s = sum(o.samples for o in log.audio_between(start, nxt)) / 8000
        windows.append((i, (start, end, onsets, audio_s)))
    singles = [a for _, (s, e, o, a) in windows if len(o) == 1 and o[0].at > e and a > 0]
    one_reply = min(singles) if singles else None
    early = twice = answered = 0
    latencies = []
    by_voice: dict[str, dict[str, int]] = {}
    cut_turns: list[int] = []  # which answers were cut (long_turns(n)[i])
    for i, (_start, end, onsets, audio_s) in windows:
        voice = turns[i].voice
        if not onsets:
            continue
        answered += 1
        tally = by_voice.setdefault(voice, {"n": 0, "cut": 0})
        tally["n"] += 1
        if onsets[0].at <= end:
            early += 1
        elif len(onsets) >= 2 or (one_reply and audio_s >= 1.6 * one_reply):
            twice += 1
        else:
            latencies.append(onsets[0].at - end)
            continue
        tally["cut"] += 1
        cut_turns.append(i)
    cut = early + twice
    return {"n": answered, "cut": cut, "early": early, "twice": twice,
            "rate": round(cut / answered, 3) if answered else None,
            "missed": n - answered, "reply": ms(latencies), "by_voice": by_voice,
            "cut_turns": cut_turns}


def concurrent(bot: Bot, calls: int, turns_each: int,
               latencies_out: list[float] | None = None) -> dict[str, Any]:
    """`calls` callers at once (Piper voice), every reply new words. Calls connect one
    after another, each once the one before was greeted (a ramp: stock pipecat builds a
    call's models on its event loop as the call connects, and a burst of 8 calls made its
    first pipelines time out in set-up); once every call has been greeted, all talk at
    once. So what is timed is talking calls; each call's set-up (connect -> greeting
    audio) is reported on its own. `latencies_out` gets every reply latency (s), for
    benches that pool runs (bench/load8_ab.py)."""
    turns = voice_turns(turns_each, voices=("piper",))
    greeted = [asyncio.Event() for _ in range(calls)]
    all_greeted = asyncio.Event()
    setup_timeout = 60.0

    async def one(k: int) -> CallLog:
        async def script(call: Call) -> None:
            await call.wait_reply(timeout=setup_timeout)
            greeted[k].set()
            if all(g.is_set() for g in greeted):
                all_greeted.set()
            await asyncio.wait_for(all_greeted.wait(), setup_timeout * calls)
            await talk(turns, greeting=False)(call)

        if k:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(greeted[k - 1].wait(), setup_timeout * k)
        wire = bot.wire(f"load{k:04d}", f"{200 + k}")
        try:
            return await Call(wire, Line(-65, seed=100 + k), open_timeout=setup_timeout).run(
                bot.url, script, timeout=setup_timeout * calls + 30 * turns_each + 60)
        finally:
            greeted[k].set()  # a call that failed must not hold up the ramp
            if all(g.is_set() for g in greeted):
                all_greeted.set()

    async def all_calls() -> list[CallLog | BaseException]:
        return list(await asyncio.gather(*(one(k) for k in range(calls)),
                                         return_exceptions=True))

    latencies: list[float] = []
    setups: list[float] = []
    missed = cut = failed = 0
    logs = asyncio.run(all_calls())
    for log in logs:
        if isinstance(log, BaseException):
            failed += 1  # the call never connected: all its turns go unanswered
            missed += len(turns)
            continue
        first = [o.at for o in log.out if o.kind == "audio"]
        if first and "connected" in log.marks:
            setups.append(first[0] - log.marks["connected"])
        lat, cuts, miss = replies(log, len(turns))
        latencies += lat
        missed += miss
        cut += len(cuts)
    if latencies_out is not None:
        latencies_out += latencies
    return {**ms(latencies), "calls": calls, "failed_calls": failed, "missed": missed,
            "cut": cut, "setup": ms(setups),
            "underruns": underruns([log for log in logs if isinstance(log, CallLog)])}


def underruns(logs: list[CallLog]) -> dict[str, Any]:
    """Holes in the bot's speech as the media server played it: how many, their total
    length, and the bot audio played, so a shorter lead that starves the far end shows."""
    holes = [o.queued for log in logs for o in log.underruns()]
    return {"n": len(holes), "total_ms": round(sum(holes) * 1000),
            "played_s": round(sum(log.played_s() for log in logs), 1)}


def barge_in(bot: Bot, turns: list[Turn]) -> dict[str, Any]:
    """Talk over each long prompt 1.2 s into it."""
    async def script(call: Call) -> None:
        for i, turn in enumerate(turns):
            # The first prompt talked over is the greeting.
            if not await call.wait_playing(1.2, timeout=GREETING_TIMEOUT if i == 0 else 20):
                continue
            await call.say(turn, f"t{i}")
            await call.pause(0.3)
    log = place_call(bot, 3, -65, script, timeout=25 * len(turns) + 60)
    breaks, leads, heard, no_prompt, no_break = [], [], [], 0, 0
    for i in range(len(turns)):
        onset, end = log.marks.get(f"t{i}.start"), log.marks.get(f"t{i}.end")
        if onset is None or end is None:
            no_prompt += 1  # the bot was not talking (it had not answered the last turn)
            continue
        got = log.breaks_between(onset, end + 1.5)
        if not got:
            no_break += 1
            continue
        breaks.append(got[0].at - onset)
        leads.append(got[0].queued)
        heard.append(got[0].at - onset + got[0].queued)
    return {"break": ms(breaks), "lead": ms(leads), "heard_until": ms(heard),
            "no_break": no_break, "no_prompt": no_prompt, "underruns": underruns([log])}


def echo(bot: Bot, turns: list[Turn], echo_db: float = -12.0) -> dict[str, Any]:
    """The bot's own voice comes back at `echo_db` while the caller stays silent through
    each long prompt: every break then is a false one."""
    async def script(call: Call) -> None:
        await call.wait_reply(timeout=GREETING_TIMEOUT)
        for i, turn in enumerate(turns):
            await call.pause(0.4)
            await call.say(turn, f"t{i}")
            await call.wait_reply(quiet=1.0, timeout=20)
    log = place_call(bot, 4, -65, script, timeout=40 * len(turns) + 60, echo_db=echo_db)
    false = prompts = 0
    for i in range(len(turns)):
        end = log.marks.get(f"t{i}.end")
        if end is None:
            continue
        nxt = log.marks.get(f"t{i + 1}.start", float("inf"))
        if log.audio_between(end, nxt):
            prompts += 1
        false += len(log.breaks_between(end + 0.2, nxt))
    return {"prompts": prompts, "false_breaks": false, "echo_db": echo_db,
            "underruns": underruns([log])}
