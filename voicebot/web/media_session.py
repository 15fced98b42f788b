"""A media call's session around its socket: started with what is known of the caller
(query, start message, cluster, Ringover contact) and the flow it asked for, and ended
from the bot's side (hang-up, transfer, the call's time limit) with the platform's
epilogue recorded before the socket closes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from voicebot.call.outbox import Outbox
from voicebot.call.services import Services
from voicebot.call.session import CallSession
from voicebot.telephony import media as md

log = logging.getLogger(__name__)


async def start_session(services: Services, call: dict[str, Any], outbox: Outbox) -> CallSession:
    call_id = call["call_id"]  # set by the media handler (start message, query or a uuid)
    call.setdefault("from_number", call.pop("from", None))
    call.setdefault("to_number", call.pop("to", None))
    pending: list[tuple[str, dict[str, Any]]] = []
    if services.calls is not None:
        await services.calls.claim(call_id)  # in a cluster: this worker now holds the call
        call.update({k: v for k, v in services.calls.call_data(call_id).items() if v})
    if services.ringover is not None and call.get("from_number"):
        try:
            call.update(await asyncio.wait_for(
                services.ringover.caller_context(call["from_number"]), 1.0))
        except Exception as exc:  # context is a nicety; the call goes on without it
            log.info("caller context unavailable: %r", exc)
    session = CallSession(services, call_id, call, outbox)
    chosen = services.flows.engine(call.get("flow")) if services.flows is not None else None
    if chosen is not None:
        session.engine = chosen
    elif call.get("flow"):
        log.info("no flow %r beside the served one; serving the served flow", call["flow"])
    session.call["flow"] = session.engine.flow.name  # the record says which flow ran
    if services.calls is not None:
        pending = services.calls.attach(call_id, session)
    await session.start()
    for name, data in pending:
        await session.on_webhook(name, data)
    return session


async def hang_up_when_asked(ws: WebSocket, session: CallSession, outbox: Outbox,
                              max_call_s: float) -> None:
    try:
        await asyncio.wait_for(session.end_requested.wait(), max_call_s)
    except TimeoutError:
        session.log.warning("call reached max_call_s=%s; hanging up", max_call_s)
        session.end_reason = "max_call_length"
        session.hangup_requested = True
    if session.end_reason == "max_call_length":
        await outbox.send(md.Hangup("max_call_length"))
    transfer = not session.hangup_requested
    if transfer and not outbox.protocol.transfer_ends_stream:
        return  # the media server takes the call from here
    await outbox.close(drain_timeout=2.0)
    await _save_epilogue(session, outbox.protocol)
    if ws.client_state == WebSocketState.CONNECTED:
        await ws.close(code=1000, reason="transfer" if transfer else "hangup")


async def _save_epilogue(session: CallSession, protocol: md.MediaProtocol) -> None:
    """What the platform does after the stream (Twilio: TwiML) goes in the call record
    before the socket closes, because closing is what makes the platform ask for it."""
    epilogue = protocol.epilogue()
    store = session.s.store
    if epilogue is None or store is None:
        return
    try:
        await store.add_event(session.call_id, "epilogue", {"protocol": protocol.name,
                                                            "body": epilogue})
    except Exception:  # without it the platform falls back to its own next step
        session.log.exception("could not record the epilogue")
