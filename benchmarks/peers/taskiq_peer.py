"""taskiq with taskiq-redis and its defaults: ``RedisStreamBroker`` (acknowledged stream reads, as the taskiq-redis
README shows) with ``RedisAsyncResultBackend``, and ``taskiq worker taskiq_peer:broker --workers 1`` (the figures
are of one worker process; the default is 2), up to 100 tasks at once, plain functions in a thread pool.
``wait_result`` polls; it is asked to poll every millisecond (default 0.2 s). After a SIGKILL an unacknowledged
message is claimed again once idle for ``idle_timeout`` (10 minutes)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import figures
from marks import SLOW_S, mark
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

URL = os.environ.get("BENCH_REDIS_URL") or sys.argv[sys.argv.index("--redis") + 1]
broker = RedisStreamBroker(url=URL).with_result_backend(RedisAsyncResultBackend(redis_url=URL))


@broker.task(task_name="noop_sync")
def noop_sync(job: int) -> None:
    mark("s", job)


@broker.task(task_name="noop_async")
async def noop_async(job: int) -> None:
    mark("s", job)


@broker.task(task_name="slow")
async def slow(job: int) -> None:
    mark("s", job)
    await asyncio.sleep(SLOW_S)
    mark("e", job)


@broker.task(task_name="noop_result")
async def noop_result(job: int) -> int:
    mark("s", job)
    return job


TASKS = {"sync": noop_sync, "async": noop_async, "slow": slow, "result": noop_result}


class Taskiq(figures.Peer):
    name = "taskiq"

    def worker_argv(self) -> list[str]:
        return [str(Path(sys.executable).parent / "taskiq"), "worker", "taskiq_peer:broker", "--workers", "1"]

    async def connect(self, url: str) -> None:
        await broker.startup()

    async def close(self) -> None:
        await broker.shutdown()

    async def enqueue(self, kind: str, job: int) -> object:
        return await TASKS[kind].kiq(job)

    async def wait_result(self, handle: object) -> None:
        result = await handle.wait_result(check_interval=0.001, timeout=10)  # type: ignore[attr-defined]
        if result.is_err:
            raise RuntimeError(result.error)


if __name__ == "__main__":
    figures.main(Taskiq())
