"""Each media protocol turns its wire into the media seam's events and back
(telephony/media.py); the wire shapes are the platforms' documented ones."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from voicebot.audio.frame import AudioFrame
from voicebot.telephony import media
from voicebot.telephony.audio_stream import AudioStreamProtocol
from voicebot.telephony.g711 import ulaw_encode
from voicebot.telephony.outbound import (
    BreakEvent,
    DigitsEvent,
    PlayEvent,
    StreamAudioEvent,
    TransferEvent,
)
from voicebot.telephony.protocols import MediaParams, make_protocol
from voicebot.telephony.ringover import RingoverProtocol
from voicebot.telephony.twilio import TwilioProtocol, connect_stream_twiml, signature

TONE = (np.sin(np.arange(160) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16)


# ---- Ringover: exactly today's events ----------------------------------------------


def test_ringover_encodes_the_five_streamer_events_byte_for_byte():
    p = RingoverProtocol(output_rate=8000)
    assert p.encode(media.Audio(TONE, 8000)) == [
        StreamAudioEvent.from_bytes(TONE.astype("<i2").tobytes(), 8000).to_json()]
    assert p.encode(media.Clear()) == [BreakEvent().to_json()]
    assert p.encode(media.Transfer("+33123")) == [TransferEvent(data="+33123").to_json()]
    assert p.encode(media.SendDigits("0#")) == [DigitsEvent.for_digits("0#").to_json()]
    assert p.encode(media.PlayUrl("https://x/y.mp3")) == [PlayEvent(file="https://x/y.mp3")
                                                          .to_json()]
    # No hang-up event (closing the socket is the hang-up) and no playout acks.
    assert p.encode(media.Hangup()) == [] and p.encode(media.Mark("a1")) == []
    assert p.epilogue() is None and not p.playout_ack


def test_ringover_wav_chunks_are_whole_wav_files():
    p = RingoverProtocol(output_rate=16000, audio_data_type="wav")
    event = json.loads(p.encode(media.Audio(TONE, 16000))[0])
    raw = base64.b64decode(event["data"]["audioData"])
    assert raw[:4] == b"RIFF" and event["data"]["sampleRate"] == 16000


def test_ringover_decodes_start_dtmf_and_stop():
    p = RingoverProtocol()
    assert p.decode('{"event": "start", "callId": "c1", "from": "+331"}') == [
        media.CallStart("c1", "+331", None)]
    assert p.decode('{"event": "dtmf", "digits": "12"}') == [media.KeyPress("1"),
                                                             media.KeyPress("2")]
    assert p.decode('{"event": "stop", "reason": "hangup"}') == [media.CallStop("hangup")]
    assert p.decode("not json") == []
    assert p.counters["frames_dropped_bad_json"] == 1


def test_unknown_protocol_and_bad_query_are_clear_errors():
    with pytest.raises(ValueError, match="unknown media protocol 'sip'"):
        make_protocol("sip", MediaParams(), {})
    with pytest.raises(ValueError, match="8000 or 16000"):
        make_protocol("audio-stream", MediaParams(), {"sample_rate": "44100"})


# ---- Twilio Media Streams -----------------------------------------------------------


def _twilio_start(**params: str) -> str:
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "accountSid": "AC1", "callSid": "CA1", "tracks": ["inbound"],
        "customParameters": params,
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})


def _twilio_media(pcm: np.ndarray) -> str:
    payload = base64.b64encode(ulaw_encode(pcm)).decode()
    return json.dumps({"event": "media", "streamSid": "MZ1", "media": {
        "track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload}})


def test_twilio_decodes_its_messages():
    p = TwilioProtocol()
    assert p.decode('{"event": "connected", "protocol": "Call", "version": "1.0.0"}') == []
    assert p.decode(_twilio_start(**{"from": "+331", "token": "t"})) == [
        media.CallStart("CA1", "+331", None, {"from": "+331", "token": "t"})]
    # 20 ms of µ-law each; the resampler holds a few samples back until the end.
    frames = p.decode(_twilio_media(TONE)) + p.decode(_twilio_media(TONE)) + p.finish()
    assert len(frames) == 2 and all(isinstance(f, AudioFrame) for f in frames)
    assert p.decode('{"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": "7"}}') \
        == [media.KeyPress("7")]
    assert p.decode('{"event": "mark", "mark": {"name": "a3"}}') == [media.PlayedOut("a3")]
    assert p.decode('{"event": "stop", "stop": {"callSid": "CA1"}}') == [media.CallStop("stop")]


@pytest.mark.parametrize("bad, reason", [
    (b"\x00\x01", "unexpected_binary"),
    ("[1]", "bad_json"),
    ('{"event": "media", "media": {"payload": "***"}}', "bad_payload"),
    ('{"event": "dtmf", "dtmf": {"digit": "x"}}', "invalid_control"),
    ('{"event": "bogus"}', "unknown_event"),
])
def test_twilio_bad_messages_are_counted_not_raised(bad, reason):
    p = TwilioProtocol()
    assert p.decode(bad) == []
    assert p.counters[f"frames_dropped_{reason}"] == 1


def test_twilio_encodes_media_mark_clear_for_its_stream():
    p = TwilioProtocol()
    p.decode(_twilio_start())
    audio = json.loads(p.encode(media.Audio(TONE, 8000))[0])
    assert audio["event"] == "media" and audio["streamSid"] == "MZ1"
    assert base64.b64decode(audio["media"]["payload"]) == ulaw_encode(TONE)
    # Audio at another rate is resampled to Twilio's 8 kHz.
    wide = json.loads(p.encode(media.Audio(np.repeat(TONE, 2), 16000))[0])
    assert len(base64.b64decode(wide["media"]["payload"])) == 160
    assert json.loads(p.encode(media.Mark("a1"))[0]) == {
        "event": "mark", "streamSid": "MZ1", "mark": {"name": "a1"}}
    assert json.loads(p.encode(media.Clear())[0]) == {"event": "clear", "streamSid": "MZ1"}


def test_twilio_actions_without_a_message_become_the_epilogue_twiml():
    p = TwilioProtocol()
    assert p.epilogue() is None
    for command in [media.PlayUrl("https://x/a.mp3?a=1&b=2"), media.SendDigits("12#D"),
                    media.Transfer("+33123")]:
        assert p.encode(command) == []
    assert p.epilogue() == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        "<Play>https://x/a.mp3?a=1&amp;b=2</Play><Play digits=\"12#\"/>"
        "<Dial>+33123</Dial></Response>")
    p2 = TwilioProtocol()
    p2.encode(media.Hangup())
    assert "<Hangup/>" in (p2.epilogue() or "")


def test_twilio_voice_twiml_connects_a_stream_with_parameters():
    twiml = connect_stream_twiml("wss://bot/media/twilio", "https://bot/twilio/stream-ended",
                                 {"from": "+33 1", "to": "", "token": 'a"b'})
    assert '<Connect action="https://bot/twilio/stream-ended">' in twiml
    assert '<Stream url="wss://bot/media/twilio">' in twiml
    stream = ET.fromstring(twiml).find("Connect/Stream")
    assert stream is not None
    # Empty values are left out; quotes survive XML escaping.
    assert {p.get("name"): p.get("value") for p in stream} == {"from": "+33 1", "token": 'a"b'}


def test_twilio_signature_depends_on_token_url_and_every_field():
    base = signature("tok", "https://bot/twilio/voice", {"CallSid": "CA1", "From": "+1"})
    assert base == signature("tok", "https://bot/twilio/voice", {"From": "+1", "CallSid": "CA1"})
    assert base != signature("tok2", "https://bot/twilio/voice", {"CallSid": "CA1", "From": "+1"})
    assert base != signature("tok", "https://bot/twilio/other", {"CallSid": "CA1", "From": "+1"})
    assert base != signature("tok", "https://bot/twilio/voice", {"CallSid": "CA1", "From": "+2"})


# ---- FreeSWITCH mod_audio_stream ----------------------------------------------------


def test_audio_stream_metadata_names_the_call_and_sets_the_rate():
    p = AudioStreamProtocol()
    start = p.decode('{"uuid": "fs-1", "caller": "+331", "sample_rate": 16000}')
    assert start == [media.CallStart("fs-1", "+331", None,
                                     {"uuid": "fs-1", "caller": "+331", "sample_rate": "16000"})]
    # 20 ms at 16 kHz, 16-bit little-endian: one frame.
    frames = p.decode(np.repeat(TONE, 2).astype("<i2").tobytes()) + p.finish()
    assert len(frames) == 1 and isinstance(frames[0], AudioFrame)


def test_audio_stream_plain_text_metadata_is_kept_and_audio_may_come_first():
    p = AudioStreamProtocol()
    assert p.decode("agent=42") == [media.CallStart(extra={"metadata": "agent=42"})]
    q = AudioStreamProtocol()
    assert len(q.decode(TONE.astype("<i2").tobytes() * 4)) >= 3  # 80 ms at 8 kHz
    # Later text is a control message (an event-socket app forwarding a key).
    assert q.decode('{"event": "dtmf", "digit": "5"}') == [media.KeyPress("5")]
    assert q.decode(b"\x00\x01\x02") == []
    assert q.counters["frames_dropped_odd_length"] == 1


def test_audio_stream_speaks_streamaudio_and_asks_the_application_to_hang_up():
    p = AudioStreamProtocol(output_rate=16000)
    event = json.loads(p.encode(media.Audio(TONE, 16000))[0])
    assert event["type"] == "streamAudio"
    assert event["data"]["audioDataType"] == "raw" and event["data"]["sampleRate"] == 16000
    assert json.loads(p.encode(media.Transfer("+33123"))[0]) == {"event": "transfer",
                                                                 "data": "+33123"}
    assert json.loads(p.encode(media.Hangup("flow"))[0]) == {"event": "hangup",
                                                             "reason": "flow"}


# ---- every protocol's path is a media path --------------------------------------------


@pytest.mark.parametrize("path, capped", [
    ("/media", True), ("/media/twilio", True), ("/media/audio-stream", True),
    ("/mediafoo", False), ("/console/live", False),
])
def test_the_call_cap_covers_every_protocol_path(path, capped):
    import asyncio

    from voicebot.metrics import Metrics
    from voicebot.web.limits import CallLimits, Limits

    passed: list[str] = []

    async def app(scope, receive, send):
        passed.append(scope["path"])

    async def receive():
        return {"type": "websocket.connect"}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    limits = CallLimits(app, media_path="/media", limits=Limits(max_calls=0), metrics=Metrics())
    asyncio.run(limits({"type": "websocket", "path": path}, receive, send))
    if capped:
        assert passed == [] and sent[-1]["code"] == 1013
    else:
        assert passed == [path]
