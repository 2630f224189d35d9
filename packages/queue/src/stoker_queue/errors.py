"""Exceptions raised by the queue core.

QueueError
├── QueueUnavailable        Redis cannot be reached (the API answers 503)
├── InvalidJobId            not an id that Stoker made
├── InvalidQueueName
├── JobNotFound
├── ResultNotReady          the job has not finished
├── ResultExpired           the job finished but its result is gone, or the job expired
├── InvalidTransition       e.g. cancel a finished job, retry a running one
├── IdempotencyConflict     an idempotency key already names a job submitted with a different request
└── LeaseLost               an ack or renewal from a claim that is no longer current
"""

from __future__ import annotations


class QueueError(Exception):
    """Base of every error the queue core raises on purpose."""


class QueueUnavailable(QueueError):
    """Redis did not answer."""


class InvalidJobId(QueueError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"not a job id: {job_id!r}")
        self.job_id = job_id


class InvalidQueueName(QueueError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"invalid queue name {name!r}: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
        self.name = name


class JobNotFound(QueueError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id!r}")
        self.job_id = job_id


class ResultNotReady(QueueError):
    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id!r} is {status}; it has no result yet")
        self.job_id = job_id
        self.status = status


class ResultExpired(QueueError):
    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"the result of job {job_id!r} is no longer available (job {status})")
        self.job_id = job_id
        self.status = status


class InvalidTransition(QueueError):
    def __init__(self, job_id: str, status: str, action: str) -> None:
        super().__init__(f"cannot {action} job {job_id!r}: it is {status}")
        self.job_id = job_id
        self.status = status
        self.action = action


class IdempotencyConflict(QueueError):
    """The idempotency key names a job of the same owner that was submitted with a different request."""

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(f"idempotency key {idempotency_key!r} was already used for a different request")
        self.idempotency_key = idempotency_key


class LeaseLost(QueueError):
    """The claim is stale: the lease expired and the job moved on (requeued, reclaimed, canceled)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"lease on job {job_id!r} is no longer held")
        self.job_id = job_id
