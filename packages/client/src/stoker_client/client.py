"""The sync client: ``Client`` submits and administers, a ``JobHandle`` follows one job."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from stoker_client import calls
from stoker_client.errors import InvalidRequest, JobUnsuccessful, WaitTimeout
from stoker_client.events import follow
from stoker_client.models import (
    BulkResult,
    Event,
    Job,
    JobSpec,
    Priority,
    QueueInfo,
    ScheduleInfo,
    TaskInfo,
    WorkerInfo,
)
from stoker_client.transport import RetryPolicy, Transport, settings_from_env


class JobHandle:
    """One job by id. Every method asks the API; nothing is cached."""

    def __init__(self, client: Client, job_id: str, *, created: bool = True) -> None:
        self.client, self.id, self.created = client, job_id, created

    def __repr__(self) -> str:
        return f"JobHandle({self.id!r})"

    def status(self) -> Job:
        return self._get(0.0)

    def wait(self, timeout: float | None = None) -> Job:
        """The job once it has ended, whatever the outcome.

        Raises:
            WaitTimeout: still active after ``timeout`` seconds (None: wait as long as it takes).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        chunks = calls.WaitChunks()
        while True:
            hold = chunks.next(None if deadline is None else deadline - time.monotonic())
            try:
                job = self._get(hold)
            except InvalidRequest as exc:
                if chunks.refused(exc):
                    continue
                raise
            if job.finished:
                return job
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise WaitTimeout(self.id, job.status, timeout or 0.0)
            if hold == 0:
                time.sleep(calls.POLL_S if left is None else min(calls.POLL_S, left))

    def result(self, timeout: float | None = None) -> Any:
        """The job's output, once it succeeded.

        Raises:
            WaitTimeout: still active after ``timeout`` seconds.
            JobUnsuccessful: it ended failed, canceled or expired (``.job.error`` says why).
        """
        job = self.wait(timeout)
        if not job.succeeded:
            raise JobUnsuccessful(job)
        return self.client.transport.request("GET", calls.job_path(self.id, "result"))["output"]

    def events(self) -> Iterator[Event]:
        """``status``, ``progress`` and ``end`` events as they happen, until the job ends."""
        return follow(self.client.transport, self.id)

    def cancel(self) -> Job:
        """A waiting job ends canceled at once; a running one is asked to stop (``cancel_requested``)."""
        return Job.from_json(self.client.transport.request("POST", calls.job_path(self.id, "cancel")))

    def retry(self) -> Job:
        """A failed, canceled or expired job waits again."""
        return Job.from_json(self.client.transport.request("POST", calls.job_path(self.id, "retry")))

    def _get(self, hold_s: float) -> Job:
        params = {"wait": hold_s} if hold_s > 0 else None
        data = self.client.transport.request("GET", calls.job_path(self.id), params=params, extra_timeout_s=hold_s)
        return Job.from_json(data)


class Client:
    """A connection to the Stoker API.

    Args:
        url: the API's base URL; default ``STOKER_URL``, else ``http://127.0.0.1:8000``.
        api_key: the bearer key; default ``STOKER_API_KEY`` (none for a local stack without keys).
        timeout_s: per request, on top of any ``?wait=`` it holds.
        retry: how ``503``, ``429`` and refused connections are retried.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        base, key = settings_from_env(url, api_key)
        self.transport = Transport(base, key, timeout_s=timeout_s, retry=retry or RetryPolicy())

    @property
    def url(self) -> str:
        return self.transport.base_url

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit(
        self,
        task: str,
        input: Any = None,
        *,
        queue: str | None = None,
        priority: Priority | None = None,
        idempotency_key: str | None = None,
        max_attempts: int | None = None,
        timeout_s: float | None = None,
        ttl_s: float | None = None,
        delay_s: float | None = None,
        webhook: str | dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> JobHandle:
        """Queue one job; returns at once. Options left out take the task's defaults.

        ``webhook`` is a URL, or ``{"url": ..., "events": [...]}``.
        """
        options: dict[str, Any] = {"queue": queue, "priority": priority, "idempotency_key": idempotency_key}
        options |= {"max_attempts": max_attempts, "timeout_s": timeout_s, "ttl_s": ttl_s, "delay_s": delay_s}
        options |= {"webhook": webhook, "metadata": metadata}
        data = self.transport.request("POST", "/v1/jobs", json=calls.submit_body(task, input, options))
        sub = calls.submitted(data)
        return JobHandle(self, sub.id, created=sub.created)

    def submit_batch(self, jobs: Iterable[JobSpec]) -> list[JobHandle]:
        """Queue many jobs in one request: all are accepted, or none (the error says which failed)."""
        data = self.transport.request("POST", "/v1/jobs/batch", json=calls.batch_body(jobs))
        return [JobHandle(self, s.id, created=s.created) for s in map(calls.submitted, data["items"])]

    def job(self, job_id: str) -> JobHandle:
        return JobHandle(self, job_id)

    def jobs(
        self, *, queue: str | None = None, status: str | None = None, task: str | None = None, page_size: int = 100
    ) -> Iterator[Job]:
        """The caller's jobs (every job for an admin key), newest first, page by page."""
        params = calls.list_params(queue, status, task, page_size)
        while True:
            page = self.transport.request("GET", "/v1/jobs", params=params)
            yield from (Job.from_json(item) for item in page["items"])
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    def queues(self) -> list[QueueInfo]:
        items: list[QueueInfo] = self.transport.request("GET", "/v1/queues")["items"]
        return items

    def queue(self, name: str) -> QueueInfo:
        found: QueueInfo = self.transport.request("GET", calls.queue_path(name))
        return found

    def pause(self, queue: str) -> QueueInfo:
        """No worker claims from the queue until it is resumed; submissions still wait in it."""
        found: QueueInfo = self.transport.request("POST", calls.queue_path(queue, "pause"))
        return found

    def resume(self, queue: str) -> QueueInfo:
        found: QueueInfo = self.transport.request("POST", calls.queue_path(queue, "resume"))
        return found

    def purge(self, queue: str) -> int:
        """Cancel every waiting and scheduled job of the queue; how many there were."""
        found: BulkResult = self.transport.request("POST", calls.queue_path(queue, "purge"))
        return found["count"]

    def retry_dead(self, queue: str) -> int:
        """Put every dead-lettered job of the queue back to waiting; how many there were."""
        found: BulkResult = self.transport.request("POST", calls.queue_path(queue, "dead", "retry"))
        return found["count"]

    def workers(self) -> list[WorkerInfo]:
        items: list[WorkerInfo] = self.transport.request("GET", "/v1/workers")["items"]
        return items

    def tasks(self) -> list[TaskInfo]:
        items: list[TaskInfo] = self.transport.request("GET", "/v1/tasks")["items"]
        return items

    def schedules(self) -> list[ScheduleInfo]:
        """The periodic tasks' schedules, with each one's next run and last tick."""
        items: list[ScheduleInfo] = self.transport.request("GET", calls.SCHEDULES_PATH)["items"]
        return items

    def remove_task(self, name: str) -> TaskInfo:
        """Take a task nobody serves any more out of the catalog (admin key)."""
        removed: TaskInfo = self.transport.request("DELETE", f"/v1/tasks/{name}")
        return removed
