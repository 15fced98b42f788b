"""A million hostile inputs through what faces the network: the inbound frame decoder,
the JSON control messages, and the Ringover webhook endpoint.

Inputs come from a fast hand-rolled mutator (voicebot/testing/fuzz_corpus.py): valid RTP packets,
raw audio, control messages and signed webhook envelopes, damaged by bit flips, edge
values, truncation, extension, splicing and field swaps, plus pure random bytes. No
input may raise out of the code under test (the decoder, `parse_control` beyond its own
ControlError), and the endpoint must answer 2xx/4xx (never 500). Each failure kind is
counted once by exception type and place, with its first input, and printed at the end.

    .venv/bin/python -m bench.fuzz [--inputs 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from fastapi import FastAPI

from voicebot.call.registry import CallRegistry
from voicebot.store.records import CallStore
from voicebot.telephony.control import ControlError, parse_control
from voicebot.telephony.inbound import InboundDecoder
from voicebot.telephony.webhooks import (
    SignatureError,
    WebhookFormatError,
    parse_webhook,
    verify_signature,
)
from voicebot.testing.fuzz_corpus import (
    control_seeds,
    control_text,
    mutate_bytes,
    mutate_json,
    mutate_text,
    rtp_seeds,
    webhook_seeds,
)
from voicebot.web.webhooks_routes import make_webhook_router

KEY = "bench-fuzz-key-0123456789abcdef0123456789abcdef0123456789abcdef0123"
PATH = "/webhooks/ringover"
# Share of the inputs per target; the endpoint is slow (a full ASGI request and a
# SQLite write each), so it gets fewer, and the pure webhook functions take the rest.
SHARES = {"inbound": 0.55, "control": 0.30, "webhook_parse": 0.12, "webhook_endpoint": 0.03}


@dataclass
class Failures:
    kinds: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)

    def add(self, target: str, exc: BaseException | str, example: Any) -> None:
        if isinstance(exc, BaseException):
            # Name the place in voicebot that let it through, not the library that raised.
            frames = traceback.extract_tb(exc.__traceback__)
            ours = [f for f in frames if "/voicebot/" in f.filename] or frames
            frame = ours[-1]
            where = f"{type(exc).__name__} at {os.path.relpath(frame.filename)}:{frame.lineno}"
        else:
            where = exc
        count, first = self.kinds.get((target, where), (0, repr(example)[:160]))
        self.kinds[(target, where)] = (count + 1, first)

    def total(self, target: str) -> int:
        return sum(c for (t, _), (c, _f) in self.kinds.items() if t == target)


def run_inbound(n: int, rng: random.Random, failures: Failures) -> None:
    seeds = rtp_seeds()
    done = 0
    while done < n:
        # A call's worth of frames per decoder, so jitter buffer and framing state matter.
        decoder = InboundDecoder(
            default_encoding=rng.choice(("pcmu", "pcma", "l16", "l16le", "l16be")),
            default_rate=rng.choice((8000, 16000, 24000)),
            framing=rng.choice(("auto", "auto", "rtp", "raw")),
        )
        base = rng.choice(seeds)
        for i in range(min(rng.randint(1, 60), n - done)):
            r = rng.random()
            if r < 0.05:
                frame = rng.randbytes(rng.randrange(200))
            elif r < 0.5 and len(base) >= 12:
                # The stream advancing (sequence, timestamp) with every other packet damaged.
                seq, ts = (1000 + i) & 0xFFFF, (160 * i) & 0xFFFFFFFF
                frame = base[:2] + seq.to_bytes(2, "big") + ts.to_bytes(4, "big") + base[8:]
                if rng.random() < 0.5:
                    frame = mutate_bytes(rng, frame, seeds)
            else:
                frame = mutate_bytes(rng, rng.choice(seeds), seeds)
            try:
                decoder.feed_binary(frame)
            except Exception as exc:  # noqa: BLE001 - a failure is what we are here to count
                failures.add("inbound", exc, frame)
            done += 1
        try:
            decoder.finish()
        except Exception as exc:  # noqa: BLE001
            failures.add("inbound", exc, "finish()")


def run_control(n: int, rng: random.Random, failures: Failures) -> None:
    seeds = control_seeds()
    for _ in range(n):
        text = control_text(rng, seeds) if rng.random() < 0.95 else rng.randbytes(
            rng.randrange(64)).decode("latin-1")
        try:
            parse_control(text)
        except ControlError:
            pass
        except Exception as exc:  # noqa: BLE001
            failures.add("control", exc, text)


def _webhook_input(rng: random.Random) -> tuple[bytes, Any, str | None]:
    """(raw body, the JSON value or None, a signature header or None)."""
    obj: Any = rng.choice(webhook_seeds())
    if rng.random() < 0.9:
        obj = mutate_json(rng, obj)
    text = json.dumps(obj)
    if rng.random() < 0.15:
        text = mutate_text(rng, text)
        obj = None
    raw = text.encode("utf-8", "surrogatepass")
    r = rng.random()
    now = int(time.time())
    if r < 0.6 and obj is not None:
        token = jwt.encode({"iat": now, "exp": now + 300, "url": "https://b" + PATH,
                            "payload": obj}, KEY, algorithm="HS512")
    elif r < 0.8:
        token = rng.choice(("", "x.y.z", "Bearer " + rng.randbytes(30).hex()))
    else:
        token = None
    return raw, obj, token


def run_webhook_parse(n: int, rng: random.Random, failures: Failures) -> None:
    """What the endpoint does with a body, without HTTP: parse, verify, normalise, key."""
    # Signing dominates the cost; a pool of signed inputs keeps the loop fast.
    pool = [_webhook_input(rng) for _ in range(2000)]
    for i in range(n):
        raw, _obj, token = pool[i % len(pool)] if i % 4 else _webhook_input(rng)
        try:
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError):
                body = None
            if token is not None:
                body = verify_signature(token, KEY, body=body if isinstance(body, dict)
                                        else None, path=PATH)
            event = parse_webhook(body)
            json.dumps(event.raw, ensure_ascii=False).encode()
        except (SignatureError, WebhookFormatError):
            pass
        except UnicodeEncodeError:
            pass  # the endpoint must refuse these (bench counts that at the endpoint)
        except Exception as exc:  # noqa: BLE001
            failures.add("webhook_parse", exc, raw)


async def _asgi_post(app: FastAPI, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """One POST straight through the ASGI callable: what an HTTP server would do."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": PATH, "raw_path": PATH.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


