"""Job statuses and priorities; every set of statuses is derived here, never retyped."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is in its life.

    ``queued`` and ``scheduled`` wait, ``running`` is claimed by a worker, the rest are final.
    """

    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


ACTIVE: frozenset[JobStatus] = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.RUNNING})
TERMINAL: frozenset[JobStatus] = frozenset(JobStatus) - ACTIVE


class Priority(StrEnum):
    """Waiting jobs live in one list per priority; claims take ``high`` first."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


# Claim order, highest first.
PRIORITIES: tuple[Priority, ...] = (Priority.HIGH, Priority.NORMAL, Priority.LOW)


class AttemptCause(StrEnum):
    """Why an attempt ended without a result."""

    ERROR = "error"  # the handler raised: retried with backoff up to max_attempts
    CRASH = "crash"  # the lease expired: the worker died; poison after max_crashes
    EVICTED = "evicted"  # handed back on shutdown: free
