"""`voicebot plugins`: the listing, and the start-up check of the configured options."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from voicebot.plugins.cli import add_plugins_subcommand

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="voicebot")
    add_plugins_subcommand(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["plugins", *argv])
    return args.func(args)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_lists_builtins_with_origin_and_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "nlu: {use: examples, options: {threshold: 0.8}}\n")
    assert run("--config", config) == 0
    out = capsys.readouterr().out
    assert "nlu  examples     builtin" in out
    assert "voicebot.plugins.nlu_examples:ExamplesNLU  (in use)" in out
    assert "       threshold: float = 0.72" in out
    assert "llm " in out and "base_url: str" in out


def test_lists_config_plugins_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The config file lives in the repo's root so `plugins.regex_nlu` imports from there.
    config = write(tmp_path, 'plugins: ["plugins.regex_nlu:RegexNLU"]\nnlu: {use: regex}\n')
    (tmp_path / "plugins").symlink_to(ROOT / "plugins", target_is_directory=True)
    assert run("--config", config, "--kind", "nlu", "--json") == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["regex"]["origin"] == "config"
    assert rows["regex"]["target"] == "plugins.regex_nlu:RegexNLU"
    assert {r["kind"] for r in rows.values()} == {"nlu"}


def test_a_bad_option_is_reported_by_plugin_and_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "stt: {use: whisper, options: {beam_size: wide}}\n"
                             "vad: {use: webrtc, options: {agressiveness: 3}}\n")
    assert run("--config", config) == 1
    err = capsys.readouterr().err
    assert "stt plugin 'whisper': option 'beam_size': Input should be a valid integer" in err
    assert "vad plugin 'webrtc': option 'agressiveness': unknown option" in err


def test_an_unknown_plugin_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--config", write(tmp_path, "tts: {use: festival}\n")) == 1
    assert "tts plugin 'festival' is not known; known tts plugins:" in capsys.readouterr().err
    assert run("--config", write(tmp_path, "plugins: [nowhere.mod:X]\n")) == 1
    assert "cannot import 'nowhere.mod'" in capsys.readouterr().err
