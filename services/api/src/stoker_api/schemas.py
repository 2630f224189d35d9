"""Public request and response models. The queue's envelope never leaves the service as is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from stoker_queue import DEFAULT_QUEUE, QUEUE_NAME_PATTERN, Job, JobStatus, Priority


class SubmitJob(BaseModel):
    """A job to run."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"task": "echo", "input": {"text": "hello"}, "priority": "normal"}]},
    )

    task: str = Field(min_length=1, max_length=200, description="A task from GET /v1/tasks.")
    input: JsonValue = Field(default=None, description="The task's input, any JSON value.")
    queue: str = Field(default=DEFAULT_QUEUE, pattern=QUEUE_NAME_PATTERN)
    priority: Priority = Priority.NORMAL
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    max_attempts: int = Field(default=3, ge=1, le=100)
    timeout_s: float | None = Field(default=None, gt=0, le=86_400)
    ttl_s: float | None = Field(default=None, gt=0, le=30 * 86_400)
    delay_s: float = Field(default=0.0, ge=0, le=30 * 86_400)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=64)


class Links(BaseModel):
    self: str
    result: str


class Accepted(BaseModel):
    """The answer to a submit: the id at once, the job runs later."""

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
    timings: TimingsView
    worker: str | None
    error: ErrorView | None
    cancel_requested: bool
    metadata: dict[str, str]
    links: Links

    @classmethod
    def of(cls, job: Job, links: Links) -> JobView:
        data: dict[str, Any] = job.model_dump(exclude={"envelope", "scheduled_for"})
        return cls.model_validate({**data, "links": links})


class ResultView(BaseModel):
    id: str
    output: JsonValue


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: JsonValue = None


class ErrorBody(BaseModel):
    """Every error answer has this shape."""

    error: ErrorDetail
