"""saq with its defaults: ``saq saq_peer.settings`` (one process, 10 jobs at once, plain functions in a thread pool,
blocking dequeue). ``Job.refresh(until_complete=...)`` waits on saq's pub/sub notifications; a job that ends between
its read and its subscribe is missed, so the wait gives up after 0.5 s and reads again. After a SIGKILL the sweep
(every 60 s) aborts the job once past its timeout (10 s); with the default ``retries=1`` it is not run again."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import figures
from marks import SLOW_S, mark
from saq import Job, Queue

TASKS = {"sync": "noop_sync", "async": "noop_async", "slow": "slow", "result": "noop_result"}


def noop_sync(ctx: dict[str, Any], *, job: int) -> None:
    mark("s", job)


async def noop_async(ctx: dict[str, Any], *, job: int) -> None:
    mark("s", job)


async def slow(ctx: dict[str, Any], *, job: int) -> None:
    mark("s", job)
    await asyncio.sleep(SLOW_S)
    mark("e", job)


async def noop_result(ctx: dict[str, Any], *, job: int) -> int:
    mark("s", job)
    return job


def settings() -> dict[str, Any]:
    queue = Queue.from_url(os.environ["BENCH_REDIS_URL"])
    return {"queue": queue, "functions": [noop_sync, noop_async, slow, noop_result]}


class Saq(figures.Peer):
    name = "saq"

    def worker_argv(self) -> list[str]:
        return [str(Path(sys.executable).parent / "saq"), "saq_peer.settings"]

    async def connect(self, url: str) -> None:
        self.queue = Queue.from_url(url)
        await self.queue.connect()

    async def close(self) -> None:
        await self.queue.disconnect()

    async def enqueue(self, kind: str, job: int) -> object:
        return await self.queue.enqueue(TASKS[kind], job=job)

    async def wait_result(self, handle: object) -> None:
        job: Job = handle  # type: ignore[assignment]
        for _ in range(20):
            try:
                await job.refresh(until_complete=0.5)
            except TimeoutError:  # the job ended between refresh's read and its subscribe: read again
                await job.refresh()
            if job.completed:
                return
        raise TimeoutError(f"no result for {job}")


if __name__ == "__main__":
    figures.main(Saq())
