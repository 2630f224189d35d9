"""The runtime in-process: results, failures that never stop the worker, leases, drain."""

from __future__ import annotations

import asyncio

from stoker_queue import Broker, JobRequest, JobStatus, Producer, Reader
from tests.worker.conftest import StartWorker, wait_done


async def test_results_and_bad_jobs_side_by_side(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    _, run = await start_worker(retry_backoff_s=0.01)
    ids = {
        name: (await producer.submit(JobRequest(task=task, input=payload, max_attempts=2))).id
        for name, task, payload in [
            ("good", "sum", {"values": [1, 2, 3.5]}),
            ("unknown", "nope", None),
            ("invalid", "sum", {"values": []}),
            ("raises", "explode", {"a": "b"}),
            ("not_json", "nan", 1),
            ("echo", "echo", ["still", "serving"]),
        ]
    }
    done = {name: await wait_done(reader, job_id) for name, job_id in ids.items() if name != "unknown"}
    # A task no worker here serves waits for one that does, uncharged (see test_rolling_update.py).
    unknown = await reader.get_job(ids["unknown"])
    assert unknown.status is JobStatus.QUEUED and unknown.attempts.error == 0
    assert done["good"].status is JobStatus.SUCCEEDED
    assert await reader.get_result(ids["good"]) == {"total": 6.5}
    assert await reader.get_result(ids["echo"]) == ["still", "serving"]
    for name, code, attempts in [
        ("invalid", "invalid_input", 1),
        ("raises", "RuntimeError", 2),
        ("not_json", "invalid_output", 1),
    ]:
        job = done[name]
        assert job.status is JobStatus.FAILED and job.error is not None, name
        assert (job.error.code, job.attempts.error) == (code, attempts), (name, job.error)
    assert done["invalid"].error is not None and done["invalid"].error.details[0]["field"] == "values"  # type: ignore[index]
    raised = done["raises"].error
    assert raised is not None and "cannot handle" in raised.message and "Traceback" in raised.details["traceback"]  # type: ignore[index]
    assert not run.done()


async def test_a_handler_blocking_for_three_leases_is_never_reaped(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    from tests.worker import sample_tasks

    await start_worker(lease_s=0.3, reap_interval_s=0.05)
    job_id = (await producer.submit(JobRequest(task="sleep", input=0.9))).id
    job = await wait_done(reader, job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert job.attempts.crash == 0 and job.attempts.evicted == 0  # never reaped
    assert [c for c in sample_tasks.CALLS if c[:2] == ("sleep", 0.9)] == [("sleep", 0.9, 1)]  # ran once


async def test_stop_finishes_short_jobs_and_hands_back_long_ones(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    worker, run = await start_worker(drain_s=0.6, concurrency=2)
    short = (await producer.submit(JobRequest(task="sleep", input=0.2))).id
    long = (await producer.submit(JobRequest(task="sleep", input=3.0))).id
    from tests.worker import sample_tasks

    async with asyncio.timeout(5):
        # Both handlers started: running in Redis alone could still be a claim not yet dispatched,
        # and a job claimed as the stop arrives is (rightly) handed straight back.
        while not {("sleep", 0.2, 1), ("sleep", 3.0, 1)} <= set(sample_tasks.CALLS):
            await asyncio.sleep(0.01)
    worker.stop()
    waiting = (await producer.submit(JobRequest(task="echo", input=1))).id  # arrives after the stop
    assert await asyncio.wait_for(run, 10) == 0
    assert (await reader.get_job(short)).status is JobStatus.SUCCEEDED
    handed_back = await reader.get_job(long)
    assert handed_back.status is JobStatus.QUEUED
    assert handed_back.attempts.evicted == 1 and handed_back.attempts.error == 0
    assert (await reader.get_job(waiting)).status is JobStatus.QUEUED  # never claimed after the stop


async def test_batches_fill_up_to_the_batch_size_and_a_bad_input_fails_alone(
    broker: Broker, start_worker: StartWorker
) -> None:
    from tests.worker import sample_tasks

    producer, reader = Producer(broker), Reader(broker)
    sample_tasks.CALLS.clear()
    submitted = await producer.submit_many([JobRequest(task="square", queue="batch", input=i) for i in range(8)])
    bad = (await producer.submit(JobRequest(task="square", queue="batch", input=-1, max_attempts=1))).id
    await start_worker(queues=["batch"])
    for i, sub in enumerate(submitted):
        assert (await wait_done(reader, sub.id)).status is JobStatus.SUCCEEDED
        assert await reader.get_result(sub.id) == i * i
    failed = await wait_done(reader, bad)
    assert failed.status is JobStatus.FAILED and failed.error is not None and failed.error.code == "ValueError"
    sizes = [n for name, _, n in sample_tasks.CALLS if name == "square"]
    assert sizes[:2] == [4, 4]  # full batches first
    assert 1 in sizes  # the batch holding the bad input ran again job by job


async def test_a_partial_batch_runs_after_max_wait(broker: Broker, start_worker: StartWorker) -> None:
    from tests.worker import sample_tasks

    producer, reader = Producer(broker), Reader(broker)
    await start_worker(queues=["batch"])
    sample_tasks.CALLS.clear()
    ids = [
        s.id for s in await producer.submit_many([JobRequest(task="square", queue="batch", input=i) for i in range(2)])
    ]
    for job_id in ids:
        assert (await wait_done(reader, job_id)).status is JobStatus.SUCCEEDED
    assert [n for name, _, n in sample_tasks.CALLS if name == "square"] == [2]


async def test_a_class_task_sets_up_once_before_serving(broker: Broker, start_worker: StartWorker) -> None:
    from tests.worker import sample_tasks

    producer, reader = Producer(broker), Reader(broker)
    await start_worker(queues=["model"])
    ids = [
        s.id for s in await producer.submit_many([JobRequest(task="model", queue="model", input=i) for i in range(5)])
    ]
    assert [await reader.get_result((await wait_done(reader, i)).id) for i in ids] == [100, 101, 102, 103, 104]
    assert sample_tasks.SETUPS == ["model"]  # once per process, however many workers and jobs


async def test_cancel_of_a_running_job_ends_it_at_its_next_progress(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(queues=["cancel"])
    job_id = (await producer.submit(JobRequest(task="patient", queue="cancel", input=10_000))).id
    async with asyncio.timeout(10):
        while (job := await reader.get_job(job_id)).progress is None:
            await asyncio.sleep(0.02)
    assert job.status is JobStatus.RUNNING and job.progress is not None and job.progress.message.startswith("step")
    assert await producer.cancel(job_id) is JobStatus.RUNNING
    done = await wait_done(reader, job_id)
    assert done.status is JobStatus.CANCELED and done.attempts.error == 0


async def test_a_timeout_fails_the_job_and_the_worker_goes_on(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    _, run = await start_worker(queues=["timeouts"])
    job_id = (await producer.submit(JobRequest(task="slow", queue="timeouts", input=0.6, max_attempts=1))).id
    done = await wait_done(reader, job_id)
    assert done.status is JobStatus.FAILED and done.error is not None and done.error.code == "timeout"
    quick = (await producer.submit(JobRequest(task="slow", queue="timeouts", input=0.01))).id
    assert (await wait_done(reader, quick)).status is JobStatus.SUCCEEDED
    assert not run.done()


async def test_a_hung_handler_hands_back_the_other_jobs_and_exits_non_zero(
    broker: Broker, start_worker: StartWorker
) -> None:
    from stoker_worker.lifecycle import EXIT_HUNG
    from tests.worker import sample_tasks

    producer, reader = Producer(broker), Reader(broker)
    try:
        worker, run = await start_worker(queues=["timeouts"], hung_grace_s=0.3, drain_s=30)
        other = (await producer.submit(JobRequest(task="slow", queue="timeouts", input=0.15))).id
        stuck = (await producer.submit(JobRequest(task="stuck", queue="timeouts", input=None, max_attempts=1))).id
        longer = (await producer.submit(JobRequest(task="sleep", queue="timeouts", input=5.0))).id
        assert await asyncio.wait_for(run, 10) == EXIT_HUNG
        assert worker.handlers_running == 2  # stuck, and the one handed back mid-run: not joined at exit
        assert (await reader.get_job(stuck)).error.code == "timeout"  # type: ignore[union-attr]
        assert (await reader.get_job(other)).status is JobStatus.SUCCEEDED
        handed_back = await reader.get_job(longer)
        assert handed_back.status is JobStatus.QUEUED and handed_back.attempts.evicted == 1
    finally:
        sample_tasks.RELEASE_STUCK.set()  # else the thread would hold the test process at exit


async def test_async_handlers_run_on_the_loop(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(queues=["async"])
    job_id = (await producer.submit(JobRequest(task="async_echo", queue="async", input="hi"))).id
    await wait_done(reader, job_id)
    assert await reader.get_result(job_id) == "hi"


async def test_a_task_rate_limit_spaces_its_runs(broker: Broker, start_worker: StartWorker) -> None:
    from tests.worker import sample_tasks

    producer, reader = Producer(broker), Reader(broker)
    sample_tasks.CALLS.clear()
    await start_worker(queues=["limited"], concurrency=8)
    ids = [
        s.id
        for s in await producer.submit_many([JobRequest(task="limited", queue="limited", input=i) for i in range(10)])
    ]
    for job_id in ids:
        assert (await wait_done(reader, job_id)).status is JobStatus.SUCCEEDED
    starts = sorted(t for name, t, _ in sample_tasks.CALLS if name == "limited")
    # 5/s with a burst of 1: ten runs cannot fit in less than 9 intervals of 0.2 s.
    assert starts[-1] - starts[0] >= 9 * 0.2 * 0.9
