"""The async client: ``AsyncClient`` and ``AsyncJobHandle``, the same calls as ``client`` on asyncio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from stoker_client import calls
from stoker_client.errors import InvalidRequest, JobUnsuccessful, WaitTimeout
from stoker_client.events import afollow
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
from stoker_client.transport import AsyncTransport, RetryPolicy, settings_from_env


class AsyncJobHandle:
    """One job by id; see ``JobHandle``."""

    def __init__(self, client: AsyncClient, job_id: str, *, created: bool = True) -> None:
        self.client, self.id, self.created = client, job_id, created

    def __repr__(self) -> str:
        return f"AsyncJobHandle({self.id!r})"

    async def status(self) -> Job:
        return await self._get(0.0)

    async def wait(self, timeout: float | None = None) -> Job:  # noqa: ASYNC109 - the sync handle's name
        """The job once it has ended; ``WaitTimeout`` if still active after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        chunks = calls.WaitChunks()
        while True:
            hold = chunks.next(None if deadline is None else deadline - time.monotonic())
            try:
                job = await self._get(hold)
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
                await asyncio.sleep(calls.POLL_S if left is None else min(calls.POLL_S, left))

    async def result(self, timeout: float | None = None) -> Any:  # noqa: ASYNC109 - as in the sync handle
        """The output once it succeeded; ``JobUnsuccessful`` if it ended otherwise."""
        job = await self.wait(timeout)
        if not job.succeeded:
            raise JobUnsuccessful(job)
        return (await self.client.transport.request("GET", calls.job_path(self.id, "result")))["output"]

    def events(self) -> AsyncIterator[Event]:
        return afollow(self.client.transport, self.id)

    async def cancel(self) -> Job:
        return Job.from_json(await self.client.transport.request("POST", calls.job_path(self.id, "cancel")))

    async def retry(self) -> Job:
        return Job.from_json(await self.client.transport.request("POST", calls.job_path(self.id, "retry")))

    async def _get(self, hold_s: float) -> Job:
        params = {"wait": hold_s} if hold_s > 0 else None
        path = calls.job_path(self.id)
        return Job.from_json(await self.client.transport.request("GET", path, params=params, extra_timeout_s=hold_s))


class AsyncClient:
    """The Stoker API on asyncio; the arguments are those of ``Client``. Use it with ``async with``."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        base, key = settings_from_env(url, api_key)
        self.transport = AsyncTransport(base, key, timeout_s=timeout_s, retry=retry or RetryPolicy())

    @property
    def url(self) -> str:
        return self.transport.base_url

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def submit(
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
    ) -> AsyncJobHandle:
        """Queue one job; see ``Client.submit``."""
        options: dict[str, Any] = {"queue": queue, "priority": priority, "idempotency_key": idempotency_key}
        options |= {"max_attempts": max_attempts, "timeout_s": timeout_s, "ttl_s": ttl_s, "delay_s": delay_s}
        options |= {"webhook": webhook, "metadata": metadata}
        data = await self.transport.request("POST", "/v1/jobs", json=calls.submit_body(task, input, options))
        sub = calls.submitted(data)
        return AsyncJobHandle(self, sub.id, created=sub.created)

    async def submit_batch(self, jobs: Iterable[JobSpec]) -> list[AsyncJobHandle]:
        data = await self.transport.request("POST", "/v1/jobs/batch", json=calls.batch_body(jobs))
        return [AsyncJobHandle(self, s.id, created=s.created) for s in map(calls.submitted, data["items"])]

    def job(self, job_id: str) -> AsyncJobHandle:
        return AsyncJobHandle(self, job_id)

    async def jobs(
        self, *, queue: str | None = None, status: str | None = None, task: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Job]:
        params = calls.list_params(queue, status, task, page_size)
        while True:
            page = await self.transport.request("GET", "/v1/jobs", params=params)
            for item in page["items"]:
                yield Job.from_json(item)
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    async def queues(self) -> list[QueueInfo]:
        items: list[QueueInfo] = (await self.transport.request("GET", "/v1/queues"))["items"]
        return items

    async def queue(self, name: str) -> QueueInfo:
        found: QueueInfo = await self.transport.request("GET", calls.queue_path(name))
        return found

    async def pause(self, queue: str) -> QueueInfo:
        found: QueueInfo = await self.transport.request("POST", calls.queue_path(queue, "pause"))
        return found

    async def resume(self, queue: str) -> QueueInfo:
        found: QueueInfo = await self.transport.request("POST", calls.queue_path(queue, "resume"))
        return found

    async def purge(self, queue: str) -> int:
        found: BulkResult = await self.transport.request("POST", calls.queue_path(queue, "purge"))
        return found["count"]

    async def retry_dead(self, queue: str) -> int:
        found: BulkResult = await self.transport.request("POST", calls.queue_path(queue, "dead", "retry"))
        return found["count"]

    async def workers(self) -> list[WorkerInfo]:
        items: list[WorkerInfo] = (await self.transport.request("GET", "/v1/workers"))["items"]
        return items

    async def tasks(self) -> list[TaskInfo]:
        items: list[TaskInfo] = (await self.transport.request("GET", "/v1/tasks"))["items"]
        return items

    async def schedules(self) -> list[ScheduleInfo]:
        """The periodic tasks' schedules, with each one's next run and last tick."""
        items: list[ScheduleInfo] = (await self.transport.request("GET", calls.SCHEDULES_PATH))["items"]
        return items

    async def remove_task(self, name: str) -> TaskInfo:
        """Take a task nobody serves any more out of the catalog (admin key)."""
        removed: TaskInfo = await self.transport.request("DELETE", f"/v1/tasks/{name}")
        return removed
