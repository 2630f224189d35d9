"""Read models: a job as clients see it, a claimed job as workers see it, queue counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, JsonValue

from stoker_queue.envelope import JobEnvelope
from stoker_queue.ids import queue_of
from stoker_queue.status import JobStatus, Priority


def ms_to_datetime(ms: float | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _span_s(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round((end - start) / 1000, 3)


class Attempts(BaseModel):
    """Attempts that ended without a result, by cause."""

    model_config = ConfigDict(frozen=True)

    error: int = 0
    crash: int = 0
    evicted: int = 0


class Progress(BaseModel):
    model_config = ConfigDict(frozen=True)

    fraction: float
    message: str = ""


class JobError(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    details: JsonValue = None


WebhookState = Literal["pending", "delivered", "failed", "refused"]
WEBHOOK_STATES: tuple[str, ...] = get_args(WebhookState)


class WebhookDelivery(BaseModel):
    """How a finished job's webhook delivery stands, as the deliverer records it on the job's state."""

    model_config = ConfigDict(frozen=True)

    state: WebhookState
    attempts: int = 0
    error: str | None = None

    @classmethod
    def from_state(cls, st: dict[str, Any]) -> WebhookDelivery | None:
        """The delivery in a state record; None while the record holds none (or one of a newer kind)."""
        state = st.get("webhook_state")
        if state not in WEBHOOK_STATES:
            return None
        try:
            attempts = int(st.get("webhook_attempts") or 0)
        except (TypeError, ValueError):
            attempts = 0
        return cls(state=state, attempts=attempts, error=str(st.get("webhook_error") or "") or None)


class Timings(BaseModel):
    """Seconds: waiting before the last start, running in the last attempt, submit to finish."""

    model_config = ConfigDict(frozen=True)

    wait_s: float | None = None
    run_s: float | None = None
    total_s: float | None = None


class Job(BaseModel):
    """A job's envelope and state, decoded from the queue's two hashes."""

    model_config = ConfigDict(frozen=True)

    id: str
    task: str
    queue: str
    status: JobStatus
    priority: Priority
    attempts: Attempts
    progress: Progress | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    scheduled_for: datetime | None
    timings: Timings
    worker: str | None
    error: JobError | None
    cancel_requested: bool
    cancel_requested_at: datetime | None
    metadata: dict[str, str]
    webhook: WebhookDelivery | None
    envelope: JobEnvelope

    @property
    def owner(self) -> str | None:
        """The key id of the API key that submitted the job."""
        return self.envelope.owner

    def without_traceback(self) -> Job:
        """The job as its owner may see it (API user keys, webhooks): a worker's traceback is for admins."""
        details = self.error.details if self.error is not None else None
        if self.error is None or not isinstance(details, dict) or "traceback" not in details:
            return self
        rest = {k: v for k, v in details.items() if k != "traceback"}
        return self.model_copy(update={"error": self.error.model_copy(update={"details": rest or None})})

    @classmethod
    def read(cls, job_id: str, envelope_json: str, state_json: str) -> Job:
        """The job, or, when its record does not decode, a failed job that says so (``corrupt_job``).

        Such a job has no readable owner, so only admin keys see it; a claim dead-letters it.
        """
        try:
            return cls.decode(envelope_json, state_json)
        except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError included
            return cls.corrupt(job_id, f"{type(exc).__name__}: {str(exc)[:200]}")

    @classmethod
    def corrupt(cls, job_id: str, reason: str) -> Job:
        queue = queue_of(job_id)
        error = JobError(code="corrupt_job", message=f"the job's record in Redis cannot be read ({reason})")
        epoch = datetime.fromtimestamp(0, tz=UTC)
        return cls(
            id=job_id,
            task="",
            queue=queue,
            status=JobStatus.FAILED,
            priority=Priority.NORMAL,
            attempts=Attempts(),
            progress=None,
            created_at=epoch,
            started_at=None,
            finished_at=None,
            scheduled_for=None,
            timings=Timings(),
            worker=None,
            error=error,
            cancel_requested=False,
            cancel_requested_at=None,
            metadata={},
            webhook=None,
            envelope=JobEnvelope(id=job_id, task="", queue=queue),
        )

    @classmethod
    def decode(cls, envelope_json: str, state_json: str) -> Job:
        env = JobEnvelope.from_json(envelope_json)
        st: dict[str, Any] = json.loads(state_json)
        created, started, finished = st["created_at"], st.get("started_at"), st.get("finished_at")
        progress = None
        if st.get("progress") is not None:
            progress = Progress(fraction=st["progress"], message=st.get("progress_message") or "")
        return cls(
            id=env.id,
            task=env.task,
            queue=env.queue,
            status=JobStatus(st["status"]),
            priority=Priority(st["priority"]),
            attempts=Attempts(
                error=st.get("error_attempts", 0),
                crash=st.get("crash_attempts", 0),
                evicted=st.get("evicted_attempts", 0),
            ),
            progress=progress,
            created_at=ms_to_datetime(created),
            started_at=ms_to_datetime(started),
            finished_at=ms_to_datetime(finished),
            scheduled_for=ms_to_datetime(st.get("due_at")),
            timings=Timings(
                wait_s=_span_s(st.get("enqueued_at"), started),
                run_s=_span_s(started, finished) if started is not None else None,
                total_s=_span_s(created, finished),
            ),
            worker=st.get("worker"),
            error=JobError.model_validate_json(st["error"]) if st.get("error") else None,
            cancel_requested=bool(st.get("cancel_requested")),
            cancel_requested_at=ms_to_datetime(st.get("cancel_requested_at")),
            metadata=env.metadata,
            webhook=WebhookDelivery.from_state(st) if env.webhook is not None else None,
            envelope=env,
        )


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job a worker holds. ``token`` identifies this claim; acks with an older one are refused."""

    envelope: JobEnvelope
    token: int
    attempts: Attempts
    created_at_ms: int = 0
    enqueued_at_ms: int = 0
    started_at_ms: int = 0
    previous_attempt_trace: str | None = None  # traceparent of the attempt before this one, if it left one

    @property
    def id(self) -> str:
        return self.envelope.id

    @property
    def attempt(self) -> int:
        """This attempt's number, counting every earlier claim whatever ended it."""
        return self.attempts.error + self.attempts.crash + self.attempts.evicted + 1

    @property
    def wait_s(self) -> float:
        """From the last enqueue to this claim, on Redis' clock."""
        return max(0.0, (self.started_at_ms - self.enqueued_at_ms) / 1000)


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    """What one claim call returned."""

    jobs: list[ClaimedJob]
    paused: bool
    next_due_ms: int | None


class QueueStats(BaseModel):
    """One queue's counts, read in one atomic step."""

    model_config = ConfigDict(frozen=True)

    queue: str
    waiting: dict[Priority, int]
    scheduled: int
    running: int
    dead: int
    paused: bool
    oldest_waiting_age_s: float | None

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting.values())


@dataclass(frozen=True, slots=True)
class QueuesSnapshot:
    """Every queue's counts and the live workers serving each, read together (for metrics scrapes).

    Args:
        stats: queue name -> its counts, for every queue in the queue set.
        workers: queue name -> live workers that serve it, for every queue in ``stats`` (0 if none)
            and every other queue a live worker serves.
        worker_ids: the registry's members, live or expired; pass them back as ``known_workers``.
    """

    stats: dict[str, QueueStats]
    workers: dict[str, int]
    worker_ids: frozenset[str]
