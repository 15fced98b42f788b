"""The two databases the call records live in, and what differs between them.

SQLite is the embedded default (a file, no service); PostgreSQL is the shared store of a
scaled deployment (`store.url: postgresql://...`), so every worker writes the same
records and a webhook's delivery key is unique across all of them. The records code
(records.py) is one: a backend supplies the connection, the transaction opener and the
few clauses whose spelling differs.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from voicebot.store.postgres import PostgresBackend
from voicebot.store.schema import Connection, migrate


@dataclass(frozen=True)
class SqliteBackend:
    path: str
    name: str = "sqlite"
    begin: str = "BEGIN IMMEDIATE"  # takes the write lock now, not at the first write
    for_update: str = ""  # BEGIN IMMEDIATE already serialises writers
    newest_tiebreak: str = "c.rowid DESC"

    @property
    def label(self) -> str:
        return self.path

    def connect(self) -> Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit is durable against a crash of voicebot, and
            # only a power cut can lose the last moments; no fsync per webhook.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            migrate(conn, begin=self.begin)
        except BaseException:
            conn.close()
            raise
        return conn

    def is_transient(self, exc: BaseException) -> bool:
        return False  # one connection, serialised by BEGIN IMMEDIATE: no deadlocks

    def is_broken(self, conn: Connection) -> bool:
        return False


def is_postgres_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def backend_for(target: str | Path) -> SqliteBackend | PostgresBackend:
    """A postgresql:// URL picks PostgreSQL; anything else is a SQLite path."""
    if is_postgres_url(target):
        return PostgresBackend(str(target))
    return SqliteBackend(str(target))
