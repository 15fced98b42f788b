"""The TwiML app around a Twilio Media Stream (docs/protocol.md, "Twilio Media Streams").

POST /twilio/voice: the phone number's voice webhook. Answers with a bidirectional
`<Connect><Stream>` to voicebot's media path, whose `action` is the next route.

POST /twilio/stream-ended: Twilio asks what to do once the stream has ended. voicebot
closes the stream to transfer or hang up, after recording the TwiML for it in the call
record (`epilogue` event); this route returns it (`<Dial>`, `<Hangup/>`...). A stream
that ended without one (the caller hung up, the connection broke) gets `<Hangup/>`.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from voicebot.telephony.twilio import connect_stream_twiml, signature
from voicebot.telephony.twilio.twiml import HANGUP_TWIML

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
XML = "application/xml"


def make_twilio_router(store: Any, media_path: str, auth_token: str | None,
                       public_url: str | None, media_token: str | None) -> APIRouter:
    router = APIRouter()

    def base_url(request: Request) -> str:
        if public_url:
            return public_url.rstrip("/")
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        host = request.headers.get("x-forwarded-host", request.headers.get("host", ""))
        return f"{proto}://{host}"

    async def form(request: Request) -> dict[str, str] | Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return Response("request too large", status_code=413)
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return Response("the form must be UTF-8", status_code=400)
        if auth_token is not None:
            url = base_url(request) + request.url.path
            if request.url.query:
                url += "?" + request.url.query
            given = request.headers.get("x-twilio-signature", "")
            if not hmac.compare_digest(given, signature(auth_token, url, fields)):
                return Response("missing or wrong X-Twilio-Signature", status_code=403)
        return fields

    @router.post("/twilio/voice")
    async def voice(request: Request) -> Response:
        if media_token is not None and auth_token is None:
            # The answer carries the media token: only a verified Twilio may have it.
            return Response("media_token is set: set twilio.auth_token too, so that only "
                            "Twilio's signed requests are given it", status_code=403)
        fields = await form(request)
        if isinstance(fields, Response):
            return fields
        base = base_url(request)
        stream = ("wss" if base.startswith("https") else "ws") + base[base.index(":"):]
        params = {"from": fields.get("From", ""), "to": fields.get("To", ""),
                  "token": media_token or ""}
        twiml = connect_stream_twiml(stream + media_path.rstrip("/") + "/twilio",
                                     base + "/twilio/stream-ended", params)
        return Response(twiml, media_type=XML)

    @router.post("/twilio/stream-ended")
    async def stream_ended(request: Request) -> Response:
        fields = await form(request)
        if isinstance(fields, Response):
            return fields
        call_sid = fields.get("CallSid", "")
        record = await store.aget_call(call_sid) if call_sid else None
        epilogues = [e["data"].get("body") for e in (record or {}).get("events", [])
                     if e["kind"] == "epilogue"]
        twiml = epilogues[-1] if epilogues and isinstance(epilogues[-1], str) else HANGUP_TWIML
        log.info("twilio stream ended for %s: %s", call_sid or "?", twiml)
        return Response(twiml, media_type=XML)

    return router
