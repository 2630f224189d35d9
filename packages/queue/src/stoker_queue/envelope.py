"""The job envelope: what a client submitted, as JSON, versioned.

Within schema major 1 changes are additive only: new fields get defaults, and unknown fields
from a newer writer are ignored, so old and new workers and APIs can share a queue during a rollout.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from stoker_queue.status import Priority

SCHEMA_VERSION = 1


class WebhookSpec(BaseModel):
    """Where to POST the finished job, and on which final statuses."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    url: str
    events: tuple[str, ...] = ("succeeded", "failed", "canceled", "expired")


class JobEnvelope(BaseModel):
    """Everything a worker needs to run a job. Stored once, never changed.

    Args:
        id: ``<queue>.<ULID>``, see ``ids.py``.
        task: the registered task name.
        queue: the queue the job waits on.
        input: the task's input, any JSON value.
        priority: ``high``, ``normal`` or ``low``.
        max_attempts: runs that may end in an error before the job fails.
        max_crashes: lease expiries (dead workers) before the job is dead-lettered as poison.
        timeout_s: wall-clock limit of one run; None for the task's default.
        ttl_s: the job expires if it has not started this long after it became due.
        webhook: where to deliver the finished job.
        metadata: the client's own labels, returned as given.
        trace: W3C trace context carrier (``traceparent``, ``tracestate``).
        idempotency_key: the key a resubmission is matched by.
        request_digest: SHA-256 of what was asked for; a resubmission under the same idempotency key
            must match it. Written right after ``schema_version``, ahead of any client data, so that
            ``enqueue.lua`` reads it from the head of the JSON.
        owner: the key id of the API key that submitted the job (never the key); None when submitted
            past the API.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = SCHEMA_VERSION
    request_digest: str | None = None
    id: str
    task: str
    queue: str
    input: JsonValue = None
    priority: Priority = Priority.NORMAL
    max_attempts: int = Field(default=3, ge=1)
    max_crashes: int = Field(default=3, ge=1)
    timeout_s: float | None = None
    ttl_s: float | None = None
    delay_s: float = 0.0
    webhook: WebhookSpec | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    trace: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = None
    owner: str | None = None

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> JobEnvelope:
        return cls.model_validate_json(raw)
