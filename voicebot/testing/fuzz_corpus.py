"""Seed inputs and mutators shared by the fuzz tests, bench/fuzz.py and bench/soak.py.

Random bytes almost never get past an RTP version check or a JSON parser, so most of
the generated inputs start from valid frames (PCMU/PCMA/L16/dynamic RTP with CSRCs,
extensions and padding, RFC 4733 key presses, raw audio, every spelling of the control
messages, Ringover webhook envelopes) and are then damaged: bytes flipped, cut short,
extended, spliced, header fields set to edge values. That reaches the code paths a
hostile or buggy media server would reach.
"""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np

from voicebot.telephony.dtmf import build_telephone_event
from voicebot.telephony.g711 import alaw_encode, ulaw_encode
from voicebot.telephony.rtp import RtpPacket

_TONE = (np.sin(np.arange(480) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16)


def rtp_seeds() -> list[bytes]:
    """Valid binary frames a media server may send."""
    pcm = _TONE[:160]
    seeds = [
        RtpPacket(0, 1000, 160_000, 0x1234, ulaw_encode(pcm)).to_bytes(),
        RtpPacket(0, 65535, 2**32 - 160, 0x1234, ulaw_encode(pcm), marker=True).to_bytes(),
        RtpPacket(8, 7, 0, 0xCAFE, alaw_encode(pcm)).to_bytes(),
        RtpPacket(96, 9, 320, 0xBEEF, _TONE[:320].astype(">i2").tobytes()).to_bytes(),
        RtpPacket(11, 3, 0, 1, _TONE[:441].astype(">i2").tobytes()).to_bytes(),
        RtpPacket(0, 5, 800, 0x1234, ulaw_encode(pcm), csrcs=(1, 2, 3)).to_bytes(),
        RtpPacket(0, 6, 960, 0x1234, ulaw_encode(pcm),
                  extension=(0xBEDE, b"\x10\xff\x00\x00")).to_bytes(),
        RtpPacket(0, 8, 1120, 0x1234, ulaw_encode(pcm), padding=True).to_bytes(4),
        RtpPacket(101, 10, 1280, 0x1234, build_telephone_event(5, False, 10, 160),
                  marker=True).to_bytes(),
        RtpPacket(101, 11, 1280, 0x1234, build_telephone_event(5, True, 10, 800)).to_bytes(),
        ulaw_encode(pcm),
        _TONE[:320].astype("<i2").tobytes(),
        bytes(160),
        b"\xff" * 160,
    ]
    return seeds


def control_seeds() -> list[dict[str, Any]]:
    """Valid control messages, in the spellings docs/protocol.md accepts."""
    return [
        {"event": "start", "call_id": "abc", "from": "+33100000000", "to": "+33200000000",
         "encoding": "pcmu", "sample_rate": 8000},
        {"event": "start", "start": {"callId": 123, "mediaFormat": {
            "encoding": "audio/x-mulaw", "sampleRate": 8000, "payloadType": 96}}},
        {"type": "start", "call_uuid": "u", "codec": "slin16", "rate": 16000,
         "dtmf_payload_type": 101},
        {"event": "stop", "reason": "hangup"},
        {"event": "dtmf", "digit": "5"},
        {"event": "dtmf", "dtmf": {"digit": "#"}},
        {"event": "DTMF", "digits": 1234},
    ]


def webhook_seeds() -> list[dict[str, Any]]:
    """Ringover call webhooks: the envelope form and the flat alias form."""
    data = {"id": "cdr-1", "call_id": "9058220947198958001", "direction": "inbound",
            "from_number": 33600000000, "to_number": "33184800000"}
    return [
        {"resource": "call", "event": "ringing", "timestamp": 1700000000.5, "attempt": 1,
         "data": data},
        {"resource": "call", "event": "hangup", "timestamp": 1700000001, "attempt": 2,
         "data": {**data, "duration_in_seconds": 12, "reason": "caller"}},
        {"event": "call_ended", "call_id": 9058220947198958001, "from_number": "+33600000000"},
        {"resource": "aftercall", "event": "aftercall", "data": {"call_id": "1", "tags": []}},
    ]


# ---- mutation ------------------------------------------------------------------------

EDGE_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xBF, 0xC0, 0xFF)


