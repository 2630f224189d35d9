"""The Lua scripts: loaded from ``lua/*.lua`` with the shared prelude, one typed wrapper each.

Every script receives the queue's core keys (``keys.core_keys``) first; per-call keys follow.
Each call is one bare EVALSHA; a script Redis lost (a restart, ``SCRIPT FLUSH``) is loaded again and the
call repeated. On a pipeline the caller repeats: redis-py's own script objects would send a ``SCRIPT EXISTS``
ahead of every pipeline, a second round trip on each submit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from redis.exceptions import NoScriptError

from stoker_queue.keys import QueueKeys, core_keys

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline
    from redis.asyncio.cluster import ClusterPipeline, RedisCluster
    from redis.commands.core import AsyncScript

CORE_KEY_COUNT = 23
# Script name -> how many keys its caller passes after the core keys (None: one per item).
SCRIPT_EXTRA_KEYS: dict[str, int | None] = {
    "enqueue": None,
    "claim": 0,
    "renew": 0,
    "ack": None,
    "fail": 0,
    "release": 0,
    "progress": 0,
    "cancel": 0,
    "retry": 1,
    "reap": 0,
    "promote": 0,
    "expire": 0,
    "trim": 0,
    "purge": 0,
    "retry_dead": 0,
    "set_paused": 0,
    "stats": 0,
    "webhook_take": 0,
    "webhook_settle": 0,
    "schedule_tick": 1,
}


# Scripts on keys of their own rather than a queue's: name -> how many keys they take.
STANDALONE_SCRIPTS: dict[str, int] = {"ratelimit": 1}


@cache
def script_source(name: str) -> str:
    """The full source that Redis runs: the shared helpers, then the script."""
    lua = resources.files("stoker_queue") / "lua"
    parts = ["_clock.lua"] + ([] if name in STANDALONE_SCRIPTS else ["_prelude.lua"]) + [f"{name}.lua"]
    return "\n".join((lua / part).read_text() for part in parts)


@functools.lru_cache(maxsize=4096)
def _encoded_core_keys(q: QueueKeys) -> tuple[bytes, ...]:
    """The core keys as the bytes Redis receives: encoded once per queue, not on every call."""
    return tuple(key.encode() for key in core_keys(q))


def _now_arg(now_ms: int | None) -> str:
    return "" if now_ms is None else str(now_ms)


@dataclass(frozen=True, slots=True)
class NewJob:
    """One job for ``enqueue``: the envelope JSON plus what the script needs unparsed."""

    id: str
    task: str
    envelope_json: str
    priority: str
    max_attempts: int
    max_crashes: int
    delay_ms: int
    ttl_ms: int
    idempotency_key: str | None
    idempotency_ttl_ms: int
    has_webhook: bool = False


@dataclass(frozen=True, slots=True)
class DoneJob:
    """One job for ``ack``: the claim that finished and its output JSON."""

    id: str
    token: int
    output_json: str


@dataclass(frozen=True, slots=True)
class ScheduleTick:
    """One call of ``schedule_tick``: move schedule ``name`` from the state ``seen`` (its JSON as read,
    '' for none) to ``next_ms``, taking the tick ``fire_ms`` with ``job`` (None: take no tick)."""

    name: str
    seen: str
    timing: str
    next_ms: int
    fire_ms: int | None = None
    job: NewJob | None = None


def _enqueue_call(q: QueueKeys, now_ms: int | None, jobs: list[NewJob]) -> tuple[list[str | bytes], list[Any]]:
    args: list[Any] = [_now_arg(now_ms), len(jobs)]
    extra: list[str] = []
    for j in jobs:
        idem_ttl = j.idempotency_ttl_ms if j.idempotency_key else 0
        args += [
            j.id,
            j.envelope_json,
            j.priority,
            j.max_attempts,
            j.max_crashes,
            j.delay_ms,
            j.ttl_ms,
            idem_ttl,
            1 if j.has_webhook else 0,
            j.task,
        ]
        if j.idempotency_key:
            extra.append(q.idempotency(j.idempotency_key))
    return [*_encoded_core_keys(q), *extra], args


class Scripts:
    """Every script, registered once on a client."""

    def __init__(self, redis: Redis | RedisCluster) -> None:
        self._redis = redis
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(script_source(name)) for name in [*SCRIPT_EXTRA_KEYS, *STANDALONE_SCRIPTS]
        }

    async def _call(self, name: str, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
        script = self._scripts[name]
        try:
            return await self._redis.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.load(name)
            return await self._redis.evalsha(script.sha, len(keys), *keys, *args)

    def _on(
        self, pipe: Pipeline | ClusterPipeline, name: str, keys: Sequence[str | bytes], args: Sequence[Any]
    ) -> None:
        """Queue a call on ``pipe`` as a bare EVALSHA (a script registered on a pipeline makes every
        ``execute`` send a ``SCRIPT EXISTS`` first). If Redis lost the script, ``execute`` raises
        ``NoScriptError``: ``load(name)`` and run again."""
        pipe.evalsha(self._scripts[name].sha, len(keys), *keys, *args)

    async def _run(
        self, name: str, q: QueueKeys, now_ms: int | None, *args: Any, extra_keys: Sequence[str] = ()
    ) -> Any:
        return await self._call(name, (*_encoded_core_keys(q), *extra_keys), (_now_arg(now_ms), *args))

    def enqueue_on(
        self, pipe: Pipeline | ClusterPipeline, q: QueueKeys, now_ms: int | None, jobs: list[NewJob]
    ) -> None:
        """Queue an enqueue call on ``pipe`` (see ``_on``); ``decode_enqueue`` reads its reply."""
        self._on(pipe, "enqueue", *_enqueue_call(q, now_ms, jobs))

    async def enqueue(self, q: QueueKeys, now_ms: int | None, jobs: list[NewJob]) -> list[Any]:
        """One enqueue call on its own; ``decode_enqueue`` reads its reply."""
        keys, args = _enqueue_call(q, now_ms, jobs)
        return list(await self._call("enqueue", keys, args))

    @staticmethod
    def decode_enqueue(reply: list[Any]) -> list[tuple[str, bool, str]]:
        """Per job: its id (an existing one on an idempotency hit), whether it was created, its status."""
        return [(str(reply[i]), bool(reply[i + 1]), str(reply[i + 2])) for i in range(0, len(reply), 3)]

    async def claim(
        self, q: QueueKeys, now_ms: int | None, limit: int, lease_ms: int, worker: str, tasks: Sequence[str] = ()
    ) -> list[Any]:
        return list(await self._run("claim", q, now_ms, limit, lease_ms, worker, *tasks))

    def claim_on(
        self,
        pipe: Pipeline | ClusterPipeline,
        q: QueueKeys,
        now_ms: int | None,
        limit: int,
        lease_ms: int,
        worker: str,
        tasks: Sequence[str] = (),
    ) -> None:
        """Queue a claim call on ``pipe`` (see ``_on``)."""
        self._on(pipe, "claim", _encoded_core_keys(q), (_now_arg(now_ms), limit, lease_ms, worker, *tasks))

    async def renew(self, q: QueueKeys, now_ms: int | None, lease_ms: int, held: list[tuple[str, int]]) -> list[int]:
        flat = [v for pair in held for v in pair]
        return [int(c) for c in await self._run("renew", q, now_ms, lease_ms, *flat)]

    async def ack(self, q: QueueKeys, now_ms: int | None, ttl_ms: int, jobs: Sequence[DoneJob]) -> list[bool]:
        """Per job, whether its output was stored (False: its lease was lost)."""
        args: list[Any] = [ttl_ms]
        for job in jobs:
            args += [job.id, job.token, job.output_json]
        reply = await self._run("ack", q, now_ms, *args, extra_keys=[q.result(job.id) for job in jobs])
        return [bool(v) for v in reply]

    async def fail(
        self,
        q: QueueKeys,
        now_ms: int | None,
        job_id: str,
        token: int,
        error: dict[str, Any],
        delay_ms: int,
        final: str,
        trace: str = "",
    ) -> str:
        return str(await self._run("fail", q, now_ms, job_id, token, json.dumps(error), delay_ms, final, trace))

    async def release(self, q: QueueKeys, now_ms: int | None, job_id: str, token: int, trace: str = "") -> bool:
        return bool(await self._run("release", q, now_ms, job_id, token, trace))

    async def progress(
        self, q: QueueKeys, now_ms: int | None, job_id: str, token: int, fraction: float, message: str
    ) -> int:
        return int(await self._run("progress", q, now_ms, job_id, token, repr(float(fraction)), message))

    async def cancel(self, q: QueueKeys, now_ms: int | None, job_id: str) -> tuple[str, str]:
        outcome, status = await self._run("cancel", q, now_ms, job_id, q.cancels)
        return str(outcome), str(status)

    async def retry(self, q: QueueKeys, now_ms: int | None, job_id: str) -> tuple[str, str]:
        outcome, status = await self._run("retry", q, now_ms, job_id, extra_keys=[q.result(job_id)])
        return str(outcome), str(status)

    async def reap(
        self, q: QueueKeys, now_ms: int | None, limit: int
    ) -> tuple[int, int, int, list[tuple[str, str, str]]]:
        """Counts requeued, failed and canceled, then (id, task, new status) of each reaped job."""
        requeued, failed, canceled, *reaped = await self._run("reap", q, now_ms, limit)
        jobs = [(str(reaped[i]), str(reaped[i + 1]), str(reaped[i + 2])) for i in range(0, len(reaped), 3)]
        return int(requeued), int(failed), int(canceled), jobs

    async def promote(self, q: QueueKeys, now_ms: int | None, limit: int) -> int:
        return int(await self._run("promote", q, now_ms, limit))

    async def expire(self, q: QueueKeys, now_ms: int | None, limit: int) -> int:
        return int(await self._run("expire", q, now_ms, limit))

    async def trim(self, q: QueueKeys, now_ms: int | None, retention_ms: int, dead_max: int, limit: int) -> int:
        return int(await self._run("trim", q, now_ms, retention_ms, dead_max, limit))

    async def purge(self, q: QueueKeys, now_ms: int | None, limit: int) -> int:
        return int(await self._run("purge", q, now_ms, limit))

    async def retry_dead(self, q: QueueKeys, now_ms: int | None, limit: int) -> int:
        return int(await self._run("retry_dead", q, now_ms, limit))

    async def set_paused(self, q: QueueKeys, now_ms: int | None, paused: bool) -> None:
        await self._run("set_paused", q, now_ms, "1" if paused else "0")

    async def stats(self, q: QueueKeys, now_ms: int | None) -> list[int]:
        return [int(v) for v in await self._run("stats", q, now_ms)]

    def stats_on(self, pipe: Pipeline | ClusterPipeline, q: QueueKeys, now_ms: int | None) -> None:
        """Queue a stats call on ``pipe`` (see ``_on``); ``[int(v) for v in reply]`` reads it after ``execute``."""
        self._on(pipe, "stats", _encoded_core_keys(q), (_now_arg(now_ms),))

    async def schedule_tick(self, q: QueueKeys, now_ms: int | None, tick: ScheduleTick) -> tuple[str, str]:
        """The outcome (``schedule_tick.lua`` lists them) and the id of the tick's job, '' if none."""
        job = tick.job
        job_args = (
            [job.id, job.envelope_json, job.priority, job.max_attempts, job.max_crashes, job.task] if job else [""] * 6
        )
        args = [tick.name, tick.seen, tick.timing, tick.next_ms, "" if tick.fire_ms is None else tick.fire_ms]
        outcome, job_id = await self._run("schedule_tick", q, now_ms, *args, *job_args, extra_keys=[q.schedules])
        return str(outcome), str(job_id)

    async def load(self, name: str) -> None:
        """Load one script into Redis (after a ``NoScriptError`` from a bare EVALSHA)."""
        script = self._scripts[name]
        script.sha = await script.registered_client.script_load(script.script)

    async def ratelimit(
        self, key: str, now_ms: int | None, interval_ms: float, burst: int, cost: int
    ) -> tuple[bool, int]:
        allowed, retry_ms = await self._call("ratelimit", [key], [_now_arg(now_ms), repr(interval_ms), burst, cost])
        return bool(allowed), int(retry_ms)

    async def webhook_take(self, q: QueueKeys, now_ms: int | None, limit: int, visibility_ms: int) -> list[Any]:
        return list(await self._run("webhook_take", q, now_ms, limit, visibility_ms))

    async def webhook_settle(
        self, q: QueueKeys, now_ms: int | None, job_id: str, attempt: int, outcome: str, error: str, delay_ms: int
    ) -> bool:
        return bool(await self._run("webhook_settle", q, now_ms, job_id, attempt, outcome, error, delay_ms))
