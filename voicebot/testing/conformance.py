"""The plugin conformance kit: what every STT, TTS, NLU and VAD plugin must do.

Each `check_*` loads the plugin, calls it the way the call session does (through
`call_plugin`, so sync methods go to an executor and async ones are awaited), checks the
answers, checks that the loop is never blocked and that a cancelled call leaves the
plugin usable, and returns a small report. A failure is an AssertionError naming the
plugin and what is wrong, so these read well inside pytest:

    from voicebot.testing import check_plugin
    def test_my_tts():
        check_plugin(MyTTS(MyTTS.Options()))
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import numpy as np

from voicebot.plugins.base import Expectation, IntentSpec, NLUResult, SlotSpec, Transcript
from voicebot.plugins.base import call_plugin as _call
from voicebot.testing.audio import frames, silence, speech
from voicebot.testing.loop import assert_cancellable, assert_does_not_block

TTS_TEXT = "Thank you for calling. How can I help you today?"
# Phones are 8 kHz; wideband 16 kHz; anything past 48 kHz is not a voice plugin.
PLAUSIBLE_RATES = range(8000, 48001)


def _label(plugin: Any) -> str:
    name = getattr(plugin, "name", type(plugin).__name__)
    return f"{getattr(plugin, 'kind', '?')} plugin {name!r}"


def _check_shape(plugin: Any, kind: str, method: str) -> None:
    label = _label(plugin)
    assert getattr(plugin, "kind", None) == kind, f"{label}: kind must be {kind!r}"
    assert isinstance(getattr(plugin, "name", None), str), f"{label}: name must be a str"
    assert callable(getattr(plugin, "load", None)), f"{label}: load() is missing"
    assert callable(getattr(plugin, method, None)), f"{label}: {method}() is missing"


def _with_executor(body: Any, executor: Executor | None) -> Any:
    own = executor is None
    pool = executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="conformance")
    try:
        return asyncio.run(body(pool))
    finally:
        if own:
            pool.shutdown(wait=True)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def check_stt(plugin: Any, executor: Executor | None = None) -> dict[str, Any]:
    """Speech gives a transcript with some of the spoken words; silence gives (nearly) none."""
    _check_shape(plugin, "stt", "transcribe")
    label = _label(plugin)
    plugin.load()
    pcm, said = speech(16000)
    quiet = silence(16000, 1.5)

    async def body(pool: Executor) -> dict[str, Any]:
        report = await assert_does_not_block(label, pool, plugin.transcribe, pcm, 16000,
                                             Expectation())
        heard = report.result
        assert isinstance(heard, Transcript), f"{label}: transcribe() returned {heard!r}"
        overlap = _words(heard.text) & _words(said)
        assert overlap, f"{label}: heard {heard.text!r} for speech saying {said!r}"
        nothing = await _call(pool, plugin.transcribe, quiet, 16000, Expectation())
        assert isinstance(nothing, Transcript), f"{label}: transcribe() returned {nothing!r}"
        assert len(_words(nothing.text)) <= 2, f"{label}: heard {nothing.text!r} in silence"
        await assert_cancellable(label, pool, plugin.transcribe, pcm, 16000, Expectation())
        again = await _call(pool, plugin.transcribe, pcm, 16000, Expectation())
        assert _words(again.text) & _words(said), f"{label}: broken after a cancelled call"
        return {"transcript": heard.text, "silence": nothing.text, "max_lag": report.max_lag,
                "seconds": report.seconds}

    result: dict[str, Any] = _with_executor(body, executor)
    return result


def check_tts(plugin: Any, executor: Executor | None = None) -> dict[str, Any]:
    """PCM16 mono at the declared rate, audible, and about as long as the text takes to say."""
    _check_shape(plugin, "tts", "synthesize")
    label = _label(plugin)
    plugin.load()
    rate = getattr(plugin, "sample_rate", None)
    assert isinstance(rate, int) and rate in PLAUSIBLE_RATES, (
        f"{label}: sample_rate must be an int in 8000..48000 once loaded, got {rate!r}"
    )

    async def body(pool: Executor) -> dict[str, Any]:
        report = await assert_does_not_block(label, pool, plugin.synthesize, TTS_TEXT)
        pcm = report.result
        assert isinstance(pcm, np.ndarray), f"{label}: synthesize() returned {type(pcm)}"
        assert pcm.dtype == np.int16, f"{label}: samples are {pcm.dtype}, not int16"
        assert pcm.ndim == 1, f"{label}: audio must be mono (1-D), got shape {pcm.shape}"
        seconds = len(pcm) / rate
        words = len(TTS_TEXT.split())
        # 10 words: between 1 s (very fast) and 10 s (very slow plus padding).
        assert 0.1 * words <= seconds <= 1.0 * words, (
            f"{label}: {seconds:.2f} s of audio for {words} words at {rate} Hz "
            "(a wrong declared sample_rate shows up here)"
        )
        rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
        assert rms > 100, f"{label}: the audio is (nearly) silent, RMS {rms:.0f}"
        await assert_cancellable(label, pool, plugin.synthesize, TTS_TEXT)
        again = await _call(pool, plugin.synthesize, "Goodbye.")
        assert isinstance(again, np.ndarray) and len(again) > 0, (
            f"{label}: broken after a cancelled call"
        )
        return {"sample_rate": rate, "seconds": seconds, "rms": rms, "max_lag": report.max_lag}

    result: dict[str, Any] = _with_executor(body, executor)
    return result


def check_vad(plugin: Any, executor: Executor | None = None) -> dict[str, Any]:
    """Silence scores low on every frame; speech scores high on some frames."""
    _check_shape(plugin, "vad", "speech_probability")
    label = _label(plugin)
    plugin.load()
    rate, size = getattr(plugin, "sample_rate", None), getattr(plugin, "frame_samples", None)
    assert isinstance(rate, int) and isinstance(size, int) and size > 0, (
        f"{label}: sample_rate and frame_samples must be ints, got {rate!r}, {size!r}"
    )
    pcm, _ = speech(rate)
    speech_frames = frames(pcm, size)
    zeros = frames(silence(rate, 1.0), size)
    hiss = frames(silence(rate, 1.5, 30.0), size)
    # Detectors adapt to a line's noise floor (webrtcvad takes ~100 ms): judge hiss after it.
    settle = int(0.2 * rate) // size

    async def body(pool: Executor) -> dict[str, Any]:
        async def score(chunks: list[np.ndarray]) -> list[float]:
            plugin.reset()
            out = []
            for chunk in chunks:
                p = await _call(pool, plugin.speech_probability, chunk)
                assert 0.0 <= float(p) <= 1.0, f"{label}: probability {p!r} is not in 0..1"
                out.append(float(p))
            return out

        report = await assert_does_not_block(label, pool, score, speech_frames)
        speech_scores = report.result
        zero_scores = await score(zeros)
        hiss_scores = (await score(hiss))[settle:]
        loud = sum(p >= 0.5 for p in speech_scores) / len(speech_scores)
        assert loud >= 0.2, f"{label}: only {loud:.0%} of speech frames scored >= 0.5"
        assert max(zero_scores) < 0.5, (
            f"{label}: digital silence scored {max(zero_scores):.2f} on some frame"
        )
        false_alarms = sum(p >= 0.5 for p in hiss_scores) / len(hiss_scores)
        assert false_alarms <= 0.05, (
            f"{label}: {false_alarms:.0%} of faint line-noise frames scored as speech"
        )
        quiet_scores = zero_scores + hiss_scores
        await assert_cancellable(label, pool, plugin.speech_probability, speech_frames[0])
        plugin.reset()
        return {"speech_frames_high": loud, "silence_max": max(quiet_scores),
                "max_lag": report.max_lag}

    result: dict[str, Any] = _with_executor(body, executor)
    return result


NLU_EXPECTATION = Expectation(intents=[
    IntentSpec("agent", ["I want to talk to an agent", "speak to a person"]),
    IntentSpec("billing", ["I have a question about my bill", "billing"]),
    IntentSpec("opening_hours", ["when are you open", "what are your opening hours"]),
])


def check_nlu(
    plugin: Any, executor: Executor | None = None,
    cases: list[tuple[str, Expectation, str | None]] | None = None,
) -> dict[str, Any]:
    """Offered intents only; an example gives its intent; empty text gives none; slots fill.

    `cases` (utterance, expectation, intent or None) replaces the default examples for a
    plugin that answers from its own table rather than the flow's examples.
    """
    _check_shape(plugin, "nlu", "parse")
    label = _label(plugin)
    plugin.load()
    exp = NLU_EXPECTATION
    cases = cases if cases is not None else [
        ("I want to talk to an agent", exp, "agent"),
        ("What are your opening hours?", exp, "opening_hours"),
        ("", exp, None),
    ]
    yes_no = Expectation(intents=exp.intents, slot=SlotSpec("confirmed", "yes_no"))

    async def body(pool: Executor) -> dict[str, Any]:
        report = await assert_does_not_block(label, pool, plugin.parse, cases[0][0], cases[0][1])
        for text, expectation, intent in cases:
            result = await _call(pool, plugin.parse, text, expectation)
            _check_result(label, text, expectation, result)
            assert result.intent == intent, (
                f"{label}: {text!r} gave intent {result.intent!r}, expected {intent!r}"
            )
        filled = await _call(pool, plugin.parse, "yes", yes_no)
        _check_result(label, "yes", yes_no, filled)
        assert filled.entities.get("confirmed") is True or filled.entities.get("yes_no") is True, (
            f"{label}: 'yes' in a yes/no state gave entities {filled.entities!r}"
        )
        await assert_cancellable(label, pool, plugin.parse, cases[0][0], cases[0][1])
        again = await _call(pool, plugin.parse, cases[0][0], cases[0][1])
        assert again.intent == cases[0][2], f"{label}: broken after a cancelled call"
        return {"max_lag": report.max_lag, "seconds": report.seconds}

    result: dict[str, Any] = _with_executor(body, executor)
    return result


def _check_result(label: str, text: str, expectation: Expectation, result: Any) -> None:
    assert isinstance(result, NLUResult), f"{label}: parse() returned {result!r}"
    offered = {i.name for i in expectation.intents}
    assert result.intent is None or result.intent in offered, (
        f"{label}: {text!r} gave intent {result.intent!r}, which the state did not offer"
    )
    assert 0.0 <= result.confidence <= 1.0, f"{label}: confidence {result.confidence} not 0..1"
    assert isinstance(result.entities, dict), f"{label}: entities must be a dict"


CHECKS = {"stt": check_stt, "tts": check_tts, "nlu": check_nlu, "vad": check_vad}


def check_plugin(plugin: Any, executor: Executor | None = None) -> dict[str, Any]:
    """Run the check for the plugin's kind."""
    kind = getattr(plugin, "kind", None)
    assert kind in CHECKS, f"{plugin!r}: unknown plugin kind {kind!r}"
    return CHECKS[kind](plugin, executor)
