"""Issue 12, finding 6: the call store under faults. With the database locked by another
process (so every write fails), calls go on, their records wait in memory, /healthz and
/metrics say so, and once the lock goes every record is written, in order. A corrupt
store file at start is one clear line naming the file, not a traceback. A call still up
at the drain deadline is recorded as "shutdown"."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.faults.helpers import TOKEN, call_record, media_url, value, wait_until
from voicebot.simulator import Silence, WaitFor, simulate
from voicebot.store.resilient import ResilientStore
from voicebot.testing.server import ROOT, running_server, write_config

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parents[1] / "faults" / "flows" / "faults.yaml"


def _health(srv: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(srv["http"] + "/healthz", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _call(url: str, call_id: str, seconds: float) -> None:
    asyncio.run(simulate(url, [WaitFor("streamAudio"), Silence(seconds)], timeout=seconds + 20,
                         start_message={"event": "start", "call_id": call_id}, until=()))


def test_a_locked_store_keeps_records_in_memory_and_says_so(tmp_path: Path) -> None:
    with running_server(FLOW, server={"media_token": TOKEN}) as srv:
        lock = sqlite3.connect(srv["db"], isolation_level=None, timeout=30)
        lock.execute("BEGIN EXCLUSIVE")  # every write of the server now fails (busy)
        try:
            _call(media_url(srv), "while-locked-1", 1.0)
            _call(media_url(srv), "while-locked-2", 1.0)
            wait_until(lambda: _health(srv)[0] == 503, 30, "/healthz to report the store")
            status, body = _health(srv)
            assert body["store"]["writable"] is False and body["store"]["backlog"] > 0
            assert "locked" in body["store"]["error"]
            assert value(srv, "voicebot_store_writable") == 0
            assert value(srv, "voicebot_store_backlog") > 0
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        wait_until(lambda: _health(srv)[0] == 200, 60, "the kept records to be written")
        for call_id in ("while-locked-1", "while-locked-2"):
            call, _ = call_record(srv["db"], call_id)
            assert call["closed_at"] is not None, call
            assert call["close_reason"] == "disconnect"
        assert value(srv, "voicebot_store_backlog") == 0
        assert "Traceback" not in srv["log"].read_text()


def test_a_corrupt_store_at_start_is_one_line_naming_the_file() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = write_config(directory, FLOW)
        db = directory / "calls.sqlite3"
        db.write_bytes(b"this is not a database\n" * 200)
        proc = subprocess.run(
            [sys.executable, "-m", "voicebot.cli", "serve", "--config", str(config),
             "--host", "127.0.0.1", "--port", "0"],
            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(db) in proc.stderr and "not a database" in proc.stderr


def test_a_call_up_at_the_drain_deadline_is_recorded_as_shutdown() -> None:
    with running_server(FLOW, server={"media_token": TOKEN, "shutdown_grace_s": 1.0}) as srv:
        call = threading.Thread(target=_call, args=(media_url(srv), "at-deadline", 15.0))
        call.start()
        try:
            wait_until(lambda: value(srv, "voicebot_active_calls") == 1, 15, "the call")
            srv["process"].send_signal(signal.SIGTERM)
            srv["process"].wait(30)
        finally:
            call.join(30)
        record, _ = call_record(srv["db"], "at-deadline")
        assert record["close_reason"] == "shutdown", record


class _Backend:
    """A backend whose writes fail while `failing`; it remembers what it was given."""

    def __init__(self) -> None:
        self.failing = True
        self.written: list[tuple[str, tuple[Any, ...]]] = []

    def _do(self, name: str, *args: Any) -> None:
        if self.failing:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        self.written.append((name, args))

    async def open_call(self, *args: Any) -> None:
        self._do("open_call", *args)

    async def add_event(self, *args: Any) -> None:
        self._do("add_event", *args)

    async def close_call(self, *args: Any) -> None:
        self._do("close_call", *args)

    async def aclose(self) -> None:
        pass


class _Metrics:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def inc(self, name: str, value: float = 1, **labels: str) -> None:
        self.values[name] = self.values.get(name, 0) + value

    def gauge(self, name: str, delta: float, **labels: str) -> None:
        self.values[name] = self.values.get(name, 0) + delta


def test_kept_writes_go_out_in_order_and_the_backlog_is_bounded() -> None:
    async def scenario() -> tuple[_Backend, ResilientStore, _Metrics]:
        backend, metrics = _Backend(), _Metrics()
        store = ResilientStore(backend, metrics, max_backlog=5, retry_s=0.01)
        await store.open_call("c", {})
        for i in range(6):
            await store.add_event("c", "e", {"i": i})
        await store.close_call("c", "stop")
        assert store.health()["writable"] is False and store.backlog == 5
        backend.failing = False
        await asyncio.sleep(0.2)
        return backend, store, metrics

    backend, store, metrics = asyncio.run(scenario())
    # The three oldest (the open and two events) were dropped and counted; the rest
    # arrived in order.
    assert [a[2]["i"] for n, a in backend.written if n == "add_event"] == [2, 3, 4, 5]
    assert backend.written[-1] == ("close_call", ("c", "stop"))
    assert store.health() == {"writable": True, "backlog": 0, "dropped": 3}
    assert metrics.values["voicebot_store_dropped_total"] == 3
    assert metrics.values["voicebot_store_writable"] == 1
