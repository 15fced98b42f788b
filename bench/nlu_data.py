"""The utterances bench/nlu_accuracy.py scores, their dev/test split, and how a flow
state reads an NLU result (exactly as the flow engine does).

A callers file is a list of blocks, one per flow state:

    - flow: clinic.flow.yaml        # relative to the file, or a name in flows/
      state: menu
      expect:
        book: [" um, I wanna see the doc", ...]   # an intent name
        none: [" what's the weather in Paris"]     # out of scope: must be a no-match
        slot:2: [" a couple"]                      # the state's slot, with this value

The split is by a hash of the utterance, not by hand, so no one chooses which
utterances the figures are reported on: 40 % dev (tuning), 60 % test (reporting).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from voicebot.flow import slots
from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.loader import load_flow
from voicebot.types import Expectation, NLUResult

ROOT = Path(__file__).resolve().parent.parent
DOMAINS = ROOT / "bench" / "data" / "domains"
DRAFTS = DOMAINS / "drafts"
EXAMPLE_FLOWS = ROOT / "bench" / "data" / "nlu_paraphrases.yaml"
DEV_PERCENT = 40


@dataclass(frozen=True)
class Case:
    domain: str
    flow: Path
    state: str
    text: str
    expected: str  # an intent name, "none" (out of scope) or "slot"
    value: Any = None  # the slot's value when expected == "slot"

    @property
    def split(self) -> str:
        key = f"{self.domain}|{self.state}|{self.text.strip().lower()}".encode()
        return "dev" if int(hashlib.sha1(key).hexdigest(), 16) % 100 < DEV_PERCENT else "test"


def load_cases(path: Path) -> list[Case]:
    cases = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8")):
        flow_name = str(block["flow"])
        flow = (path.parent / flow_name if flow_name.endswith(".yaml")
                else ROOT / "flows" / f"{flow_name}.yaml")
        domain = flow.name.split(".")[0]
        for label, texts in block["expect"].items():
            if str(label).startswith("slot:"):
                expected, value = "slot", yaml.safe_load(str(label)[len("slot:"):])
            else:
                expected, value = str(label), None
            for text in texts:
                cases.append(Case(domain, flow.resolve(), block["state"], text, expected, value))
    return cases


def domain_cases() -> list[Case]:
    return [c for path in sorted(DOMAINS.glob("*.callers.yaml")) for c in load_cases(path)]


def example_flow_cases() -> list[Case]:
    """Paraphrases for the example flows in flows/, by the hand that wrote those flows:
    reported apart, as a regression check, never as the held-out figure."""
    return load_cases(EXAMPLE_FLOWS)


class FlowStates:
    """Expectations and slot reading exactly as the flow engine does them.

    With `drafts`, each domain's flow is read from `bench/data/domains/drafts/` instead:
    the same business as a new user first writes it (four or five terse examples per
    intent), so the bench shows what a first draft gets as well as a finished flow."""

    def __init__(self, drafts: bool = False) -> None:
        self.engines: dict[Path, FlowEngine] = {}
        self.drafts = drafts

    def engine(self, flow: Path) -> FlowEngine:
        if flow not in self.engines:
            source = flow
            if self.drafts:
                draft = DRAFTS / (flow.name if flow.name.endswith(".flow.yaml")
                                  else f"{flow.stem}.flow.yaml")
                source = draft if draft.is_file() else flow
            self.engines[flow] = FlowEngine(load_flow(source))
        return self.engines[flow]

    def expectation(self, case: Case) -> Expectation:
        return self.engine(case.flow).expectation(CallState(state=case.state))

    def label(self, case: Case, result: NLUResult, expectation: Expectation) -> tuple[str, Any]:
        flow = self.engine(case.flow).flow
        offered = {i.name for i in expectation.intents}
        if result.intent in offered and result.confidence >= flow.defaults.min_confidence:
            return result.intent, None
        collect = flow.states[case.state].collect
        if collect is not None:
            value = slots.from_text(collect, result.text, result.entities)
            if value is not None:
                return "slot", value
        return "none", None
