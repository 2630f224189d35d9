"""Every Redis key name. No other module spells ``stoker:``.

All keys of one queue share the hash tag ``{<queue>}`` so that each Lua script touches one slot
and the same code runs on Redis Cluster, where queues spread over the nodes by their tags. The few
global keys (the queue set, the worker registry, the task catalog and its schedules) are never
touched by a script; on a cluster they hash to slots of their own, so no transaction spans them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stoker_queue.status import PRIORITIES, JobStatus, Priority

PREFIX = "stoker"
# Queue names double as hash tags, label values and parts of job ids: keep them plain.
QUEUE_NAME_PATTERN = r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$"
_QUEUE_NAME = re.compile(QUEUE_NAME_PATTERN)

QUEUES_KEY = f"{PREFIX}:queues"
WORKERS_KEY = f"{PREFIX}:workers"
TASKS_KEY = f"{PREFIX}:tasks"
# HASH task name -> its published schedule (``schedules.ScheduledTask`` JSON), written with the catalog.
SCHEDULES_KEY = f"{PREFIX}:schedules"


def is_valid_queue_name(name: str) -> bool:
    return bool(_QUEUE_NAME.match(name))


def worker_key(worker_id: str) -> str:
    return f"{PREFIX}:worker:{worker_id}"


def task_queues_key(task: str) -> str:
    """Sorted set: the queues whose workers serve ``task``, scored by when one last published it (ms)."""
    return f"{PREFIX}:task:{task}:queues"


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The keys of one queue, all under the hash tag ``{name}``."""

    name: str

    @property
    def base(self) -> str:
        return f"{PREFIX}:{{{self.name}}}"

    def waiting(self, priority: Priority) -> str:
        """LIST of waiting job ids: pushed on the left, claimed from the right (FIFO)."""
        return f"{self.base}:waiting:{priority.value}"

    @property
    def waiting_all(self) -> tuple[str, ...]:
        """The waiting lists in claim order, highest priority first."""
        return tuple(self.waiting(p) for p in PRIORITIES)

    @property
    def running(self) -> str:
        """LIST of claimed job ids (in flight). KEDA scales on it with the waiting lists."""
        return f"{self.base}:running"

    @property
    def leases(self) -> str:
        """ZSET job id -> lease deadline (ms)."""
        return f"{self.base}:leases"

    @property
    def scheduled(self) -> str:
        """ZSET job id -> due time (ms): delayed jobs and retries waiting out their backoff."""
        return f"{self.base}:scheduled"

    @property
    def deadlines(self) -> str:
        """ZSET job id -> time (ms) after which a job that has not started expires."""
        return f"{self.base}:deadlines"

    @property
    def dead(self) -> str:
        """LIST of failed job ids (dead-letter), newest on the left."""
        return f"{self.base}:dead"

    @property
    def finished(self) -> str:
        """ZSET job id -> finish time (ms), so that old records are removed in order."""
        return f"{self.base}:finished"

    @property
    def wake(self) -> str:
        """LIST of wake-up tokens: idle claimers block on it instead of polling."""
        return f"{self.base}:wake"

    @property
    def paused(self) -> str:
        return f"{self.base}:paused"

    @property
    def schedules(self) -> str:
        """HASH schedule name -> its tick state JSON (next run, last run, last job); written by scripts."""
        return f"{self.base}:schedules"

    @property
    def reaper_lock(self) -> str:
        return f"{self.base}:reaper-lock"

    @property
    def index(self) -> str:
        """ZSET of every job id, all scores 0: ordered by id, and ids are time-ordered."""
        return f"{self.base}:index"

    def status_index(self, status: JobStatus) -> str:
        """ZSET of the job ids in one status, ordered like ``index``."""
        return f"{self.base}:index:{status.value}"

    @property
    def status_indexes(self) -> tuple[str, ...]:
        return tuple(self.status_index(s) for s in JobStatus)

    @property
    def jobs(self) -> str:
        """HASH job id -> envelope JSON (what was submitted; never changes)."""
        return f"{self.base}:jobs"

    @property
    def state(self) -> str:
        """HASH job id -> state JSON (status, attempts, timestamps, lease token); written by scripts."""
        return f"{self.base}:state"

    @property
    def events(self) -> str:
        """Prefix of the job event channels (``job_events``).

        A channel name, not a key; it is passed to scripts with the keys so that it names its slot.
        """
        return f"{self.base}:events"

    def job_events(self, job_id: str) -> str:
        """Pub/sub channel: every change of this job's state is published here as JSON."""
        return f"{self.events}:{job_id}"

    @property
    def cancels(self) -> str:
        """Pub/sub channel: the id of each running job asked to cancel, for the worker running it."""
        return f"{self.base}:cancels"

    @property
    def webhooks(self) -> str:
        """ZSET job id -> when its webhook is due: the outbox of finished jobs to deliver."""
        return f"{self.base}:webhooks"

    def result(self, job_id: str) -> str:
        """STRING: the output JSON, with its own TTL."""
        return f"{self.base}:result:{job_id}"

    def idempotency(self, key: str) -> str:
        """STRING: idempotency key -> job id, with a TTL."""
        return f"{self.base}:idem:{key}"


# A channel nothing is published on: a process's job events subscription holds it while no job is watched.
EVENTS_ANCHOR = f"{PREFIX}:events"


def rate_limit_key(scope: str) -> str:
    """GCRA state (the theoretical arrival time) of one rate-limit scope; hashed in its own slot."""
    return f"{PREFIX}:ratelimit:{{{scope}}}"


def core_keys(q: QueueKeys) -> tuple[str, ...]:
    """The 23 names every script receives first, in the order ``lua/_prelude.lua`` documents."""
    return (
        q.jobs,
        q.state,
        *q.waiting_all,
        q.running,
        q.leases,
        q.scheduled,
        q.deadlines,
        q.dead,
        q.finished,
        q.wake,
        q.paused,
        q.index,
        *q.status_indexes,
        q.events,
        q.webhooks,
    )
