"""What the headline bench reads off the wire: the two protocols' events, the play-out
queue a break empties, the line's noise level, and how turns are scored. No server, no
clock: the pieces are fed by hand."""

from __future__ import annotations

import base64
import json

import numpy as np

from bench.callers import Line
from bench.media_server import Call, CallLog, Out, RingoverWire, TwilioWire
from bench.scenarios import ms, replies
from voicebot.telephony.g711 import ulaw_decode, ulaw_encode
from voicebot.telephony.rtp import parse_rtp


def test_line_noise_sits_at_its_level_and_is_never_digital_silence() -> None:
    for dbfs in (-65.0, -45.0, -35.0):
        line = Line(dbfs)
        x = np.concatenate([line.next(160) for _ in range(400)])
        level = 20 * np.log10(np.sqrt(np.mean(x**2)) / (32767 / np.sqrt(2)))
        assert abs(level - dbfs) < 1.0
        assert np.count_nonzero(np.round(x[:160])) > 100


def test_ringover_wire_sends_rtp_pcmu_and_reads_stream_audio_and_break() -> None:
    wire = RingoverWire("c1", "101")
    start = json.loads(wire.opening()[0])
    assert start["event"] == "start" and start["from"] == "101"
    pcm = (np.sin(np.arange(160) / 5) * 8000).astype(np.int16)
    first, second = wire.audio(pcm), wire.audio(pcm)
    assert isinstance(first, bytes) and isinstance(second, bytes)
    a, b = parse_rtp(first), parse_rtp(second)
    assert a.payload_type == 0 and a.payload == ulaw_encode(pcm)
    assert b.sequence == (a.sequence + 1) & 0xFFFF and b.timestamp == a.timestamp + 160
    audio = np.arange(800, dtype="<i2")
    event = {"type": "streamAudio", "data": {"audioDataType": "raw", "sampleRate": 8000,
                                             "audioData": base64.b64encode(audio.tobytes())
                                             .decode()}}
    kind, got = wire.parse(json.dumps(event))
    assert kind == "audio" and got is not None and np.array_equal(got, audio)
    assert wire.parse(json.dumps({"event": "break"}))[0] == "break"


def test_twilio_wire_speaks_media_streams() -> None:
    wire = TwilioWire("c2", "102")
    connected, start = (json.loads(m) for m in wire.opening())
    assert connected["event"] == "connected"
    assert start["start"]["customParameters"] == {"caller": "102"}
    pcm = (np.sin(np.arange(160) / 3) * 6000).astype(np.int16)
    media = json.loads(wire.audio(pcm))
    payload = base64.b64decode(media["media"]["payload"])
    assert np.array_equal(ulaw_decode(payload), ulaw_decode(ulaw_encode(pcm)))
    out = {"event": "media", "streamSid": wire.sid,
           "media": {"payload": base64.b64encode(ulaw_encode(pcm)).decode()}}
    kind, got = wire.parse(json.dumps(out))
    assert kind == "audio" and got is not None and got.size == 160
    assert wire.parse(json.dumps({"event": "clear", "streamSid": wire.sid}))[0] == "break"
    assert wire.parse(json.dumps({"event": "mark"}))[0] == "other"


def test_play_out_queue_plays_in_order_and_runs_dry() -> None:
    call = Call(TwilioWire("c3", "103"), Line(-65))
    for chunk in (np.full(100, 1, np.int16), np.full(300, 2, np.int16)):
        call.playout.append(chunk)
        call.queued += chunk.size
    call.playing_since = 1.0
    first = call._play(160)
    assert list(first[:100]) == [1] * 100 and list(first[100:]) == [2] * 60
    assert call.queued == 240 and call.playing_since == 1.0
    call._play(160)
    last = call._play(160)
    assert call.queued == 0 and last[80:].sum() == 0 and call.playing_since is None


def _log(marks: dict[str, float], audio_at: list[float]) -> CallLog:
    return CallLog(out=[Out(t, "audio", 800) for t in audio_at], marks=marks)


def test_turns_are_scored_as_answered_cut_or_unanswered() -> None:
    marks = {"t0.start": 10.0, "t0.end": 12.0, "t1.start": 15.0, "t1.end": 17.0,
             "t2.start": 20.0, "t2.end": 22.0}
    # t0 answered 0.5 s after its last speech sample; t1 answered mid-utterance (a cut);
    # t2 never answered.
    log = _log(marks, [12.5, 12.6, 16.0, 17.4])
    latencies, cuts, missed = replies(log, 3)
    assert latencies == [0.5] and cuts == [1.0] and missed == 1
    assert ms([0.5, 1.0]) == {"n": 2, "p50_ms": 750, "p95_ms": 975}
    assert ms([]) == {"n": 0, "p50_ms": None, "p95_ms": None}
