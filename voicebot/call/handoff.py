"""Executing a flow's transfer: a target name becomes the configured number, and the
hand-off (where to, and the flow's summary of what the bot learned) goes on the call
record as a `transfer` event, so the person who takes the call, or a CRM reading the
records, knows what the caller already said.

Ringover's public API documents no endpoint that attaches a note or summary to a call
(docs/flows.md, "Transfer targets and hand-off"), so the record is where it lives.
"""

from __future__ import annotations

from typing import Any

from voicebot.flow.actions import Transfer
from voicebot.flow.targets import resolve
from voicebot.telephony import media

Note = tuple[str, dict[str, Any]]  # (event kind, data) for the call record


def hand_off(action: Transfer, targets: dict[str, str]) -> tuple[media.Transfer | media.Hangup,
                                                                  Note]:
    """The media event that carries out `action`, and the record event that keeps it: the
    transfer, or a hangup when the flow names a target the configuration lacks (`voicebot
    check` catches the literal ones; a template can still render an unknown name)."""
    number = resolve(action.number, targets)
    data: dict[str, Any] = {"target": action.number, "number": number}
    if action.summary:
        data["summary"] = action.summary
    if number is None:
        data["error"] = f"unknown transfer target '{action.number}' (config 'targets')"
        return media.Hangup("transfer_error"), ("transfer_failed", data)
    return media.Transfer(number), ("transfer", data)
