"""Suite-wide policy: under `--no-skips` (scripts/test passes it, so CI runs with it) a
skipped test is a failed test.

A skip is how a missing dependency hides a test: the suite goes green while a plugin, a
recording or a service was never exercised. scripts/setup --test installs everything the
tests need, so in that run a skip can only mean an install step is missing, and it fails
loudly, naming the reason the test gave. Without the option (a developer running one
file) skips stay skips. (An option, not an environment variable: VOICEBOT_* variables
are configuration overrides.)
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-skips", action="store_true",
                     help="fail every test that skips (scripts/test sets this)")


def _as_failure(config: pytest.Config, report: Any) -> None:
    if not (report.skipped and config.getoption("--no-skips")) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"skipped, and --no-skips allows no skip: {reason}\n"
        "(scripts/setup --test should have installed what this test needs)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    outcome = yield
    _as_failure(item.config, outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    # A module-level importorskip skips the whole file at collection.
    outcome = yield
    _as_failure(collector.config, outcome.get_result())
