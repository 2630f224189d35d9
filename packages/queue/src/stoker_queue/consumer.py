"""The worker side: claim jobs (blocking without polling), keep leases, report outcomes."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue
from redis.exceptions import NoScriptError

from stoker_queue.backoff import Backoff
from stoker_queue.broker import Broker, translate_errors
from stoker_queue.envelope import JobEnvelope
from stoker_queue.errors import LeaseLost
from stoker_queue.groupcommit import GroupCommit
from stoker_queue.keys import QueueKeys
from stoker_queue.records import Attempts, ClaimBatch, ClaimedJob
from stoker_queue.scripts import DoneJob
from stoker_queue.status import JobStatus

log = logging.getLogger(__name__)

_CLAIM_FIELDS = 10  # id, token, envelope, error, crash, evicted, created, enqueued, started, trace
# Redis reads a BLPOP timeout that rounds to 0 ms as "block forever": never ask for less than this.
MIN_BLOCK_S = 0.01


@dataclass(frozen=True, slots=True)
class RenewOutcome:
    """After a renewal: claims whose lease is gone, as (job id, lease token) — the same job may be held
    again under a newer claim, which is not lost — and jobs asked to cancel."""

    lost: frozenset[tuple[str, int]]
    cancel_requested: frozenset[str]


def encode_output(output: JsonValue) -> str:
    """Strict JSON: NaN and infinities are refused rather than stored as invalid JSON."""
    return json.dumps(output, separators=(",", ":"), allow_nan=False)


class Consumer:
    """Claims and settles jobs for one worker.

    Args:
        broker: the shared connection.
        worker_id: recorded on each claimed job.
        lease_s: how long a claim stays valid without renewal.
        max_block_s: longest single blocking wait; below the socket timeout so it never trips it.
        tasks: the tasks this consumer runs; a job of another task is left waiting, in its place, for a
            worker that serves it, uncharged (none given: every task).
    """

    def __init__(
        self,
        broker: Broker,
        *,
        worker_id: str,
        lease_s: float = 30.0,
        max_block_s: float = 2.0,
        tasks: Iterable[str] = (),
    ) -> None:
        self._broker = broker
        self.worker_id = worker_id
        # Claim only jobs of these tasks (empty: every task); others wait for a worker that serves them.
        self.tasks = tuple(sorted(tasks))
        self.lease_s = lease_s
        self._lease_ms = round(lease_s * 1000)
        self._max_block_s = max_block_s
        self._acks: GroupCommit[str, DoneJob, bool] = GroupCommit(self._ack_many)

    @translate_errors
    async def claim(self, queue: str, limit: int = 1, *, block_s: float = 0.0, wait_first: bool = False) -> ClaimBatch:
        """Claim up to ``limit`` jobs from ``queue``, highest priority first.

        With ``block_s > 0`` an empty queue is waited on for up to that long: the wait is a BLPOP
        on the queue's wake list, which every enqueue pushes to, so a new job is picked up as soon
        as it lands; a scheduled job shortens the wait to its due time.

        Args:
            wait_first: the caller's last claim emptied the queue (and nothing was scheduled): start
                with the wait, whose wake list holds a token for every job that came since.
        """
        q = QueueKeys(queue)
        deadline = time.monotonic() + block_s
        if wait_first and block_s >= MIN_BLOCK_S:
            batch = await self._claim_after_wake(q, limit, min(block_s, self._max_block_s))
        else:
            batch = await self._claim_once(q, limit)
        while not batch.jobs:
            remaining = deadline - time.monotonic()
            if remaining < MIN_BLOCK_S:
                break
            wait = min(remaining, self._max_block_s)
            now = self._broker.now_ms()
            if batch.next_due_ms is not None and now is not None:
                wait = min(wait, (batch.next_due_ms - now) / 1000)
            elif batch.next_due_ms is not None:
                wait = min(wait, 0.05)  # Redis keeps the clock; recheck the due job soon
            batch = await self._claim_after_wake(q, limit, max(MIN_BLOCK_S, wait))
        return batch

    async def _claim_after_wake(self, q: QueueKeys, limit: int, wait_s: float) -> ClaimBatch:
        """Block on the wake list, then claim. Sent as one pipeline: Redis runs the claim the moment the
        wait ends, with no round trip between (a blocked client's next command waits in Redis)."""
        if self._broker.cluster:
            await self._broker.redis.blpop([q.wake], timeout=wait_s)
            return await self._claim_once(q, limit)
        scripts = self._broker.scripts
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            pipe.blpop([q.wake], timeout=wait_s)
            scripts.claim_on(pipe, q, self._broker.now_ms(), limit, self._lease_ms, self.worker_id, self.tasks)
            try:
                _, reply = await pipe.execute()
            except NoScriptError:  # Redis lost the script: the wait happened, the claim did not
                await scripts.load("claim")
                return await self._claim_once(q, limit)
        return await self._decode_claim(q, reply)

    async def _claim_once(self, q: QueueKeys, limit: int) -> ClaimBatch:
        now = self._broker.now_ms()
        reply = await self._broker.scripts.claim(q, now, limit, self._lease_ms, self.worker_id, self.tasks)
        return await self._decode_claim(q, reply)

    async def _decode_claim(self, q: QueueKeys, reply: list[Any]) -> ClaimBatch:
        paused, next_due = bool(reply[0]), int(reply[1])
        jobs = []
        for i in range(2, len(reply), _CLAIM_FIELDS):
            job_id, token, envelope, error, crash, evicted, created, enqueued, started, trace = reply[
                i : i + _CLAIM_FIELDS
            ]
            try:
                parsed = JobEnvelope.from_json(envelope)
            except ValueError as exc:  # pydantic's ValidationError included
                await self._dead_letter_corrupt(q, str(job_id), int(token), exc)
                continue
            jobs.append(
                ClaimedJob(
                    envelope=parsed,
                    token=int(token),
                    attempts=Attempts(error=int(error), crash=int(crash), evicted=int(evicted)),
                    created_at_ms=int(created),
                    enqueued_at_ms=int(enqueued),
                    started_at_ms=int(started),
                    previous_attempt_trace=str(trace) or None,
                )
            )
        return ClaimBatch(jobs=jobs, paused=paused, next_due_ms=None if next_due < 0 else next_due)

    async def _dead_letter_corrupt(self, q: QueueKeys, job_id: str, token: int, exc: ValueError) -> None:
        """An envelope that does not decode is no job to run: dead-letter it with the reason, at once."""
        log.error("job %s: its envelope in Redis does not decode; dead-lettered (%s)", job_id, str(exc)[:200])
        error = {"code": "corrupt_job", "message": f"the job's envelope in Redis does not decode: {str(exc)[:500]}"}
        await self._broker.scripts.fail(q, self._broker.now_ms(), job_id, token, error, -1, "failed")

    @translate_errors
    async def renew(self, jobs: list[ClaimedJob]) -> RenewOutcome:
        """Extend the leases of ``jobs`` (one script call per queue)."""
        lost: set[tuple[str, int]] = set()
        cancel: set[str] = set()
        by_queue: dict[str, list[ClaimedJob]] = {}
        for job in jobs:
            by_queue.setdefault(job.envelope.queue, []).append(job)
        for queue, held in by_queue.items():
            codes = await self._broker.scripts.renew(
                QueueKeys(queue), self._broker.now_ms(), self._lease_ms, [(j.id, j.token) for j in held]
            )
            for job, code in zip(held, codes, strict=True):
                if code == 0:
                    lost.add((job.id, job.token))
                elif code == 2:
                    cancel.add(job.id)
        return RenewOutcome(lost=frozenset(lost), cancel_requested=frozenset(cancel))

    @translate_errors
    async def ack(self, job: ClaimedJob, output: JsonValue) -> None:
        """The job succeeded with ``output``. Acks of one queue that arrive while one is on its way to
        Redis go together in the next script call.

        Raises:
            LeaseLost: this claim is no longer current; the output was not stored.
            ValueError: ``output`` is not strict JSON.
        """
        done = DoneJob(job.id, job.token, encode_output(output))
        if not await self._acks.call(job.envelope.queue, done):
            raise LeaseLost(job.id)

    async def _ack_many(self, queue: str, jobs: list[DoneJob]) -> list[bool]:
        ttl_ms = round(self._broker.options.result_ttl_s * 1000)
        return await self._broker.scripts.ack(QueueKeys(queue), self._broker.now_ms(), ttl_ms, jobs)

    @translate_errors
    async def fail(
        self,
        job: ClaimedJob,
        *,
        code: str,
        message: str,
        details: JsonValue = None,
        retry: bool = True,
        backoff: Backoff | None = None,
        trace: str | None = None,
    ) -> JobStatus:
        """The handler raised. Retried after a jittered backoff while attempts remain.

        Args:
            trace: this attempt's traceparent; the next attempt's claim returns it (span links).

        Returns:
            the job's new status: ``scheduled`` or ``queued`` (retrying), ``failed`` or ``canceled``.

        Raises:
            LeaseLost: this claim is no longer current.
        """
        delay_ms = round((backoff or Backoff()).delay(job.attempts.error + 1) * 1000) if retry else -1
        error: dict[str, JsonValue] = {"code": code, "message": message, "details": details}
        return await self._settle(job, error, delay_ms, "failed", trace)

    @translate_errors
    async def canceled(self, job: ClaimedJob, message: str = "canceled while running") -> None:
        """The handler stopped because a cancel was requested."""
        await self._settle(job, {"code": "canceled", "message": message, "details": None}, -1, "canceled")

    async def _settle(
        self, job: ClaimedJob, error: dict[str, JsonValue], delay_ms: int, final: str, trace: str | None = None
    ) -> JobStatus:
        q, now = QueueKeys(job.envelope.queue), self._broker.now_ms()
        status = await self._broker.scripts.fail(q, now, job.id, job.token, error, delay_ms, final, trace or "")
        if not status:
            raise LeaseLost(job.id)
        return JobStatus(status)

    @translate_errors
    async def release(self, job: ClaimedJob, *, trace: str | None = None) -> None:
        """Hand a job back unfinished (shutdown): next in line, attempt counted as ``evicted``.

        Args:
            trace: this attempt's traceparent, for the next attempt's span link.

        Raises:
            LeaseLost: this claim is no longer current.
        """
        if not await self._broker.scripts.release(
            QueueKeys(job.envelope.queue), self._broker.now_ms(), job.id, job.token, trace or ""
        ):
            raise LeaseLost(job.id)

    @translate_errors
    async def progress(self, job: ClaimedJob, fraction: float, message: str = "") -> bool:
        """Record progress (0..1). Returns True when a cancel was requested for this job.

        Raises:
            LeaseLost: this claim is no longer current.
        """
        fraction = min(1.0, max(0.0, fraction))
        q = QueueKeys(job.envelope.queue)
        code = await self._broker.scripts.progress(q, self._broker.now_ms(), job.id, job.token, fraction, message)
        if code == 0:
            raise LeaseLost(job.id)
        return code == 2
