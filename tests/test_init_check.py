"""`voicebot init` makes a project that passes its own checks at once, and `voicebot check`
finds what `serve` would refuse, at file:line, without serving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

VOICEBOT = [sys.executable, "-m", "voicebot.cli"]


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VOICEBOT, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("init")
    done = _run(root, "init", "mybot")
    assert done.returncode == 0, done.stderr
    return root / "mybot"


def test_the_new_project_validates_and_its_conversation_tests_pass(project: Path) -> None:
    assert _run(project, "validate", "flows").returncode == 0
    done = _run(project, "test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 0 failed" in done.stdout


def test_the_new_projects_own_pytest_passes(project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_check_passes_on_the_new_project(project: Path) -> None:
    done = _run(project, "check", "--no-load")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok: config.yaml")


def test_init_never_overwrites(project: Path) -> None:
    done = _run(project.parent, "init", "mybot")
    assert done.returncode == 1
    assert "nothing written" in done.stderr


def test_check_names_the_line_and_suggests_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("flow: missing.yaml\nlisten:\n  hangover_mss: 300\n")
    done = _run(tmp_path, "check")
    assert done.returncode == 1
    assert (f"{config.name}:3:3: listen.hangover_mss: unknown key 'hangover_mss' "
            "(did you mean 'hangover_ms'?)") in done.stderr
    assert "Traceback" not in done.stderr


def test_check_reports_a_missing_flow_and_a_wrong_plugin(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("flow: missing.yaml\nnlu: {use: exampels}\n")
    done = _run(tmp_path, "check", "--no-load")
    assert done.returncode == 1
    assert "missing.yaml" in done.stderr
    assert "did you mean 'examples'?" in done.stderr


def test_check_without_a_config_file_is_an_error(tmp_path: Path) -> None:
    done = _run(tmp_path, "check", "nope.yaml")
    assert done.returncode == 1
    assert "no such config file" in done.stderr


def test_plugins_with_a_missing_config_is_an_error(tmp_path: Path) -> None:
    done = _run(tmp_path, "plugins", "--config", "missing.yaml")
    assert done.returncode == 1
    assert "no such config file" in done.stderr
