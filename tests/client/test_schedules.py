"""Schedules through the client (sync and async) and ``stoker schedules``, against the real stack, whose API
and worker both run schedulers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from stoker_client import AsyncClient, Client, ScheduleInfo
from stoker_client.cli import app
from stoker_queue import Broker, QueueAdmin, RedisSettings, Registry, Schedule, TaskInfo
from tests.client.conftest import Stack

# On queues no worker of the stack claims: the jobs wait, and other tests never meet them.
NIGHTLY = TaskInfo(name="nightly-report", queue="reports", schedule=Schedule(cron="0 0 1 1 *"))
BEAT = TaskInfo(name="beat", queue="beats", schedule=Schedule(every_s=1, input={"n": 1}))


def _on_stack(stack: Stack, act: str) -> None:
    async def run() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=stack.redis_url))
        try:
            registry = Registry(broker)
            if act == "publish":
                await registry.publish_tasks([NIGHTLY, BEAT])
                return
            for task in (NIGHTLY, BEAT):
                await registry.remove_task(task.name)
            await QueueAdmin(broker).purge(BEAT.queue)
        finally:
            await broker.close()

    asyncio.run(run())


@pytest.fixture
def scheduled(stack: Stack) -> Iterator[Stack]:
    _on_stack(stack, "publish")
    try:
        yield stack
    finally:
        _on_stack(stack, "remove")


def _fired(client: Client, timeout: float = 15) -> ScheduleInfo:
    deadline = time.monotonic() + timeout
    while True:
        beat = next(s for s in client.schedules() if s["name"] == "beat")
        if beat.get("last_job_id"):
            return beat
        assert time.monotonic() < deadline, beat
        time.sleep(0.05)


def test_the_client_lists_schedules_with_their_last_tick(scheduled: Stack) -> None:
    with Client(scheduled.url, scheduled.user_key) as stoker:
        beat = _fired(stoker)
        assert beat["every_s"] == 1 and beat["cron"] is None and beat["queue"] == "beats"
        assert beat["last_outcome"] == "fired" and beat["next_run_at"] > str(beat["last_run_at"])
        nightly = next(s for s in stoker.schedules() if s["name"] == "nightly-report")
        assert nightly["cron"] == "0 0 1 1 *" and nightly["last_run_at"] is None
        assert nightly["next_run_at"].endswith("-01-01T00:00:00Z")

    async def listed() -> list[str]:
        async with AsyncClient(scheduled.url, scheduled.user_key) as aio:
            return sorted(s["name"] for s in await aio.schedules())

    assert asyncio.run(listed()) == ["beat", "nightly-report"]


def test_stoker_schedules_shows_a_table_and_json(scheduled: Stack) -> None:
    with Client(scheduled.url, scheduled.user_key) as stoker:
        _fired(stoker)
    env = {"STOKER_URL": scheduled.url, "STOKER_API_KEY": scheduled.user_key, "COLUMNS": "200"}
    shown = CliRunner().invoke(app, ["schedules"], env=env)
    assert shown.exit_code == 0, shown.output
    for text in ("schedules (UTC)", "nightly-report", "cron 0 0 1 1 *", "beat", "every 1s", "beats.", "ago"):
        assert text in shown.stdout, shown.stdout
    as_json = json.loads(CliRunner().invoke(app, ["schedules", "--json"], env=env).stdout)
    assert {s["name"] for s in as_json} == {"beat", "nightly-report"}


def test_stoker_schedules_with_none_says_how_to_add_one(stack: Stack) -> None:
    env = {"STOKER_URL": stack.url, "STOKER_API_KEY": stack.user_key}
    shown = CliRunner().invoke(app, ["schedules"], env=env)
    assert shown.exit_code == 0 and "no periodic task published" in shown.stdout
