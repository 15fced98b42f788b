"""The call-record schema and its migrations.

Each migration is a list of statements that takes the database from version N-1 to N.
Databases are only ever moved forward, one step at a time, each step in a transaction;
a database written by a newer voicebot is refused rather than guessed at.

One list serves both backends. It is written in SQLite's dialect and the PostgreSQL
backend translates the few type names that differ (voicebot/store/postgres.py), so a new
migration is added once, here, and the records tests run it on both servers.
"""

from __future__ import annotations

from typing import Any, Protocol

MIGRATIONS: list[list[str]] = [
    # 1: calls, their events and their turns.
    [
        """CREATE TABLE calls (
            call_id      TEXT PRIMARY KEY,
            opened_at    REAL NOT NULL,
            closed_at    REAL,
            close_reason TEXT,
            meta         TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX calls_opened_at ON calls (opened_at)",
        """CREATE TABLE events (
            id      INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (call_id),
            at      REAL NOT NULL,
            kind    TEXT NOT NULL,
            data    TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX events_call ON events (call_id, id)",
        """CREATE TABLE turns (
            id         INTEGER PRIMARY KEY,
            call_id    TEXT NOT NULL REFERENCES calls (call_id),
            idx        INTEGER NOT NULL,
            at         REAL NOT NULL,
            transcript TEXT,
            intent     TEXT,
            confidence REAL,
            slots      TEXT NOT NULL DEFAULT '{}',
            actions    TEXT NOT NULL DEFAULT '[]',
            latencies  TEXT NOT NULL DEFAULT '{}',
            state      TEXT,
            error      TEXT
        )""",
        "CREATE UNIQUE INDEX turns_call ON turns (call_id, idx)",
    ],
    # 2: every webhook delivery, known or not; the key makes redelivery a no-op.
    [
        """CREATE TABLE webhook_deliveries (
            delivery_key TEXT PRIMARY KEY,
            received_at  REAL NOT NULL,
            resource     TEXT NOT NULL,
            event        TEXT NOT NULL,
            call_id      TEXT,
            attempt      INTEGER NOT NULL DEFAULT 1,
            known        INTEGER NOT NULL DEFAULT 1,
            body         TEXT NOT NULL
        )""",
        "CREATE INDEX webhook_deliveries_call ON webhook_deliveries (call_id)",
        # Redeliveries are counted, not stored: how often Ringover had to retry.
        "ALTER TABLE calls ADD COLUMN webhook_retries INTEGER NOT NULL DEFAULT 0",
    ],
    # 3: which worker acknowledged a delivery, and whether it was applied: a worker that
    # dies between its 2xx and applying the webhook leaves it to the others.
    [
        "ALTER TABLE webhook_deliveries ADD COLUMN worker TEXT",
        "ALTER TABLE webhook_deliveries ADD COLUMN applied_at REAL",
        "UPDATE webhook_deliveries SET applied_at = received_at",  # before: all applied
        "CREATE INDEX webhook_deliveries_unapplied ON webhook_deliveries (worker, applied_at)",
    ],
    # 4: the turn record's fields the store used to drop (store/turn.py).
    [
        "ALTER TABLE turns ADD COLUMN dtmf TEXT",
        "ALTER TABLE turns ADD COLUMN no_input INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE turns ADD COLUMN speech_ms INTEGER",
        "ALTER TABLE turns ADD COLUMN entities TEXT NOT NULL DEFAULT '{}'",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    pass


class Connection(Protocol):
    """What the store needs of a database connection: sqlite3's, or the PostgreSQL
    adapter's (which takes the same `?` placeholders)."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def close(self) -> None: ...


def current_version(conn: Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: Connection, target: int = SCHEMA_VERSION, *, begin: str = "BEGIN IMMEDIATE",
            lock: str | None = None) -> int:
    """Bring the database to `target`; return the version it was at.

    `conn` must be in autocommit mode: transactions are explicit. Each step re-reads the
    version inside its transaction (after `lock`, which serialises migrators), so
    workers starting together on one fresh database apply each step exactly once.
    """
    start = current_version(conn)
    if start > SCHEMA_VERSION:
        raise SchemaError(
            f"call database is at schema version {start}, newer than this voicebot "
            f"understands ({SCHEMA_VERSION}); upgrade voicebot or use another --db"
        )
    for version in range(start + 1, target + 1):
        # One explicit transaction per step (DDL is transactional in both backends), so
        # a failed step leaves the database at the previous version, not half-way.
        conn.execute(begin)
        try:
            if lock is not None:
                conn.execute(lock)
            if current_version(conn) >= version:  # another worker got here first
                conn.execute("COMMIT")
                continue
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return start
