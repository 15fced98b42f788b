"""Every records test runs twice: on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from voicebot.store.backends import backend_for
from voicebot.store.postgres import MIGRATION_LOCK, PgConnection
from voicebot.testing.datastores import postgres_schema


@dataclass
class Backend:
    name: str
    url: str  # a SQLite file, or a postgresql:// URL confined to a fresh schema

    def raw(self) -> Any:
        """A bare connection (no migration), as an older voicebot would have left it."""
        if self.name == "sqlite":
            return sqlite3.connect(self.url, isolation_level=None)
        return PgConnection(psycopg.connect(self.url, autocommit=True))

    @property
    def migrate_options(self) -> dict[str, Any]:
        backend = backend_for(self.url)
        return {"begin": backend.begin, "lock": None if self.name == "sqlite" else MIGRATION_LOCK}

    def tables(self, conn: Any) -> set[str]:
        if self.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type='table'"
        else:
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = " \
                  "current_schema()"
        return {r[0] for r in conn.execute(sql).fetchall()}

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.OperationalError,) if self.name == "sqlite" else (psycopg.Error,)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / "calls.sqlite3"))
        return
    with postgres_schema() as url:
        yield Backend("postgresql", url)
