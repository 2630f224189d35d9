"""Stoker through its public APIs: ``Producer`` submits, ``JobEvents`` + ``Reader`` wait, ``stoker-worker`` runs. The
worker keeps its defaults (4 slots, 4 more claimed ahead while handlers return within 50 ms; plain functions in
threads, coroutines on the loop), except for the SIGKILL
figure: a 3 s lease and a reaper pass every second, so a killed worker's jobs run again soon."""

from __future__ import annotations

import asyncio
import sys

import figures
from marks import SLOW_S, mark

from stoker_queue import (
    TERMINAL,
    Broker,
    JobEvents,
    JobRequest,
    JobStatus,
    Producer,
    Reader,
    RedisSettings,
    ResultNotReady,
)
from stoker_worker import task

KILL_LEASE_S, KILL_REAP_S = 3, 1
TASKS = {"sync": "noop_sync", "async": "noop_async", "slow": "slow", "result": "noop_result"}


@task(name="noop_sync")
def noop_sync(job: int) -> None:
    mark("s", job)


@task(name="noop_async")
async def noop_async(job: int) -> None:
    mark("s", job)


@task(name="slow")
async def slow(job: int) -> None:
    mark("s", job)
    await asyncio.sleep(SLOW_S)
    mark("e", job)


@task(name="noop_result")
async def noop_result(job: int) -> int:
    mark("s", job)
    return job


class Stoker(figures.Peer):
    name = "stoker"

    def worker_argv(self) -> list[str]:
        return [sys.executable, "-m", "stoker_worker", "--tasks", "stoker_peer", "--queues", "default"]

    def worker_env(self, figure: str) -> dict[str, str]:
        env = {"WORKER_HEALTH_PORT": "0", "WORKER_HEALTH_HOST": "127.0.0.1", "WORKER_POD_DELETION_COST": "false"}
        if figure == "kill":
            env |= {"WORKER_LEASE_S": str(KILL_LEASE_S), "WORKER_REAP_INTERVAL_S": str(KILL_REAP_S)}
        return env

    async def connect(self, url: str) -> None:
        self.broker = Broker.from_settings(RedisSettings(redis_url=url))
        self.producer, self.reader, self.events = Producer(self.broker), Reader(self.broker), JobEvents(self.broker)

    async def close(self) -> None:
        await self.events.close()
        await self.broker.close()

    async def enqueue(self, kind: str, job: int) -> object:
        return (await self.producer.submit(JobRequest(task=TASKS[kind], input=job))).id

    async def enqueue_many(self, kind: str, jobs: range) -> None:
        for at in range(0, len(jobs), 100):
            await self.producer.submit_many([JobRequest(task=TASKS[kind], input=j) for j in jobs[at : at + 100]])

    async def wait_result(self, handle: object) -> None:
        job_id = str(handle)
        async with self.events.watch(job_id) as inbox:
            while True:
                try:
                    await self.reader.get_result(job_id)  # after subscribing, so no change slips between
                    return
                except ResultNotReady as not_yet:
                    if JobStatus(not_yet.status) in TERMINAL:
                        raise
                event = await asyncio.wait_for(inbox.get(), 10)
                while event.status is not None and event.status not in TERMINAL:
                    event = await asyncio.wait_for(inbox.get(), 10)


if __name__ == "__main__":
    figures.main(Stoker())
