"""The live-call directory in Redis: which worker holds which call, who is alive, and
each worker's inbox of webhooks for its calls.

Keys, under a prefix (cluster.key_prefix):
  workers          set of worker ids that have ever heartbeated and not been swept
  alive:<worker>   exists while the worker heartbeats; expires worker_ttl_s after the last
  calls            hash call id -> worker holding its media session
  wcalls:<worker>  set of the call ids that worker holds (what to close if it dies)
  inbox:<worker>   stream of webhooks other workers routed to it
  pending:<call>   list of webhooks for a call no worker holds yet; expires like the
                   in-process registry's pending webhooks
  waiting          sorted set of the calls with pending webhooks, by first arrival: the
                   oldest is forgotten when more than max_pending_calls wait

The two steps that race (a webhook looking for its call's worker, a worker claiming the
call) are each one Lua script, so Redis runs them one after the other: a webhook either
finds the worker, or is left in `pending:` where the claim picks it up. None is lost
between the two. Keys built inside the scripts are fine on one Redis server (and on a
replicated one); Redis Cluster would need hash tags, which a phone fleet does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis

# KEYS: calls, pending:<call>, waiting. ARGV: prefix, call id, event, max events per call,
# pending ttl ms, max waiting calls. Returns the worker that took the event, "" if it
# waits in pending, nil if that call already has too many waiting. As in the in-process
# registry, waiting is bounded in age and in calls: the oldest waiting call is forgotten
# to make room (`waiting` orders them by first webhook, on Redis's own clock).
_ROUTE = """
local owner = redis.call('HGET', KEYS[1], ARGV[2])
if owner and redis.call('EXISTS', ARGV[1] .. 'alive:' .. owner) == 1 then
  redis.call('XADD', ARGV[1] .. 'inbox:' .. owner, 'MAXLEN', '~', 100000, '*', 'e', ARGV[3])
  return owner
end
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[4]) then
  return nil
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[5]))
if not redis.call('ZSCORE', KEYS[3], ARGV[2]) then
  while redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) do
    local oldest = redis.call('ZPOPMIN', KEYS[3])
    redis.call('DEL', ARGV[1] .. 'pending:' .. oldest[1])
  end
  redis.call('ZADD', KEYS[3], now, ARGV[2])
end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return ''
"""

# KEYS: calls, wcalls:<worker>, pending:<call>, waiting. ARGV: call id, worker.
# Returns the webhooks that waited for the call, oldest first; they are removed.
_CLAIM = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
local events = redis.call('LRANGE', KEYS[3], 0, -1)
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
return events
"""

# KEYS: calls, wcalls:<worker>. ARGV: call id, worker. Only the holder releases.
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: calls, wcalls:<dead>, inbox:<dead>, reap:<dead>, workers. ARGV: dead worker.
# A call claimed since by a live worker keeps its new entry.
_FORGET = """
for _, call_id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('HGET', KEYS[1], call_id) == ARGV[1] then
    redis.call('HDEL', KEYS[1], call_id)
  end
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[5], ARGV[1])
return 1
"""

@dataclass(frozen=True, slots=True)
class Routed:
    """Where a webhook went: to `worker`'s inbox, or waiting (`worker` None), or dropped."""

    worker: str | None
    dropped: bool = False


def encode(name: str, call_id: str, data: dict[str, Any]) -> str:
    return json.dumps({"name": name, "call_id": call_id, "data": data}, ensure_ascii=False)


def decode(raw: str | bytes) -> tuple[str, str, dict[str, Any]]:
    event = json.loads(raw)
    return str(event["name"]), str(event["call_id"]), dict(event["data"])


