"""The flows the console can draw and the phone can call: the served one, and the other
flow files beside it (each loaded and validated once, on first use)."""

from __future__ import annotations

import logging
from pathlib import Path

from voicebot.flow.loader import Flow, FlowError, load_flow
from voicebot.web.console_graph import flow_svg

log = logging.getLogger(__name__)


class FlowCatalog:
    def __init__(self, served: Flow, served_path: Path) -> None:
        self.served = served.name
        self._dir = served_path.parent
        self._flows: dict[str, Flow | None] = {served.name: served}
        self._svg: dict[str, str] = {}
        self._scanned = False

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        for path in sorted(self._dir.glob("*.yaml")):
            try:
                flow = load_flow(path)
            except (FlowError, OSError, ValueError) as exc:  # not a flow, or a broken one
                log.info("console: %s is not a usable flow: %s", path, exc)
                continue
            self._flows.setdefault(flow.name, flow)

    def names(self) -> list[str]:
        self._scan()
        return sorted(name for name, flow in self._flows.items() if flow is not None)

    def get(self, name: str) -> Flow | None:
        if name not in self._flows:
            self._scan()
        return self._flows.get(name)

    def svg(self, name: str) -> str | None:
        if name not in self._svg:
            flow = self.get(name)
            if flow is None:
                return None
            self._svg[name] = flow_svg(flow)
        return self._svg[name]