def mutate_bytes(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    """One to four random damages to a frame."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        if op == 0 and buf:  # flip bits
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # an edge value anywhere, mostly in the 12-byte header
            i = rng.randrange(min(len(buf), 16) if rng.random() < 0.7 else len(buf))
            buf[i] = rng.choice(EDGE_BYTES)
        elif op == 2:  # truncate
            del buf[rng.randrange(len(buf) + 1):]
        elif op == 3:  # extend with noise
            buf += rng.randbytes(rng.choice((1, 2, 3, 4, 12, 160, 1000)))
        elif op == 4 and buf:  # delete a run
            i = rng.randrange(len(buf))
            del buf[i : i + rng.randint(1, 8)]
        elif op == 5 and buf:  # header byte 0: version/padding/extension/CSRC count
            buf[0] = rng.randrange(256)
        elif op == 6 and len(buf) > 1:  # byte 1: marker + payload type
            buf[1] = rng.randrange(256)
        elif op == 7:  # splice with another frame
            other = rng.choice(corpus)
            cut = rng.randrange(len(buf) + 1)
            buf = buf[:cut] + other[rng.randrange(len(other) + 1):]
        elif op == 8 and len(buf) > 3:  # last byte: padding count
            buf[-1] = rng.randrange(256)
    return bytes(buf)


_JSON_EDGES: list[Any] = [
    None, True, False, 0, -1, 2**31, 2**64, 1e308, -0.0, float("nan"), "", "x" * 300,
    "\u0000", "\ud800", "é", [], {}, [1, [2, [3]]], {"a": {"b": {}}}, "8000", 7, 96, 127,
    "pcmu", "opus", "*#", "12a", "ABCD",
]


def mutate_json(rng: random.Random, obj: Any, depth: int = 0) -> Any:
    """Replace, drop or add fields of a JSON value, recursively."""
    if isinstance(obj, dict) and obj and depth < 4:
        out = dict(obj)
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(list(out)) if out else "event"
            op = rng.randrange(5)
            if op == 0:
                out.pop(key, None)
            elif op == 1:
                out[key] = rng.choice(_JSON_EDGES)
            elif op == 2:
                out[key] = mutate_json(rng, out.get(key), depth + 1)
            elif op == 3:
                out[rng.choice(("event", "type", "data", "start", "mediaFormat", "dtmf",
                                "digits", "x"))] = rng.choice(_JSON_EDGES)
            else:
                out[key.upper() if rng.random() < 0.5 else key + "_"] = out.pop(key, None)
        return out
    if isinstance(obj, list) and obj:
        return [mutate_json(rng, x, depth + 1) for x in obj]
    return rng.choice(_JSON_EDGES)


def mutate_text(rng: random.Random, text: str) -> str:
    """Damage serialised JSON: cuts, stray characters, nesting."""
    op = rng.randrange(5)
    if op == 0:
        return text[: rng.randrange(len(text) + 1)]
    if op == 1 and text:
        i = rng.randrange(len(text))
        return text[:i] + rng.choice('{}[]",:\\\x00é\ud800 ') + text[i + 1 :]
    if op == 2:
        depth = rng.choice((10, 100, 1500))
        return "[" * depth + text + "]" * depth
    if op == 3:
        return text + rng.choice(("", "}", ",", " 1", text))
    return text.replace('"', "'", 1)


def control_text(rng: random.Random, seeds: list[dict[str, Any]]) -> str:
    obj = mutate_json(rng, rng.choice(seeds)) if rng.random() < 0.8 else rng.choice(seeds)
    text = json.dumps(obj)  # NaN and Infinity included: json.loads accepts them too
    return mutate_text(rng, text) if rng.random() < 0.3 else text
