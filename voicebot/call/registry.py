"""Where a call's webhooks meet its media session, whichever arrives first.

Ringover's `ringing` webhook usually lands before the media WebSocket opens, `hangup`
after; but neither order is promised. Webhooks for a call without a session wait here
(bounded in number and age) and are handed over, in order, when the session attaches.
Every webhook is also written to the call's record here (`webhook:<name>` events), so a
session must not record the webhooks it receives a second time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from voicebot.store.kinds import RecordStore
from voicebot.telephony.webhooks import TERMINAL_EVENTS

log = logging.getLogger(__name__)

# Call fields worth carrying as flow variables; the rest of a webhook's data stays in
# the record. Kept explicit so a webhook cannot overwrite what the session set itself.
CALL_FIELDS = (
    "call_id",
    "channel_id",
    "direction",
    "from_number",
    "to_number",
    "user_id",
    "is_internal",
    "is_anonymous",
    "is_ivr",
    "ivr_data",
    "start_time",
    "answered_time",
    "hangup_time",
    "duration_in_seconds",
    "status",
    "reason",
)


class WebhookSink(Protocol):
    call_id: str

    async def on_webhook(self, name: str, data: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class _Pending:
    first_seen: float
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class CallRegistry:
    def __init__(
        self,
        store: RecordStore | None = None,
        *,
        max_pending_calls: int = 10_000,
        max_pending_age_s: float = 600.0,
        max_events_per_call: int = 100,
        deliver_timeout_s: float = 5.0,
        terminal_events: frozenset[str] = TERMINAL_EVENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.max_pending_calls = max_pending_calls
        self.max_pending_age_s = max_pending_age_s
        self.max_events_per_call = max_events_per_call
        self.deliver_timeout_s = deliver_timeout_s
        self.terminal_events = terminal_events
        self._clock = clock
        self._sessions: dict[str, WebhookSink] = {}
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._data: dict[str, dict[str, Any]] = {}
        self.dropped_events = 0  # pending events given up on (age, count caps)

    # -- the media side --------------------------------------------------------------

    def attach(self, call_id: str, session: WebhookSink) -> list[tuple[str, dict[str, Any]]]:
        """Register a live session; return the webhooks that came before it, in order.

        Their call fields are already merged into `call_data(call_id)`.
        """
        self._prune()
        if call_id in self._sessions and self._sessions[call_id] is not session:
            log.warning("call %s: a second media session replaces the first", call_id)
        self._sessions[call_id] = session
        pending = self._pending.pop(call_id, None)
        return list(pending.events) if pending else []

    def detach(self, call_id: str) -> None:
        self._sessions.pop(call_id, None)
        self._data.pop(call_id, None)

    async def claim(self, call_id: str) -> None:
        """A media session is about to start here: make this process the call's home.

        Alone, webhooks already wait in this process and there is nothing to do; in a
        cluster (cluster.py) this takes over the webhooks other workers kept for the call.
        Call it before `call_data` and `attach`.
        """

    # -- lifecycle: a cluster connects, heartbeats and sweeps; alone there is nothing ----

    async def start(self) -> None:
        """Called once the event loop runs, before the first call."""

    async def aclose(self) -> None:
        """Called at shutdown, after the last call ended."""

    def healthy(self) -> bool:
        """False when this worker cannot reach its calls' webhooks (readiness)."""
        return True

    def call_data(self, call_id: str) -> dict[str, Any]:
        return dict(self._data.get(call_id, {}))

    def active_calls(self) -> int:
        return len(self._sessions)

    def pending_calls(self) -> int:
        return len(self._pending)

    def is_attached(self, call_id: str) -> bool:
        return call_id in self._sessions

    # -- the webhook side ------------------------------------------------------------

    async def on_webhook(self, name: str, call_id: str, data: dict[str, Any],
                         key: str | None = None) -> None:
        """Record the webhook, then hand it to the call's session or keep it for one.

        `key`: the stored delivery's; it is marked applied in the same commit as the
        record writes, so a worker dying in between leaves it for the others (cluster.py).
        """
        session = self._sessions.get(call_id)
        elsewhere = False
        if session is None:
            elsewhere = await self._route(name, call_id, data)
        self._merge(call_id, data)
        if self.store is not None:
            await self._record(name, call_id, data, attached=session is not None or elsewhere,
                               key=key)
        if session is not None:
            await self._deliver(session, name, call_id, data)

    async def _route(self, name: str, call_id: str, data: dict[str, Any]) -> bool:
        """A webhook for a call with no session here: keep it for one. True if a live
        session elsewhere took it (never, alone: see cluster.py)."""
        self._keep(call_id, name, data)
        return False

    async def _deliver(self, session: WebhookSink, name: str, call_id: str,
                       data: dict[str, Any]) -> None:
        try:
            # A session must not hold the webhook pipeline hostage; it gets a bound.
            await asyncio.wait_for(session.on_webhook(name, data), self.deliver_timeout_s)
        except TimeoutError:
            log.error("call %s: session took over %ss on webhook %s", call_id,
                      self.deliver_timeout_s, name)
        except Exception:
            log.exception("call %s: session failed on webhook %s", call_id, name)

    async def _record(self, name: str, call_id: str, data: dict[str, Any], attached: bool,
                      key: str | None = None) -> None:
        assert self.store is not None
        fields = {k: data[k] for k in CALL_FIELDS if data.get(k) is not None}
        writes = [self.store.add_event(call_id, f"webhook:{name}", data)]
        if fields:
            writes.insert(0, self.store.open_call(call_id, fields))
        # With a session attached, the session ends the flow and closes the record;
        # without one (a missed call, voicemail) nobody else will.
        if name in self.terminal_events and not attached:
            writes.append(self.store.close_call(call_id, name))
        if key is not None:
            writes.append(self.store.mark_applied(key))
        # Started together, the writes queue in this order and share one commit.
        for outcome in await asyncio.gather(*writes, return_exceptions=True):
            if isinstance(outcome, BaseException):
                log.error("call %s: could not record webhook %s: %r", call_id, name, outcome)

    def _merge(self, call_id: str, data: dict[str, Any]) -> None:
        fields = {k: data[k] for k in CALL_FIELDS if data.get(k) is not None}
        if fields and (call_id in self._sessions or call_id in self._pending):
            self._data.setdefault(call_id, {}).update(fields)

    def _keep(self, call_id: str, name: str, data: dict[str, Any]) -> None:
        self._prune()
        pending = self._pending.get(call_id)
        if pending is None:
            while len(self._pending) >= self.max_pending_calls:
                self._forget(next(iter(self._pending)), "too many calls waiting for media")
            pending = self._pending[call_id] = _Pending(first_seen=self._clock())
        if len(pending.events) >= self.max_events_per_call:
            self.dropped_events += 1
            log.warning("call %s: dropping webhook %s, %d already waiting", call_id, name,
                        len(pending.events))
            return
        pending.events.append((name, data))

    def _prune(self) -> None:
        horizon = self._clock() - self.max_pending_age_s
        # Insertion order is age order: stop at the first call young enough.
        while self._pending:
            call_id, pending = next(iter(self._pending.items()))
            if pending.first_seen > horizon:
                break
            self._forget(call_id, "no media session came")

    def _forget(self, call_id: str, why: str) -> None:
        pending = self._pending.pop(call_id)
        self.dropped_events += len(pending.events)
        if call_id not in self._sessions:
            self._data.pop(call_id, None)
        log.info("call %s: forgetting %d pending webhooks (%s)", call_id,
                 len(pending.events), why)