class Directory:
    """One worker's handle on the shared directory (all methods are one round trip)."""

    def __init__(self, client: aioredis.Redis, worker: str, prefix: str) -> None:
        self.redis = client
        self.worker = worker
        self.prefix = prefix
        self._route = client.register_script(_ROUTE)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._forget = client.register_script(_FORGET)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # -- this worker ---------------------------------------------------------------

    def heartbeat(self, client: redis.Redis, ttl_s: float) -> bool:
        """Say this worker is alive for `ttl_s` more; False if it had been given up for
        dead (its key had expired), so its calls may have been swept and need claiming.

        Blocking, on a client of its own: the heartbeat runs on a thread (cluster.py) so
        that a busy event loop does not make a live worker look dead.
        """
        with client.pipeline(transaction=True) as pipe:
            pipe.set(self.key("alive", self.worker), "1", px=int(ttl_s * 1000), get=True)
            pipe.sadd(self.key("workers"), self.worker)
            previous, _ = pipe.execute()
        return previous is not None

    async def leave(self) -> None:
        """A clean exit: this worker's calls have ended; remove every trace of it."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key("alive", self.worker), self.key("inbox", self.worker),
                        self.key("wcalls", self.worker))
            pipe.srem(self.key("workers"), self.worker)
            await pipe.execute()

    async def read_inbox(self, after: str, block_ms: int, count: int = 100
                         ) -> list[tuple[str, str]]:
        """Events routed to this worker after stream id `after`: [(id, payload)]."""
        reply: Any = await self.redis.xread({self.key("inbox", self.worker): after},
                                            count=count, block=block_ms)
        out: list[tuple[str, str]] = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                out.append((_text(entry_id), _text(fields[b"e"])))
        return out

    async def ack_inbox(self, ids: list[str]) -> None:
        if ids:
            await self.redis.xdel(self.key("inbox", self.worker), *ids)

    # -- calls -----------------------------------------------------------------------

    async def route(self, name: str, call_id: str, data: dict[str, Any], *,
                    max_pending: int, pending_ttl_s: float, max_waiting_calls: int) -> Routed:
        worker = await self._route(
            keys=[self.key("calls"), self.key("pending", call_id), self.key("waiting")],
            args=[self.prefix, call_id, encode(name, call_id, data), max_pending,
                  int(pending_ttl_s * 1000), max_waiting_calls],
        )
        if worker is None:
            return Routed(None, dropped=True)
        worker = _text(worker)
        return Routed(worker or None)

    async def claim(self, call_id: str) -> list[tuple[str, dict[str, Any]]]:
        raw = await self._claim(
            keys=[self.key("calls"), self.key("wcalls", self.worker), self.key("pending", call_id),
                  self.key("waiting")],
            args=[call_id, self.worker],
        )
        events = [decode(r) for r in raw]
        return [(name, data) for name, _, data in events]

    async def release(self, call_id: str) -> None:
        await self._release(keys=[self.key("calls"), self.key("wcalls", self.worker)],
                            args=[call_id, self.worker])

    async def reclaim(self, call_ids: list[str]) -> None:
        """After being given up for dead: say again which calls this worker holds."""
        if not call_ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key("calls"), mapping=dict.fromkeys(call_ids, self.worker))
            pipe.sadd(self.key("wcalls", self.worker), *call_ids)
            await pipe.execute()

    async def owner(self, call_id: str) -> str | None:
        worker = await self.redis.hget(self.key("calls"), call_id)
        return None if worker is None else _text(worker)

    # -- other workers ---------------------------------------------------------------

    async def dead_workers(self) -> list[str]:
        workers = [_text(w) for w in await self.redis.smembers(self.key("workers"))]
        others = [w for w in workers if w != self.worker]
        if not others:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for w in others:
                pipe.exists(self.key("alive", w))
            alive = await pipe.execute()
        return [w for w, a in zip(others, alive, strict=True) if not a]

    async def lock_reap(self, worker: str, hold_s: float) -> bool:
        """Only one survivor sweeps a dead worker; the lock expires if that one dies too."""
        return bool(await self.redis.set(self.key("reap", worker), self.worker, nx=True,
                                         px=int(hold_s * 1000)))

    async def calls_of(self, worker: str) -> list[str]:
        return [_text(c) for c in await self.redis.smembers(self.key("wcalls", worker))]

    async def forget_worker(self, worker: str) -> None:
        """After its calls' records are closed: drop the dead worker's entries."""
        await self._forget(
            keys=[self.key("calls"), self.key("wcalls", worker), self.key("inbox", worker),
                  self.key("reap", worker), self.key("workers")],
            args=[worker],
        )

def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
