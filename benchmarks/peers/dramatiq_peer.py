"""dramatiq with its Redis broker and defaults: ``dramatiq dramatiq_peer --processes 1`` (the figures are of one worker
process; the default is one per CPU) with its default 8 threads and prefetch. Coroutine actors need its ``AsyncIO``
middleware and results its ``Results`` middleware (Redis backend), both added here as its documentation shows; only
the result figure's actor stores results. ``get_result(block=True)`` blocks in Redis. After a SIGKILL a message goes
back to the queue once its worker's heartbeat is 60 s old, at the next maintenance pass (on 1 in 1,000 commands)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import dramatiq
import figures
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware.asyncio import AsyncIO
from dramatiq.results import Results
from dramatiq.results.backends import RedisBackend
from marks import SLOW_S, mark

URL = os.environ.get("BENCH_REDIS_URL") or sys.argv[sys.argv.index("--redis") + 1]
broker = RedisBroker(url=URL)
broker.add_middleware(AsyncIO())
broker.add_middleware(Results(backend=RedisBackend(url=URL)))
dramatiq.set_broker(broker)


@dramatiq.actor
def noop_sync(job: int) -> None:
    mark("s", job)


@dramatiq.actor
async def noop_async(job: int) -> None:
    mark("s", job)


@dramatiq.actor
async def slow(job: int) -> None:
    mark("s", job)
    await asyncio.sleep(SLOW_S)
    mark("e", job)


@dramatiq.actor(store_results=True)
async def noop_result(job: int) -> int:
    mark("s", job)
    return job


ACTORS = {"sync": noop_sync, "async": noop_async, "slow": slow, "result": noop_result}


class Dramatiq(figures.Peer):
    name = "dramatiq"

    def worker_argv(self) -> list[str]:
        return [str(Path(sys.executable).parent / "dramatiq"), "dramatiq_peer", "--processes", "1"]

    async def connect(self, url: str) -> None:
        pass  # the broker above, built at import: dramatiq's actors bind to it then

    async def enqueue(self, kind: str, job: int) -> object:
        return ACTORS[kind].send(job)

    async def wait_result(self, handle: object) -> None:
        handle.get_result(block=True, timeout=10_000)  # type: ignore[attr-defined]


if __name__ == "__main__":
    figures.main(Dramatiq())
