"""Stoker's Python client: submit jobs to the API and read them back, sync or async.

from stoker_client import Client

with Client() as stoker:                      # STOKER_URL, STOKER_API_KEY
    job = stoker.submit("echo", {"a": 1})
    job.result(timeout=30)                    # {"a": 1}
"""

from stoker_client.aio import AsyncClient, AsyncJobHandle
from stoker_client.client import Client, JobHandle
from stoker_client.errors import (
    ApiError,
    ApiUnreachable,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    IdempotencyConflict,
    IdempotencyKeyMismatch,
    InvalidInput,
    InvalidQueue,
    InvalidRequest,
    InvalidTransition,
    JobNotFound,
    JobUnsuccessful,
    NotFound,
    PayloadTooLarge,
    QueueNotFound,
    QueueNotServed,
    RateLimited,
    ResultExpired,
    ResultNotReady,
    ServerError,
    StokerError,
    Unauthorized,
    Unavailable,
    UnknownTask,
    WaitTimeout,
)
from stoker_client.models import (
    Event,
    Job,
    JobError,
    JobSpec,
    Progress,
    QueueInfo,
    ScheduleInfo,
    TaskInfo,
    WorkerInfo,
)
from stoker_client.transport import RetryPolicy

__all__ = [
    "ApiError",
    "ApiUnreachable",
    "AsyncClient",
    "AsyncJobHandle",
    "BadRequest",
    "Client",
    "Conflict",
    "Event",
    "Forbidden",
    "Gone",
    "IdempotencyConflict",
    "IdempotencyKeyMismatch",
    "InvalidInput",
    "InvalidQueue",
    "InvalidRequest",
    "InvalidTransition",
    "Job",
    "JobError",
    "JobHandle",
    "JobNotFound",
    "JobSpec",
    "JobUnsuccessful",
    "NotFound",
    "PayloadTooLarge",
    "Progress",
    "QueueInfo",
    "QueueNotFound",
    "QueueNotServed",
    "RateLimited",
    "ResultExpired",
    "ResultNotReady",
    "RetryPolicy",
    "ScheduleInfo",
    "ServerError",
    "StokerError",
    "TaskInfo",
    "Unauthorized",
    "Unavailable",
    "UnknownTask",
    "WaitTimeout",
    "WorkerInfo",
]
