"""A turn the bot may still take back: cut off by the endpointer, continued by the caller.

A caller who pauses longer than the hangover in mid-sentence ("In the ... afternoon, if
possible.") has the first part taken as a turn. When they go on within the join window
(the endpointer's, in media time) the first part was not a turn: its flow step is undone
(the engine is pure, so that is restoring the state from before it), its reply is
stopped if it had started, and the joined audio is transcribed and answered once. See
docs/turn-taking.md "Cut-offs".

A turn is final ("committed") once the bot did something the caller cannot un-hear or
the line cannot undo: a transfer, keys, a played file, a hang-up, or the next event of
any other kind. The session then closes the endpointer's join.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class OpenTurn:
    started: bool = False  # the brain has begun it: the state below is its "before"
    void: bool = False  # joined by the caller's continuation: not to be answered
    state_before: Any = None
    interrupted_before: Any = None
    task: asyncio.Task[None] | None = None

    def begin(self, state: Any, interrupted: Any) -> None:
        self.started = True
        self.state_before = state
        self.interrupted_before = interrupted

    async def run(self, work: Any) -> None:
        """Run the turn's work; a cancellation because the turn was joined ends it quietly."""
        self.task = asyncio.ensure_future(work)
        try:
            await self.task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not self.void or (current is not None and current.cancelling()):
                raise  # the call itself is closing

    def void_it(self) -> None:
        self.void = True
        if self.task is not None and not self.task.done():
            self.task.cancel()
