"""The benchmark figures in README.md and docs/benchmarks.md are the ones bench/report.py
generates from the committed result files: none typed by hand, none left stale.
(Not a timing test: it only reads files.)"""

from __future__ import annotations

import pytest
import yaml

from bench import report
from bench.headline import BUDGETS, SCENARIOS, over_budget


def test_published_figures_are_generated_from_the_result_files() -> None:
    runs = report.results()
    assert runs, "docs/benchmarks/ holds no result file"
    for path, body in report.generated().items():
        begin, end = report.MARKERS[path]
        text = path.read_text()
        assert f"{begin}\n{body}\n{end}" in text, (
            f"{path.name} is not what bench/report.py makes: run python -m bench.report")


def test_every_result_file_names_its_machine_load_and_commit() -> None:
    for path, r in report.results():
        machine = r["machine"]
        assert machine["cpu_model"] and machine["cores"], path
        assert len(machine["load_before"]) == 3 and len(machine["load_after"]) == 3, path
        assert len(r["git_commit"]) >= 40, path
        assert r["competitor"]["version"] == "1.14.0", path
        # Both bots were measured on the same calls in that one run.
        for name, bots in r["scenarios"].items():
            assert set(bots) == {"voicebot", "pipecat"}, (path, name)


def test_the_newest_result_file_is_cited_by_readme() -> None:
    newest, _ = report.results()[-1]
    assert f"docs/benchmarks/{newest.name}" in report.README.read_text()


def test_budget_check_flags_a_figure_over_budget_and_a_missing_one() -> None:
    result = {"scenarios": {"reply_fresh": {"voicebot": {"p50_ms": 620}},
                            "barge_in": {"voicebot": {"break": {"p50_ms": 90}}}}}
    budgets = {"reply_fresh.p50_ms": 500, "barge_in.break.p50_ms": 150, "load8.p95_ms": 1000}
    over = over_budget(result, budgets)
    assert over == ["reply_fresh.p50_ms = 620 > 500", "load8.p95_ms: not measured (budget 1000)"]


def test_replace_between_refuses_missing_markers() -> None:
    with pytest.raises(SystemExit):
        report.replace_between("no markers here", "<!-- a -->", "<!-- b -->", "x")
    assert report.replace_between("x<!-- a -->old<!-- b -->y", "<!-- a -->", "<!-- b -->",
                                  "new") == "x<!-- a -->\nnew\n<!-- b -->y"


def test_every_budget_names_a_scenario_the_headline_runs() -> None:
    budgets = yaml.safe_load(BUDGETS.read_text())
    assert budgets
    for key in budgets:
        assert key.split(".")[0] in SCENARIOS, key