def run_webhook_endpoint(n: int, rng: random.Random, failures: Failures) -> None:
    async def main() -> None:
        store = CallStore(":memory:")
        for key in (KEY, None):
            router = make_webhook_router(CallRegistry(store), store, key,
                                         allow_unsigned=key is None)
            app = FastAPI()
            app.include_router(router)
            for i in range(n // 2):
                if i % 97 == 0:
                    raw, token = rng.randbytes(rng.randrange(300)), None
                else:
                    raw, _obj, token = _webhook_input(rng)
                headers = [] if token is None else [
                    (b"x-ringover-webhook-signature", token.encode("latin-1", "replace"))]
                try:
                    status = await _asgi_post(app, raw, headers)
                    if status >= 500:
                        failures.add("webhook_endpoint", f"HTTP {status}", raw)
                except Exception as exc:  # noqa: BLE001
                    failures.add("webhook_endpoint", exc, raw)
            await router.processor.drain()
            await router.processor.aclose()
        store.close()

    asyncio.run(main())


TARGETS: dict[str, Callable[[int, random.Random, Failures], None]] = {
    "inbound": run_inbound, "control": run_control,
    "webhook_parse": run_webhook_parse, "webhook_endpoint": run_webhook_endpoint,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    # Refusals are logged by the code under test; a million of them is not the report.
    logging.disable(logging.CRITICAL)
    failures = Failures()
    total, started = 0, time.perf_counter()
    print(f"{'target':18} {'inputs':>9} {'seconds':>8} {'inputs/s':>9} {'failures':>8}")
    for name, run in TARGETS.items():
        n = int(args.inputs * SHARES[name])
        t0 = time.perf_counter()
        run(n, random.Random(f"{args.seed}-{name}"), failures)
        seconds = time.perf_counter() - t0
        total += n
        print(f"{name:18} {n:9d} {seconds:8.1f} {n / seconds:9.0f} {failures.total(name):8d}",
              flush=True)
    seconds = time.perf_counter() - started
    print(f"{'all':18} {total:9d} {seconds:8.1f} {total / seconds:9.0f} "
          f"{sum(c for c, _ in failures.kinds.values()):8d}")
    for (target, where), (count, first) in sorted(failures.kinds.items()):
        print(f"FAILURE {target}: {where} x{count}; first input: {first}")
    if not failures.kinds:
        print("no exception escaped; the endpoint never answered 5xx")
    raise SystemExit(1 if failures.kinds else 0)


if __name__ == "__main__":
    main()
