"""Public request and response models. The queue's envelope never leaves the service as is."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, JsonValue, field_validator

from stoker_queue import (
    QUEUE_NAME_PATTERN,
    Job,
    JobStatus,
    Priority,
    QueueStats,
    ScheduleInfo,
    TaskInfo,
    WorkerInfo,
)
from stoker_queue.records import WebhookState

T = TypeVar("T")

FINAL_EVENTS = ("succeeded", "failed", "canceled", "expired")


def _not_a_bool(value: object) -> object:
    # Python counts booleans as numbers; JSON does not.
    if isinstance(value, bool):
        raise ValueError("Input should be a number, not a boolean")
    return value


NUMBER = BeforeValidator(_not_a_bool)


def finite_json(value: JsonValue) -> JsonValue:
    """``value`` once it holds no NaN or Infinity (Python's JSON parser accepts them; JSON has none)."""
    stack = [value]
    while stack:  # iterative: as deep as the parser allowed, without recursion
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("NaN and Infinity are not JSON numbers")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


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
    # JSON numbers only: never booleans, and never NaN or Infinity.
    max_attempts: Annotated[int, Field(ge=1, le=100), NUMBER] | None = Field(
        default=None, description="Defaults to the task's."
    )
    timeout_s: Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False), NUMBER] | None = Field(
        default=None, description="Defaults to the task's."
    )
    ttl_s: Annotated[float, Field(gt=0, le=30 * 86_400, allow_inf_nan=False), NUMBER] | None = Field(
        default=None, description="Expire if not started by then."
    )
    delay_s: Annotated[float, Field(ge=0, le=30 * 86_400, allow_inf_nan=False), NUMBER] = 0.0
    webhook: WebhookIn | None = None
    metadata: dict[str, str] = Field(default_factory=dict, max_length=64, description="Returned as given.")

    _finite_input = field_validator("input")(finite_json)


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
    """Why the job failed. A worker's traceback (`details.traceback`) is shown to admin keys only."""

    code: str
    message: str
    details: JsonValue = None


class WebhookView(BaseModel):
    """How the job's webhook delivery stands, once the job has ended."""

    state: WebhookState = Field(
        description="`pending` until settled (retries included), then `delivered`, `failed` or `refused`."
    )
    attempts: int = Field(description="Deliveries attempted since the job last ended.")
    error: str | None = Field(description="The last delivery error, short; null after a delivery.")


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
    cancel_requested: bool = Field(description="A cancel was asked of the running job and has not taken effect yet.")
    cancel_requested_at: datetime | None = Field(
        default=None, description="When a cancel was first asked of the job; kept once it ended."
    )
    metadata: dict[str, str]
    webhook: WebhookView | None = Field(default=None, description="Null when the job has no webhook delivery.")
    links: Links

    @classmethod
    def of(cls, job: Job, links: Links, *, tracebacks: bool) -> JobView:
        """The view of ``job``; worker tracebacks in its error only with ``tracebacks`` (admin keys)."""
        shown = job if tracebacks else job.without_traceback()
        return cls.model_validate({**shown.model_dump(exclude={"envelope"}), "links": links})


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
    queue: str = Field(description="Where the task's jobs wait unless a submission names another queue.")
    queues: list[str] = Field(
        default_factory=list, description="The queues whose workers serve the task; a submit to another is 422."
    )
    served_at: datetime | None = Field(default=None, description="When a worker (or the chart) last published it.")
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    batch_size: int
    timeout_s: float | None
    max_attempts: int

    @classmethod
    def of(cls, info: TaskInfo) -> TaskView:
        return cls.model_validate(info.model_dump())


class ScheduleView(BaseModel):
    """A periodic task's schedule: one job per tick, enqueued by whichever worker or API replica takes it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "status-poll",
                    "task": "status-poll",
                    "queue": "default",
                    "priority": "normal",
                    "cron": None,
                    "every_s": 10.0,
                    "next_run_at": "2026-03-02T12:00:10Z",
                    "last_run_at": "2026-03-02T12:00:00Z",
                    "last_job_id": "default.01KJNS7D00WQ3V8C2D9H6ZP1XT",
                    "last_outcome": "fired",
                    "paused": False,
                }
            ]
        }
    )

    name: str = Field(description="The schedule's name: its task's.")
    task: str
    queue: str = Field(description="Where its jobs wait.")
    priority: Priority
    cron: str | None = Field(description="A cron expression, matched in UTC; null for an interval.")
    every_s: float | None = Field(
        description="An interval in seconds, ticking at its multiples since the Unix epoch; null for cron."
    )
    next_run_at: datetime = Field(description="The next tick. In the past: due, and taken by the next scheduler pass.")
    last_run_at: datetime | None = Field(description="The last tick taken; null before the first.")
    last_job_id: str | None = Field(description="The job the last fired tick enqueued.")
    last_outcome: Literal["fired", "skipped"] | None = Field(
        description="`fired`: the tick enqueued its job; `skipped`: the queue was paused, so it enqueued none."
    )
    paused: bool = Field(description="The queue is paused: its ticks are skipped until it is resumed.")

    @classmethod
    def of(cls, info: ScheduleInfo) -> ScheduleView:
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
