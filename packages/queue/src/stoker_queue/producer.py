"""The submitting side: enqueue jobs, cancel them, retry them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from pydantic import JsonValue
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from stoker_queue.broker import Broker, translate_errors
from stoker_queue.envelope import JobEnvelope, WebhookSpec
from stoker_queue.errors import (
    IdempotencyConflict,
    InvalidQueueName,
    InvalidTransition,
    JobNotFound,
    QueueUnavailable,
)
from stoker_queue.ids import new_job_id, queue_of
from stoker_queue.keys import QUEUES_KEY, QueueKeys, is_valid_queue_name
from stoker_queue.scripts import NewJob, Scripts
from stoker_queue.status import JobStatus, Priority

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"
# What enqueue.lua answers, as a job's status, for a job whose idempotency key is taken by another request.
CONFLICT = "conflict"
# How often a producer adds a queue it submits to to the queue set (which lists queues to readers): a
# set emptied under it (FLUSHALL) lists the queue again within this long.
REGISTER_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What a client asks for; the producer turns it into an envelope.

    Args:
        task: registered task name.
        input: any JSON value.
        queue: where it waits; ``default`` if not given.
        priority: claim order among waiting jobs.
        delay_s: wait this long before the job may start.
        ttl_s: expire if not started this long after it became due.
        idempotency_key: submitting the same request under the same key again returns the first
            job; a different request under it is an ``IdempotencyConflict``. Keys are scoped per owner.
        owner: the key id of the API key submitting (never the key itself).
        asked: ``digest`` of what the client sent, where defaults filled in later (say, from the task
            catalog) should not make a resubmission differ; None: a digest of this request.
    """

    task: str
    input: JsonValue = None
    queue: str = DEFAULT_QUEUE
    priority: Priority = Priority.NORMAL
    max_attempts: int = 3
    max_crashes: int = 3
    timeout_s: float | None = None
    ttl_s: float | None = None
    delay_s: float = 0.0
    idempotency_key: str | None = None
    webhook: WebhookSpec | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    trace: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    asked: str | None = None


