"""The real PostgreSQL and Redis that tests and benches use, isolated per use.

PostgreSQL: a fresh schema per use in the `test` database (trust auth on 127.0.0.1),
dropped afterwards, so runs side by side never see each other's rows. Redis: a key
prefix per use, its keys deleted afterwards. Addresses come from VOICEBOT_TEST_PG and
VOICEBOT_TEST_REDIS where set.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import redis

PG_BASE = os.environ.get("VOICEBOT_TEST_PG", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("VOICEBOT_TEST_REDIS", "redis://127.0.0.1:6379/0")


def schema_url(schema: str, base: str = PG_BASE) -> str:
    """The URL whose connections put and find their tables in `schema`."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def postgres_schema(prefix: str = "vb_test") -> Iterator[str]:
    """Yields a postgresql:// URL confined to a new, empty schema; drops it after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextlib.contextmanager
def redis_prefix(prefix: str = "vbtest") -> Iterator[str]:
    """Yields a fresh key prefix; deletes every key under it after."""
    name = f"{prefix}:{uuid.uuid4().hex[:12]}:"
    try:
        yield name
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=name + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
