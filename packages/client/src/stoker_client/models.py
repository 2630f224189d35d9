"""What the API answers, as typed values. Each keeps the JSON it came from in ``raw``, so a field
the API adds later is not lost to a client that predates it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypedDict

JobStatus = Literal["queued", "scheduled", "running", "succeeded", "failed", "canceled", "expired"]
Priority = Literal["high", "normal", "low"]

ACTIVE: frozenset[str] = frozenset({"queued", "scheduled", "running"})
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "canceled", "expired"})
UNSUCCESSFUL: frozenset[str] = FINAL - {"succeeded"}


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Progress:
    fraction: float
    message: str


@dataclass(frozen=True, slots=True)
class JobError:
    code: str
    message: str
    details: Any = None


@dataclass(frozen=True, slots=True)
class Job:
    """A job as ``GET /v1/jobs/{id}`` shows it."""

    id: str
    task: str
    queue: str
    status: str
    priority: str
    attempts: dict[str, int]
    progress: Progress | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None
    error: JobError | None
    metadata: dict[str, str]
    raw: dict[str, Any] = field(repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINAL

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        progress, error = data.get("progress"), data.get("error")
        return cls(
            id=data["id"],
            task=data.get("task", ""),
            queue=data.get("queue", ""),
            status=data["status"],
            priority=data.get("priority", "normal"),
            attempts=dict(data.get("attempts") or {}),
            progress=Progress(float(progress["fraction"]), progress.get("message", "")) if progress else None,
            created_at=_time(data.get("created_at")),
            started_at=_time(data.get("started_at")),
            finished_at=_time(data.get("finished_at")),
            worker=data.get("worker"),
            error=JobError(error["code"], error["message"], error.get("details")) if error else None,
            metadata=dict(data.get("metadata") or {}),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Submitted:
    """The answer to a submit: the job's id at once, before it runs."""

    id: str
    status: str
    created: bool = field(default=True)


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event of a job: ``status`` (``job`` set), ``progress`` (``progress`` set) or ``end``."""

    name: str
    data: dict[str, Any]

    @property
    def job(self) -> Job | None:
        return Job.from_json(self.data) if self.name == "status" else None

    @property
    def progress(self) -> Progress | None:
        if self.name != "progress":
            return None
        return Progress(float(self.data.get("fraction") or 0.0), str(self.data.get("message") or ""))


class JobSpec(TypedDict, total=False):
    """One job of a batch submit: the body of ``POST /v1/jobs`` (``task`` is required)."""

    task: str
    input: Any
    queue: str
    priority: Priority
    idempotency_key: str
    max_attempts: int
    timeout_s: float
    ttl_s: float
    delay_s: float
    webhook: dict[str, Any]
    metadata: dict[str, str]


class Waiting(TypedDict):
    high: int
    normal: int
    low: int


class QueueInfo(TypedDict):
    """``GET /v1/queues`` items."""

    name: str
    waiting: Waiting
    waiting_total: int
    scheduled: int
    running: int
    dead: int
    oldest_waiting_age_s: float | None
    paused: bool
    workers: int


class BulkResult(TypedDict):
    queue: str
    count: int


class WorkerInfo(TypedDict, total=False):
    """``GET /v1/workers`` items (``id`` and ``queues`` always present)."""

    id: str
    queues: list[str]
    pod: str | None
    node: str | None
    device: str
    gpu_name: str | None
    gpu_memory_total_bytes: int | None
    gpu_memory_used_bytes: int | None
    slots: int
    busy: int
    processed: int
    started_at: str
    last_heartbeat: str | None


class TaskInfo(TypedDict, total=False):
    """``GET /v1/tasks`` items."""

    name: str
    queue: str
    queues: list[str]  # the queues whose workers serve it
    served_at: str | None  # when a worker (or the chart) last published it, ISO 8601
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    batch_size: int
    timeout_s: float | None
    max_attempts: int


class ScheduleInfo(TypedDict, total=False):
    """``GET /v1/schedules`` items: a periodic task, its timing (``cron`` or ``every_s``), the next tick
    and the last one (``last_outcome``: ``fired`` enqueued ``last_job_id``; ``skipped``: queue paused)."""

    name: str
    task: str
    queue: str
    priority: str
    cron: str | None
    every_s: float | None
    next_run_at: str  # ISO 8601, UTC
    last_run_at: str | None
    last_job_id: str | None
    last_outcome: Literal["fired", "skipped"] | None
    paused: bool
