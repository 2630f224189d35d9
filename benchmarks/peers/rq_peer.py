"""rq with its defaults: ``rq worker`` forks a work horse per job (its default ``Worker``), one job at a time; results
kept 500 s. ``Job.latest_result(timeout=...)`` blocks on the result stream. rq runs coroutine functions too
(``asyncio.run`` per job, in the horse). After a SIGKILL the job stays in the started registry until its cleanup
marks it failed (``AbandonedJobError``); it is not run again."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import figures
from marks import SLOW_S, mark
from redis import Redis
from rq import Queue
from rq.job import Job

TASKS = {"sync": "noop_sync", "async": "noop_async", "slow": "slow", "result": "noop_result"}


def noop_sync(job: int) -> None:
    mark("s", job)


async def noop_async(job: int) -> None:
    mark("s", job)


async def slow(job: int) -> None:
    mark("s", job)
    await asyncio.sleep(SLOW_S)
    mark("e", job)


async def noop_result(job: int) -> int:
    mark("s", job)
    return job


class Rq(figures.Peer):
    name = "rq"

    def worker_argv(self) -> list[str]:
        return [str(Path(sys.executable).parent / "rq"), "worker", "--url", self.url, "default"]

    async def connect(self, url: str) -> None:
        self.url = url
        self.queue = Queue("default", connection=Redis.from_url(url))

    async def close(self) -> None:
        self.queue.connection.close()

    async def enqueue(self, kind: str, job: int) -> object:
        return self.queue.enqueue(f"rq_peer.{TASKS[kind]}", job)

    async def wait_result(self, handle: object) -> None:
        assert isinstance(handle, Job)
        if handle.latest_result(timeout=10) is None:
            raise TimeoutError(handle.id)


if __name__ == "__main__":
    figures.main(Rq())
