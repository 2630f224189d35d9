"""Reads: one job, its result, listings newest first, queue counts, the snapshot metrics read."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from pydantic import JsonValue
from redis.exceptions import NoScriptError

from stoker_queue.broker import Broker, translate_errors
from stoker_queue.envelope import JobEnvelope
from stoker_queue.errors import InvalidQueueName, JobNotFound, ResultExpired, ResultNotReady
from stoker_queue.ids import SEPARATOR, queue_of
from stoker_queue.keys import QUEUES_KEY, WORKERS_KEY, QueueKeys, is_valid_queue_name, worker_key
from stoker_queue.records import Job, QueuesSnapshot, QueueStats
from stoker_queue.registry import WorkerInfo
from stoker_queue.status import JobStatus, Priority

# Most jobs one listing page reads while filtering by task.
MAX_SCAN = 5000


def _ulid_part(job_id: str) -> str:
    return job_id.rpartition(SEPARATOR)[2]


class Reader:
    """Read-only views of jobs and queues.

    Args:
        broker: the shared connection.
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    @translate_errors
    async def get_job(self, job_id: str, *, owner: str | None = None) -> Job:
        """Raises ``JobNotFound`` for an unknown id (or one past retention).

        Args:
            owner: when given, a job of any other owner is not found either (tenants never see each other's).
        """
        q = QueueKeys(queue_of(job_id))
        async with self._broker.redis.pipeline(transaction=True) as pipe:
            pipe.hget(q.jobs, job_id)
            pipe.hget(q.state, job_id)
            envelope, state = await pipe.execute()
        if envelope is None or state is None:
            raise JobNotFound(job_id)
        job = Job.read(job_id, envelope, state)
        if owner is not None and job.owner != owner:
            raise JobNotFound(job_id)
        return job

    @translate_errors
    async def get_result(self, job_id: str, *, owner: str | None = None) -> JsonValue:
        """The output of a succeeded job.

        Args:
            owner: when given, a job of any other owner is not found.

        Raises:
            JobNotFound: unknown id.
            ResultNotReady: the job has not succeeded (still active, failed or canceled).
            ResultExpired: the job expired, or its result outlived its TTL.
        """
        q = QueueKeys(queue_of(job_id))
        async with self._broker.redis.pipeline(transaction=True) as pipe:
            pipe.hget(q.jobs, job_id)
            pipe.hget(q.state, job_id)
            pipe.get(q.result(job_id))
            envelope, state, result = await pipe.execute()
        if envelope is None or state is None:
            raise JobNotFound(job_id)
        if owner is not None and JobEnvelope.from_json(envelope).owner != owner:
            raise JobNotFound(job_id)
        status = JobStatus(json.loads(state)["status"])
        if status is JobStatus.SUCCEEDED:
            if result is None:
                raise ResultExpired(job_id, status)
            value: JsonValue = json.loads(result)
            return value
        if status is JobStatus.EXPIRED:
            raise ResultExpired(job_id, status)
        raise ResultNotReady(job_id, status)

    @translate_errors
    async def list_queues(self) -> list[str]:
        """Every queue that has ever had a job submitted, sorted."""
        return sorted(str(m) for m in await self._broker.redis.smembers(QUEUES_KEY))

    @translate_errors
    async def list_jobs(
        self,
        *,
        queue: str | None = None,
        status: JobStatus | None = None,
        task: str | None = None,
        owner: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[Job], str | None]:
        """Jobs newest first, optionally of one queue, one status, one task and one owner.

        The task and owner filters read the index in pages and keep the matches; a page scans at
        most ``MAX_SCAN`` jobs, so it may come back short with a cursor to go on from.

        Args:
            owner: only the jobs this key id submitted.
            cursor: the ``next_cursor`` of the previous page; None for the first.

        Returns:
            the page and the cursor of the next one (None when this page is the last).
        """
        if queue is not None and not is_valid_queue_name(queue):
            raise InvalidQueueName(queue)
        queues = [queue] if queue is not None else await self.list_queues()
        found: list[Job] = []
        scanned = 0
        filtered = task is not None or owner is not None
        while True:
            batch = max(limit, 100) if filtered else limit
            ids, more = await self._index_page(queues, status, cursor, batch)
            for job in await self._load(ids):
                if (task is None or job.task == task) and (owner is None or job.owner == owner):
                    found.append(job)
                if len(found) == limit:
                    last = job.id
                    return found, (last if more or job.id != ids[-1] else None)
            scanned += len(ids)
            cursor = ids[-1] if ids else cursor
            if not more:
                return found, None
            if scanned >= MAX_SCAN:
                return found, cursor

    async def _index_page(
        self, queues: list[str], status: JobStatus | None, cursor: str | None, limit: int
    ) -> tuple[list[str], bool]:
        """Up to ``limit`` ids older than ``cursor`` across ``queues``, newest first, and whether more remain."""
        after = _ulid_part(cursor) if cursor else None
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            for name in queues:
                q = QueueKeys(name)
                index = q.index if status is None else q.status_index(status)
                top = f"({name}{SEPARATOR}{after}" if after else "+"
                # Ids share the queue prefix, so lexicographic order is creation order.
                pipe.zrevrangebylex(index, top, "-", start=0, num=limit + 1)
            pages = await pipe.execute()
        ids = sorted((i for page in pages for i in page), key=_ulid_part, reverse=True)
        return ids[:limit], len(ids) > limit

    async def _load(self, ids: list[str]) -> list[Job]:
        if not ids:
            return []
        by_queue: dict[str, list[str]] = {}
        for job_id in ids:
            by_queue.setdefault(queue_of(job_id), []).append(job_id)
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            for name, members in by_queue.items():
                q = QueueKeys(name)
                pipe.hmget(q.jobs, members)
                pipe.hmget(q.state, members)
            replies = await pipe.execute()
        found: dict[str, Job] = {}
        for n, members in enumerate(by_queue.values()):
            envelopes, states = replies[2 * n], replies[2 * n + 1]
            for job_id, env, st in zip(members, envelopes, states, strict=True):
                if env is not None and st is not None:  # removed by retention since the index read
                    found[job_id] = Job.read(job_id, env, st)
        return [found[i] for i in ids if i in found]

    @translate_errors
    async def queue_stats(self, queue: str) -> QueueStats:
        """Counts read in one atomic step, so they add up."""
        if not is_valid_queue_name(queue):
            raise InvalidQueueName(queue)
        return _stats_of(queue, await self._broker.scripts.stats(QueueKeys(queue), self._broker.now_ms()))

    @translate_errors
    async def snapshot(self, known_queues: Collection[str], *, known_workers: Collection[str] = ()) -> QueuesSnapshot:
        """Every queue's counts and the live workers of each, as a metrics scrape reads them.

        One pipelined round trip reads the queue set, the stats of every queue in ``known_queues``, the
        worker registry and the records of ``known_workers``. A queue or a worker that is not known yet
        costs one more round trip, so pass back what the previous snapshot found (its ``stats`` keys and
        ``worker_ids``); in the steady state a snapshot is one round trip. Each queue's counts are atomic;
        expired workers stay in the registry until ``Registry.list_workers`` prunes them.

        Args:
            known_queues: queues whose stats the first round trip reads.
            known_workers: worker ids whose records the first round trip reads.
        """
        queues = sorted({q for q in known_queues if is_valid_queue_name(q)})
        workers = sorted(set(known_workers))
        members, ids, stats, records = await self._snapshot_read(queues, workers, with_sets=True)
        new_queues = sorted(q for q in members - stats.keys() if is_valid_queue_name(q))
        new_workers = sorted(ids - records.keys())
        if new_queues or new_workers:  # a queue or worker appeared since the last snapshot
            _, _, more_stats, more_records = await self._snapshot_read(new_queues, new_workers, with_sets=False)
            stats |= more_stats
            records |= more_records
        live = [WorkerInfo.model_validate_json(raw) for i in sorted(ids) if (raw := records.get(i)) is not None]
        per_queue = {q: 0 for q in stats if q in members}
        for worker in live:
            for q in set(worker.queues):
                per_queue[q] = per_queue.get(q, 0) + 1
        return QueuesSnapshot(
            stats={q: s for q, s in sorted(stats.items()) if q in members},
            workers=dict(sorted(per_queue.items())),
            worker_ids=frozenset(ids),
        )

    async def _snapshot_read(
        self, queues: list[str], workers: list[str], *, with_sets: bool
    ) -> tuple[set[str], set[str], dict[str, QueueStats], dict[str, str | None]]:
        """One round trip: the queue set and registry (``with_sets``), stats of ``queues``, records of ``workers``."""
        try:
            replies = await self._snapshot_pipeline(queues, workers, with_sets)
        except NoScriptError:  # Redis restarted or flushed its scripts since the last read
            await self._broker.scripts.load("stats")
            replies = await self._snapshot_pipeline(queues, workers, with_sets)
        members: set[str] = set()
        ids: set[str] = set()
        if with_sets:
            members, ids = {str(m) for m in replies[0]}, {str(i) for i in replies[1]}
            replies = replies[2:]
        stats = {q: _stats_of(q, [int(v) for v in r]) for q, r in zip(queues, replies[: len(queues)], strict=True)}
        rest = replies[len(queues) :]
        # A cluster spreads worker records over slots: one GET each instead of one MGET.
        found = rest if self._broker.cluster else (rest[0] if workers else [])
        records: dict[str, str | None] = dict(zip(workers, found, strict=True))
        return members, ids, stats, records

    async def _snapshot_pipeline(self, queues: list[str], workers: list[str], with_sets: bool) -> list[Any]:
        now = self._broker.now_ms()
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            if with_sets:
                pipe.smembers(QUEUES_KEY)
                pipe.zrange(WORKERS_KEY, 0, -1)
            for name in queues:
                self._broker.scripts.stats_on(pipe, QueueKeys(name), now)
            if self._broker.cluster:
                for w in workers:
                    pipe.get(worker_key(w))
            elif workers:
                pipe.mget([worker_key(w) for w in workers])
            return list(await pipe.execute())


def _stats_of(queue: str, values: list[int]) -> QueueStats:
    """A queue's counts from the stats script's reply."""
    now, high, normal, low, scheduled, running, dead, paused, oldest = values
    return QueueStats(
        queue=queue,
        waiting={Priority.HIGH: high, Priority.NORMAL: normal, Priority.LOW: low},
        scheduled=scheduled,
        running=running,
        dead=dead,
        paused=bool(paused),
        oldest_waiting_age_s=None if oldest < 0 else max(0.0, (now - oldest) / 1000),
    )
