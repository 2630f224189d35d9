"""Periodic tasks in the SDK and the worker: declarations, one-line errors at import, the published
schedule, and a worker that takes ticks (and a burst worker that does not)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from pydantic import BaseModel

from stoker_queue import Broker, JobStatus, Reader, RedisSettings, Registry, Scheduler, Tick
from stoker_worker import cron, every, load_tasks, task
from stoker_worker.observe import JobObserver
from stoker_worker.schedule import ScheduleDeclaration
from stoker_worker.task import TaskSpec
from tests.worker.conftest import StartWorker, wait_done
from tests.worker.test_metrics import scrape, value

STOKER_WORKER = Path(sys.executable).parent / "stoker-worker"
PERIODIC = "tests.worker.periodic_tasks"


class Report(BaseModel):
    day: str


def _spec(schedule: ScheduleDeclaration, name: str = "nightly") -> TaskSpec:
    @task(name=name, queue="reports", schedule=schedule)
    def nightly(report: Report) -> None:
        return None

    spec: TaskSpec = nightly.__stoker_task__  # type: ignore[attr-defined]
    return spec


def test_an_interval_adds_up_its_parts_and_goes_into_the_catalog() -> None:
    info = _spec(every(hours=1, minutes=30, input={"day": "today"})).info()
    assert info.schedule is not None and info.schedule.every_s == 5400 and info.schedule.input == {"day": "today"}
    scheduled = info.scheduled()
    assert scheduled is not None and scheduled.queue == "reports" and scheduled.task == "nightly"


def test_a_cron_schedule_may_name_its_own_queue_and_priority() -> None:
    info = _spec(cron("30 3 * * 1-5", input={"day": "x"}, queue="batch", priority="low")).info()
    scheduled = info.scheduled()
    assert scheduled is not None and scheduled.queue == "batch" and scheduled.schedule.priority.value == "low"
    assert scheduled.schedule.cron == "30 3 * * 1-5"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (cron("61 * * * *", input={"day": "x"}), "invalid cron expression '61 * * * *': Bad minute"),
        (cron("every day", input={"day": "x"}), "invalid cron expression 'every day': Wrong number of fields"),
        (every(seconds=0.5, input={"day": "x"}), "every 0.5s is under the 1s minimum"),
        (every(input={"day": "x"}), "every 0s is under the 1s minimum"),
        (every(seconds=5, input={"day": "x"}, queue="Reports!"), "invalid queue name 'Reports!'"),
        (every(seconds=5, input={"day": "x"}, priority="urgent"), "priority: Input should be 'high', 'normal'"),
        (every(seconds=5), "its schedule's input does not fit the task: Input should be a valid dictionary"),
        (every(seconds=5, input={"days": 1}), "its schedule's input does not fit the task: day: Field required"),
    ],
)
def test_a_schedule_that_cannot_run_fails_at_import_naming_the_task(
    schedule: ScheduleDeclaration, message: str
) -> None:
    with pytest.raises(ValueError, match=r"^task 'nightly': ") as raised:
        _spec(schedule)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_the_console_script_says_in_one_line_which_task_has_a_bad_schedule(
    tmp_path: Path, newest_redis_url: str
) -> None:
    (tmp_path / "badcron.py").write_text(
        "from stoker_worker import cron, task\n\n\n"
        '@task(name="digest", schedule=cron("*/5 * * *"))\n'
        "def digest(_: None) -> None:\n    return None\n"
    )
    run = subprocess.run(
        [str(STOKER_WORKER), "--tasks", "badcron"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": newest_redis_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "stoker-worker: cannot load tasks: task 'digest': invalid schedule: "
        "invalid cron expression '*/5 * * *': Wrong number of fields"
    ]


def test_publishing_the_catalog_publishes_the_schedules(newest_redis_url: str) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    run = subprocess.run(
        [sys.executable, "-m", "stoker_worker", "--publish-catalog", "--tasks", PERIODIC, "--queues", "periodic"],
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": newest_redis_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr

    async def listed() -> list[str]:
        broker = Broker.from_settings(RedisSettings(redis_url=newest_redis_url))
        try:
            return [f"{s.name} {s.queue} {s.every_s}" for s in await Scheduler(broker).list_schedules()]
        finally:
            await broker.close()

    assert asyncio.run(listed()) == ["status-poll periodic 1.0"]


class TickLog(JobObserver):
    def __init__(self) -> None:
        self.ticks: list[Tick] = []

    def ticked(self, tick: Tick) -> None:
        self.ticks.append(tick)


async def test_a_worker_takes_the_ticks_runs_their_jobs_and_counts_them(
    broker: Broker, start_worker: StartWorker
) -> None:
    log = TickLog()
    worker, _ = await start_worker(tasks=[PERIODIC], queues=["periodic"], observers=[log])
    async with asyncio.timeout(15):
        while len(log.ticks) < 2:
            await asyncio.sleep(0.05)
    first, second = log.ticks[:2]
    assert (second.tick_at - first.tick_at).total_seconds() == 1
    assert first.job_id is not None
    job = await wait_done(Reader(broker), first.job_id)
    assert job.status is JobStatus.SUCCEEDED and job.metadata["schedule"] == "status-poll"
    await asyncio.sleep(0.05)
    samples = await scrape(worker)
    fired = value(samples, "stoker_schedule_ticks_total", queue="periodic", task="status-poll", outcome="fired")
    assert fired >= 2


async def test_a_burst_worker_takes_no_ticks(broker: Broker, start_worker: StartWorker) -> None:
    spec = load_tasks([PERIODIC])["status-poll"]
    await Registry(broker).publish_tasks([spec.info()], queues=["periodic"])
    await Scheduler(broker).run_once()  # started: its next tick is due within a second
    await asyncio.sleep(1.1)
    log = TickLog()
    _, run = await start_worker(tasks=[PERIODIC], queues=["periodic"], observers=[log], burst=True)
    assert await asyncio.wait_for(run, 15) == 0  # its queue stayed empty, so it ended
    assert log.ticks == []
