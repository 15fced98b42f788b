"""bench/nlu_accuracy.py's data and report: the published NLU figures are the result
file's, the split is fixed by hash, and a first-draft flow offers what its finished flow
offers (so the same utterances mean the same there)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.nlu_data import DRAFTS, FlowStates, domain_cases
from bench.nlu_report import BEGIN, DOC, END, RESULT, render

ROOT = Path(__file__).resolve().parents[2]


def test_the_published_section_is_the_result_file_rendered() -> None:
    report = json.loads(RESULT.read_text(encoding="utf-8"))
    text = DOC.read_text(encoding="utf-8")
    published = BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert published == render(report)
    assert report["data"]["test"] > report["data"]["dev"] > 0
    assert all(r["split"] == "test" for r in report["results"])
    assert report["machine"]["loadavg"] and report["machine"]["loadavg_end"]


def test_the_split_is_by_hash_about_forty_sixty() -> None:
    cases = domain_cases()
    again = {(c.domain, c.state, c.text): c.split for c in domain_cases()}
    assert all(again[(c.domain, c.state, c.text)] == c.split for c in cases)
    dev = sum(c.split == "dev" for c in cases) / len(cases)
    assert len(cases) >= 500 and 0.3 < dev < 0.5


def test_a_first_draft_offers_the_same_intents_and_states_with_fewer_examples() -> None:
    flows = sorted({c.flow for c in domain_cases()})
    finished, drafts = FlowStates(), FlowStates(drafts=True)
    assert len(list(DRAFTS.glob("*.flow.yaml"))) == len(flows)
    for flow in flows:
        done, draft = finished.engine(flow).flow, drafts.engine(flow).flow
        assert draft is not done and set(draft.intents) == set(done.intents)
        assert set(draft.states) == set(done.states)
        for name, spec in draft.intents.items():
            assert 0 < len(spec.examples) < len(done.intents[name].examples)
