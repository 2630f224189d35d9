"""Stoker's worker: the task SDK and the runtime that claims and runs jobs."""

from stoker_worker.context import JobCancelled, JobContext
from stoker_worker.schedule import cron, every
from stoker_worker.settings import WorkerSettings
from stoker_worker.task import TaskSpec, load_tasks, task

__all__ = ["JobCancelled", "JobContext", "TaskSpec", "WorkerSettings", "cron", "every", "load_tasks", "task"]