def digest(asked: object) -> str:
    """SHA-256 of a JSON value, keys sorted: the fingerprint an idempotent resubmission must match."""
    return hashlib.sha256(json.dumps(asked, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def request_digest(req: JobRequest) -> str:
    """``req.asked`` when the caller gave it, else a digest of every field but trace context, key and owner."""
    if req.asked is not None:
        return req.asked
    return digest(
        {
            "task": req.task,
            "input": req.input,
            "queue": req.queue,
            "priority": req.priority.value,
            "max_attempts": req.max_attempts,
            "max_crashes": req.max_crashes,
            "timeout_s": req.timeout_s,
            "ttl_s": req.ttl_s,
            "delay_s": req.delay_s,
            "webhook": req.webhook.model_dump(mode="json") if req.webhook else None,
            "metadata": req.metadata,
        }
    )


def _scoped(req: JobRequest) -> str | None:
    """The idempotency key as stored: one owner's keys never match another's."""
    if req.idempotency_key is None or req.owner is None:
        return req.idempotency_key
    return f"{req.owner}:{req.idempotency_key}"


@dataclass(frozen=True, slots=True)
class Submitted:
    """A submit's answer: the job id, False when an idempotency key matched an existing job, and
    the job's status (that existing job's, on a match)."""

    id: str
    created: bool
    status: JobStatus


class Producer:
    """Submits and controls jobs.

    Args:
        broker: the shared connection.
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._registered: dict[str, float] = {}  # queue -> when this producer last added it to the queue set

    async def submit(self, request: JobRequest) -> Submitted:
        """Enqueue one job."""
        return (await self.submit_many([request]))[0]

    @translate_errors
    async def submit_many(self, requests: list[JobRequest]) -> list[Submitted]:
        """Enqueue jobs, one script call per queue, all in one round trip. Answers in request order.

        Raises:
            IdempotencyConflict: a job's idempotency key names a job submitted with a different
                request; no job of the batch was written (in a batch over several queues, a conflict
                that arises between the check and the write leaves the other queues' jobs written).
        """
        by_queue: dict[str, list[tuple[int, NewJob]]] = defaultdict(list)
        for i, req in enumerate(requests):
            if not is_valid_queue_name(req.queue):
                raise InvalidQueueName(req.queue)
            by_queue[req.queue].append((i, self._new_job(req)))
        if len(by_queue) > 1:
            await self._refuse_conflicts(requests, by_queue)
        now = self._broker.now_ms()
        out: list[Submitted | None] = [None] * len(requests)
        replies = await self._enqueue(by_queue, now)
        for (_, jobs), reply in zip(by_queue.items(), replies, strict=True):
            decoded = Scripts.decode_enqueue(reply)
            conflict = next(
                (i for (i, _), (_, _, status) in zip(jobs, decoded, strict=True) if status == CONFLICT), None
            )
            if conflict is not None:
                raise IdempotencyConflict(requests[conflict].idempotency_key or "")
            for (i, _), (job_id, created, status) in zip(jobs, decoded, strict=True):
                out[i] = Submitted(id=job_id, created=created, status=JobStatus(status))
        return [s for s in out if s is not None]

    async def _enqueue(self, by_queue: dict[str, list[tuple[int, NewJob]]], now: int | None) -> list[Any]:
        """One enqueue script call per queue, in queue order; the queue set is told of each queue once per
        ``REGISTER_EVERY_S``, so a steady stream of submits to one queue is one EVALSHA each."""
        if not by_queue:
            return []
        scripts, redis = self._broker.scripts, self._broker.redis
        began = monotonic()
        unregistered = [q for q in by_queue if began - self._registered.get(q, -REGISTER_EVERY_S) >= REGISTER_EVERY_S]
        calls = [(QueueKeys(q), [j for _, j in jobs]) for q, jobs in by_queue.items()]
        replies: list[Any]
        if isinstance(redis, RedisCluster):
            # A cluster pipeline queues scripts without loading them; each call on its own loads its
            # script on the node that lacks it. The calls go out together, one per node at most.
            registering = [redis.sadd(QUEUES_KEY, *unregistered)] if unregistered else []
            done = await asyncio.gather(*registering, *(scripts.enqueue(q, now, jobs) for q, jobs in calls))
            replies = list(done[len(registering) :])
        elif len(calls) == 1 and not unregistered:
            ((q, jobs),) = calls
            replies = [await scripts.enqueue(q, now, jobs)]
        else:
            replies = await self._enqueue_pipelined(calls, unregistered, now)
        for queue in unregistered:
            self._registered[queue] = began
        return replies

    async def _enqueue_pipelined(
        self, calls: list[tuple[QueueKeys, list[NewJob]]], unregistered: list[str], now: int | None
    ) -> list[Any]:
        scripts = self._broker.scripts
        for _ in range(2):
            async with self._broker.redis.pipeline(transaction=False) as pipe:
                if unregistered:
                    pipe.sadd(QUEUES_KEY, *unregistered)
                for q, jobs in calls:
                    scripts.enqueue_on(pipe, q, now, jobs)
                try:
                    replies = await pipe.execute()
                except NoScriptError:
                    # Redis lost the script (a restart): no call of the pipeline ran; load it and repeat.
                    await scripts.load("enqueue")
                    continue
            return list(replies[1:] if unregistered else replies)
        raise QueueUnavailable("redis lost the enqueue script again as soon as it was loaded")

    async def _refuse_conflicts(
        self, requests: list[JobRequest], by_queue: dict[str, list[tuple[int, NewJob]]]
    ) -> None:
        """Before a batch over several queues is written: each queue's script checks only its own share."""
        keyed = [
            (QueueKeys(queue), i, job) for queue, jobs in by_queue.items() for i, job in jobs if job.idempotency_key
        ]
        seen: dict[str, str] = {}
        for q, i, job in keyed:  # the same key twice in the batch, for different requests
            key, digest = q.idempotency(job.idempotency_key or ""), request_digest(requests[i])
            if seen.setdefault(key, digest) != digest:
                raise IdempotencyConflict(requests[i].idempotency_key or "")
        if not keyed:
            return
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            for q, _, job in keyed:
                pipe.get(q.idempotency(job.idempotency_key or ""))
            held = await pipe.execute()
        taken = [(q, i, job_id) for (q, i, _), job_id in zip(keyed, held, strict=True) if job_id is not None]
        if not taken:
            return
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            for q, _, job_id in taken:
                pipe.hget(q.jobs, job_id)
            envelopes = await pipe.execute()
        for (_, i, _), raw in zip(taken, envelopes, strict=True):
            theirs = JobEnvelope.from_json(raw).request_digest if raw is not None else None
            # A job written before digests (None) matches any request, as in enqueue.lua.
            if theirs is not None and theirs != request_digest(requests[i]):
                raise IdempotencyConflict(requests[i].idempotency_key or "")

    def _new_job(self, req: JobRequest) -> NewJob:
        job_id = new_job_id(req.queue, self._broker.wall_ms())
        envelope = JobEnvelope(
            id=job_id,
            task=req.task,
            queue=req.queue,
            input=req.input,
            priority=req.priority,
            max_attempts=req.max_attempts,
            max_crashes=req.max_crashes,
            timeout_s=req.timeout_s,
            ttl_s=req.ttl_s,
            delay_s=req.delay_s,
            webhook=req.webhook,
            metadata=req.metadata,
            trace=req.trace,
            idempotency_key=req.idempotency_key,
            request_digest=request_digest(req) if req.idempotency_key else None,
            owner=req.owner,
        )
        return NewJob(
            id=job_id,
            task=req.task,
            envelope_json=envelope.to_json(),
            priority=req.priority.value,
            max_attempts=req.max_attempts,
            max_crashes=req.max_crashes,
            delay_ms=max(0, round(req.delay_s * 1000)),
            ttl_ms=max(0, round((req.ttl_s or 0) * 1000)),
            idempotency_key=_scoped(req),
            idempotency_ttl_ms=round(self._broker.options.idempotency_ttl_s * 1000),
            has_webhook=req.webhook is not None,
        )

    @translate_errors
    async def cancel(self, job_id: str) -> JobStatus:
        """Cancel a job: a waiting one at once, a running one by a flag its worker sees.

        Returns:
            ``canceled``, or ``running`` when the cancel was requested of a running job.

        Raises:
            JobNotFound: no such job.
            InvalidTransition: the job had already finished.
        """
        outcome, status = await self._broker.scripts.cancel(QueueKeys(queue_of(job_id)), self._broker.now_ms(), job_id)
        if outcome == "missing":
            raise JobNotFound(job_id)
        if outcome == "final":
            raise InvalidTransition(job_id, status, "cancel")
        return JobStatus(status)

    @translate_errors
    async def retry(self, job_id: str) -> JobStatus:
        """Queue a failed, canceled or expired job again, with fresh attempts.

        Raises:
            JobNotFound: no such job.
            InvalidTransition: the job is still queued, scheduled, running, or it succeeded.
        """
        outcome, status = await self._broker.scripts.retry(QueueKeys(queue_of(job_id)), self._broker.now_ms(), job_id)
        if outcome == "missing":
            raise JobNotFound(job_id)
        if outcome == "active":
            raise InvalidTransition(job_id, status, "retry")
        return JobStatus(status)
