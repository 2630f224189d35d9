"""Stoker's queue core: the only code that knows Redis keys and Lua scripts.

Both services import from here: the API uses ``Producer``, ``Reader``, ``QueueAdmin`` and
``Registry``; workers use ``Consumer``, ``Reaper`` and ``Registry``; both run a ``Scheduler`` for periodic
tasks. All share one ``Broker``.
"""

from stoker_queue.admin import QueueAdmin
from stoker_queue.backoff import Backoff
from stoker_queue.broker import Broker, QueueOptions
from stoker_queue.cancels import CancelRequests
from stoker_queue.clock import Clock, FakeClock, RedisClock
from stoker_queue.consumer import Consumer, RenewOutcome, encode_output
from stoker_queue.envelope import SCHEMA_VERSION, JobEnvelope, WebhookSpec
from stoker_queue.errors import (
    InvalidJobId,
    InvalidQueueName,
    InvalidTransition,
    JobNotFound,
    LeaseLost,
    QueueError,
    QueueUnavailable,
    ResultExpired,
    ResultNotReady,
)
from stoker_queue.events import RESYNC, JobEvent, JobEvents
from stoker_queue.ids import JOB_ID_PATTERN, new_job_id, queue_of
from stoker_queue.keys import QUEUE_NAME_PATTERN, is_valid_queue_name
from stoker_queue.outbox import PendingWebhook, WebhookOutbox
from stoker_queue.producer import DEFAULT_QUEUE, JobRequest, Producer, Submitted
from stoker_queue.ratelimit import Decision, Rate, RateLimiter
from stoker_queue.reader import Reader
from stoker_queue.reaper import CrashedJob, Reaper, ReapReport
from stoker_queue.records import Attempts, ClaimBatch, ClaimedJob, Job, JobError, Progress, QueueStats, Timings
from stoker_queue.registry import Registry, TaskInfo, WorkerInfo
from stoker_queue.scheduler import PassReport, Scheduler, Tick
from stoker_queue.schedules import Schedule, ScheduledTask, ScheduleInfo
from stoker_queue.settings import RedisSettings
from stoker_queue.status import ACTIVE, PRIORITIES, TERMINAL, AttemptCause, JobStatus, Priority

__all__ = [
    "ACTIVE",
    "DEFAULT_QUEUE",
    "JOB_ID_PATTERN",
    "PRIORITIES",
    "QUEUE_NAME_PATTERN",
    "RESYNC",
    "SCHEMA_VERSION",
    "TERMINAL",
    "AttemptCause",
    "Attempts",
    "Backoff",
    "Broker",
    "CancelRequests",
    "ClaimBatch",
    "ClaimedJob",
    "Clock",
    "Consumer",
    "CrashedJob",
    "Decision",
    "FakeClock",
    "InvalidJobId",
    "InvalidQueueName",
    "InvalidTransition",
    "Job",
    "JobEnvelope",
    "JobError",
    "JobEvent",
    "JobEvents",
    "JobNotFound",
    "JobRequest",
    "JobStatus",
    "LeaseLost",
    "PassReport",
    "PendingWebhook",
    "Priority",
    "Producer",
    "Progress",
    "QueueAdmin",
    "QueueError",
    "QueueOptions",
    "QueueStats",
    "QueueUnavailable",
    "Rate",
    "RateLimiter",
    "Reader",
    "ReapReport",
    "Reaper",
    "RedisClock",
    "RedisSettings",
    "Registry",
    "RenewOutcome",
    "ResultExpired",
    "ResultNotReady",
    "Schedule",
    "ScheduleInfo",
    "ScheduledTask",
    "Scheduler",
    "Submitted",
    "TaskInfo",
    "Tick",
    "Timings",
    "WebhookOutbox",
    "WebhookSpec",
    "WorkerInfo",
    "encode_output",
    "is_valid_queue_name",
    "new_job_id",
    "queue_of",
]
