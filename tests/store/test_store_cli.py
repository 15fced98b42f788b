from __future__ import annotations

import argparse
import asyncio
import io
import json
from pathlib import Path

import pytest

from tests.store.conftest import Backend
from voicebot.store.cli import DEFAULT_DB, add_calls_subcommands
from voicebot.store.records import CallStore
from voicebot.store.turn import TurnRecord


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1.5
        return self.now


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voicebot")
    add_calls_subcommands(p.add_subparsers(dest="command", required=True))
    return p


def run(*argv: str) -> tuple[int, str, str]:
    args = parser().parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    return args.func(args, out=out, err=err), out.getvalue(), err.getvalue()


@pytest.fixture
def db(backend: Backend) -> str:
    """Filled records, on SQLite and on PostgreSQL (`--db` takes a file or a URL)."""
    path = backend.url

    async def fill() -> None:
        store = CallStore(path, clock=Clock())
        await store.open_call("call-1", {"from_number": "+33600000000"})
        await store.add_event("call-1", "media_start", {"codec": "PCMU"})
        await store.add_turn("call-1", TurnRecord(**{
            "transcript": "billing please", "intent": "billing", "confidence": 0.9,
            "actions": [{"type": "say", "text": "Sure"}], "latencies": {"stt": 140.0},
            "state": "menu"}))
        await store.close_call("call-1", "hangup")
        await store.open_call("call-2", {})
        await store.aclose()

    asyncio.run(fill())
    return path


def test_defaults() -> None:
    args = parser().parse_args(["calls", "list"])
    assert args.db == DEFAULT_DB and args.limit == 50 and callable(args.func)
    args = parser().parse_args(["calls", "show", "abc"])
    assert args.call_id == "abc" and args.db == DEFAULT_DB


def test_list_prints_newest_first(db: str) -> None:
    code, out, _ = run("calls", "list", "--db", db)
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("CALL ID")
    assert lines[1].startswith("call-2") and lines[1].endswith("open")
    assert "call-1" in lines[2] and "+33600000000" in lines[2] and lines[2].endswith("hangup")


def test_list_json(db: str) -> None:
    code, out, _ = run("calls", "list", "--db", db, "--json", "--limit", "1")
    assert code == 0 and [c["call_id"] for c in json.loads(out)] == ["call-2"]


def test_show_prints_the_timeline(db: str) -> None:
    code, out, _ = run("calls", "show", "call-1", "--db", db)
    assert code == 0
    assert "call call-1" in out and "hangup" in out
    assert "media_start" in out
    assert "turn 1 [menu] 'billing please' -> billing 0.90" in out
    assert "say('Sure')" in out and "stt:140" in out


def test_show_json_and_unknown_id(db: str) -> None:
    code, out, _ = run("calls", "show", "call-1", "--db", db, "--json")
    assert code == 0 and json.loads(out)["turns"][0]["intent"] == "billing"
    code, _, err = run("calls", "show", "nope", "--db", db)
    assert code == 1 and "no call 'nope'" in err


def test_a_missing_database_is_reported_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    code, _, err = run("calls", "list", "--db", str(missing))
    assert code == 1 and "no call records" in err and not missing.exists()


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 300], ids=["empty", "garbage"])
def test_a_file_that_is_not_a_records_database_is_refused_and_left_alone(
        tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "calls.db"
    path.write_bytes(content)
    code, _out, err = run("calls", "list", "--db", str(path))
    assert code == 1
    assert "not a call records database" in err
    assert path.read_bytes() == content  # reading never writes a schema into it
