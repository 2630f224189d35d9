"""Public request and response models. The queue's envelope never leaves the service as is."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, JsonValue

from stoker_queue import QUEUE_NAME_PATTERN, Job, JobStatus, Priority, QueueStats, TaskInfo, WorkerInfo

T = TypeVar("T")

FINAL_EVENTS = ("succeeded", "failed", "canceled", "expired")


class WebhookIn(BaseModel):
    """Where to POST the job when it ends. Signed with HMAC-SHA256 (see the README)."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    events: list[JobStatus] = Field(default_factory=lambda: [JobStatus(e) for e in FINAL_EVENTS], min_length=1)


class SubmitJob(BaseModel):
    """A job to run."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"task": "echo", "input": {"text": "hello"}},
                {"task": "embed", "input": {"texts": ["a sentence"]}, "priority": "high", "idempotency_key": "doc-17"},
            ]
        },
    )

    task: str = Field(min_length=1, max_length=200, description="A task from GET /v1/tasks.")
    input: JsonValue = Field(default=None, description="The task's input; checked against its input schema.")
    queue: str | None = Field(
        default=None, pattern=QUEUE_NAME_PATTERN, description="Defaults to the queue the task's workers serve."
    )
    priority: Priority = Priority.NORMAL
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=200, description="Or the Idempotency-Key header."
    )
    max_attempts: int | None = Field(default=None, ge=1, le=100, description="Defaults to the task's.")
    timeout_s: float | None = Field(default=None, gt=0, le=86_400, description="Defaults to the task's.")
    ttl_s: float | None = Field(default=None, gt=0, le=30 * 86_400, description="Expire if not started by then.")
    delay_s: float = Field(default=0.0, ge=0, le=30 * 86_400)
    webhook: WebhookIn | None = None
    metadata: dict[str, str] = Field(default_factory=dict, max_length=64, description="Returned as given.")


class SubmitBatch(BaseModel):
    """Up to the configured batch size (1000 by default) in one request and one Redis round trip."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"jobs": [{"task": "echo", "input": 1}, {"task": "echo", "input": 2}]}]},
    )

    jobs: list[SubmitJob] = Field(min_length=1)


class Links(BaseModel):
    self: str
    result: str
    events: str


class Accepted(BaseModel):
    """The answer to a submit: the id at once; the job runs later."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C",
                    "status": "queued",
                    "created": True,
                    "links": {
                        "self": "/v1/jobs/default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C",
                        "result": "/v1/jobs/default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C/result",
                        "events": "/v1/jobs/default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C/events",
                    },
                }
            ]
        }
    )

    id: str
    status: JobStatus
    created: bool = Field(description="False when an idempotency key matched an earlier job.")
    links: Links


class AttemptsView(BaseModel):
    error: int
    crash: int
    evicted: int


class ProgressView(BaseModel):
    fraction: float
    message: str


class TimingsView(BaseModel):
    wait_s: float | None
    run_s: float | None
    total_s: float | None


class ErrorView(BaseModel):
    code: str
    message: str
    details: JsonValue = None


class JobView(BaseModel):
    """A job's status, as clients poll it."""

    id: str
    task: str
    queue: str
    status: JobStatus
    priority: Priority
    attempts: AttemptsView
    progress: ProgressView | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    scheduled_for: datetime | None
    timings: TimingsView
    worker: str | None
    error: ErrorView | None
    cancel_requested: bool
    metadata: dict[str, str]
    links: Links

    @classmethod
    def of(cls, job: Job, links: Links) -> JobView:
        data: dict[str, Any] = job.model_dump(exclude={"envelope"})
        return cls.model_validate({**data, "links": links})


class ResultView(BaseModel):
    id: str
    output: JsonValue


class Page(BaseModel, Generic[T]):
    """Every list has this shape; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None


class WaitingView(BaseModel):
    high: int
    normal: int
    low: int


class QueueView(BaseModel):
    name: str
    waiting: WaitingView
    waiting_total: int
    scheduled: int
    running: int
    dead: int
    oldest_waiting_age_s: float | None
    paused: bool
    workers: int

    @classmethod
    def of(cls, stats: QueueStats, workers: int) -> QueueView:
        return cls(
            name=stats.queue,
            waiting=WaitingView(**{p.value: n for p, n in stats.waiting.items()}),
            waiting_total=stats.waiting_total,
            scheduled=stats.scheduled,
            running=stats.running,
            dead=stats.dead,
            oldest_waiting_age_s=stats.oldest_waiting_age_s,
            paused=stats.paused,
            workers=workers,
        )


class BulkResult(BaseModel):
    queue: str
    count: int = Field(description="How many jobs the operation moved.")


class WorkerView(WorkerInfo):
    """A live worker, from its last heartbeat."""


class TaskView(BaseModel):
    name: str
    queue: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    batch_size: int
    timeout_s: float | None
    max_attempts: int

    @classmethod
    def of(cls, info: TaskInfo) -> TaskView:
        return cls.model_validate(info.model_dump())


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: JsonValue = None


class ErrorBody(BaseModel):
    """Every error answer has this shape."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error": {"code": "job_not_found", "message": "no job 'x'", "details": None}}]}
    )

    error: ErrorDetail
