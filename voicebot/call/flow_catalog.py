"""The flows a call may run: the served one, and the other flow files in its folder.

A media server (or the browser phone) picks one by name with `flow=<name>` on the media
URL; only flows from that folder can be named, each loaded and validated once, on first
use, and a name that is not there falls back to the served flow.
"""

from __future__ import annotations

import logging
from pathlib import Path

from voicebot.flow.engine import FlowEngine
from voicebot.flow.loader import Flow, FlowError, load_flow

log = logging.getLogger(__name__)


class FlowCatalog:
    def __init__(self, served: FlowEngine, served_path: Path) -> None:
        self.served = served.flow.name
        self._dir = served_path.parent
        self._engines: dict[str, FlowEngine] = {served.flow.name: served}
        self._scanned = False

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        for path in sorted(self._dir.glob("*.yaml")):
            try:
                flow = load_flow(path)
            except (FlowError, OSError, ValueError) as exc:  # not a flow, or a broken one
                log.info("%s is not a usable flow: %s", path, exc)
                continue
            if flow.name not in self._engines:
                self._engines[flow.name] = FlowEngine(flow)

    def names(self) -> list[str]:
        self._scan()
        return sorted(self._engines)

    def engine(self, name: str | None) -> FlowEngine | None:
        """The engine of flow `name`; None if there is no such flow."""
        if not name:
            return None
        if name not in self._engines:
            self._scan()
        return self._engines.get(name)

    def flow(self, name: str) -> Flow | None:
        engine = self.engine(name)
        return engine.flow if engine is not None else None
