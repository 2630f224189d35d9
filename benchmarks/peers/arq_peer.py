"""arq with its defaults: ``arq arq_peer.WorkerSettings`` (10 jobs at once, the queue polled every 0.5 s, results kept
an hour). arq runs coroutines only, so it has no plain-function figure. ``Job.result`` polls; it is asked to poll
every millisecond (default 0.5 s) so the wait measures the queue, not the poll. After a SIGKILL a job runs again
once its in-progress key expires: ``job_timeout`` (300 s) plus 10 s."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import figures
from arq import create_pool
from arq.connections import RedisSettings
from marks import SLOW_S, mark

TASKS = {"async": "noop_async", "slow": "slow", "result": "noop_result"}


async def noop_async(ctx: dict[str, object], job: int) -> None:
    mark("s", job)


async def slow(ctx: dict[str, object], job: int) -> None:
    mark("s", job)
    await asyncio.sleep(SLOW_S)
    mark("e", job)


async def noop_result(ctx: dict[str, object], job: int) -> int:
    mark("s", job)
    return job


class WorkerSettings:
    functions = [noop_async, slow, noop_result]
    redis_settings = RedisSettings.from_dsn(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))


class Arq(figures.Peer):
    name = "arq"
    kinds = ("async", "slow", "result")

    def worker_argv(self) -> list[str]:
        return [str(Path(sys.executable).parent / "arq"), "arq_peer.WorkerSettings"]

    async def connect(self, url: str) -> None:
        self.pool = await create_pool(RedisSettings.from_dsn(url))

    async def close(self) -> None:
        await self.pool.aclose()

    async def enqueue(self, kind: str, job: int) -> object:
        return await self.pool.enqueue_job(TASKS[kind], job)

    async def wait_result(self, handle: object) -> None:
        await handle.result(timeout=10, poll_delay=0.001)  # type: ignore[attr-defined]


if __name__ == "__main__":
    figures.main(Arq())
