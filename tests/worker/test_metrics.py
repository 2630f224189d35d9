"""The worker's /metrics after real jobs: the contract's names and labels, every outcome and cause counted."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from stoker_queue import Broker, JobRequest, Producer, Reader, WebhookSpec
from stoker_worker.runtime import Worker
from tests.worker.conftest import StartWorker, wait_done
from tests.worker.test_webhooks import Receiver

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(worker: Worker) -> Samples:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{worker.health.port}/metrics")).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_outcomes_attempts_batches_and_setup_are_counted(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    worker, _ = await start_worker(retry_backoff_s=0.01, queues=["default", "batch", "model"], concurrency=3)
    jobs = [
        JobRequest(task="sum", input={"values": [1]}),
        JobRequest(task="sum", input={"values": [2]}),
        JobRequest(task="explode", input={"a": "b"}, max_attempts=2),
        *[JobRequest(task="square", queue="batch", input=i) for i in range(4)],
        JobRequest(task="model", queue="model", input=1),
    ]
    for job in await producer.submit_many(jobs):
        await wait_done(reader, job.id)
    await asyncio.sleep(0.05)
    m = await scrape(worker)
    finished = "stoker_jobs_finished_total"
    assert value(m, finished, queue="default", task="sum", outcome="succeeded") == 2
    assert value(m, finished, queue="default", task="explode", outcome="failed") == 1
    assert value(m, "stoker_attempts_total", queue="default", task="explode", cause="error") == 2
    assert value(m, "stoker_job_wait_seconds_count", queue="default", task="sum") == 2
    assert value(m, "stoker_job_run_seconds_count", queue="batch", task="square") == 4
    assert value(m, "stoker_job_e2e_seconds_count", queue="default", task="explode", outcome="failed") == 1
    assert (
        value(m, "stoker_job_e2e_seconds_bucket", queue="default", task="sum", outcome="succeeded", le="14400.0") == 2
    )
    assert value(m, "stoker_worker_batch_size_bucket", task="square", le="4.0") >= 1
    assert value(m, "stoker_worker_setup_seconds", task="model") > 0
    assert value(m, "stoker_worker_busy_slots", queue="default") == 0
    assert value(m, "stoker_worker_slots", queue="batch") == worker.capacity
    assert not any("job_id" in dict(labels) for _, labels in m)


async def test_webhook_deliveries_by_outcome(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    receiver = Receiver([500])  # the first delivery fails, its retry is delivered
    try:
        open_worker, _ = await start_worker(webhook_allow_private=True, queues=["hooks"])
        strict_worker, _ = await start_worker(webhook_allow_private=False, queues=["strict"])
        hook = WebhookSpec(url=receiver.url)
        for queue in ("hooks", "strict"):
            job = await producer.submit(JobRequest(task="echo", queue=queue, input=1, webhook=hook))
            await wait_done(reader, job.id)
        await receiver.wait_for(2, timeout=20)
        await asyncio.sleep(0.1)
        opened, strict = await scrape(open_worker), await scrape(strict_worker)
    finally:
        receiver.close()
    deliveries = "stoker_webhook_deliveries_total"
    assert (value(opened, deliveries, outcome="failed"), value(opened, deliveries, outcome="delivered")) == (1, 1)
    assert value(strict, deliveries, outcome="refused") == 1  # loopback is internal: never called


async def test_a_job_handed_back_on_stop_counts_as_evicted(broker: Broker, start_worker: StartWorker) -> None:
    from prometheus_client import generate_latest

    producer = Producer(broker)
    worker, run = await start_worker(drain_s=0.2)
    job = await producer.submit(JobRequest(task="sleep", input=2.0))
    while not len(worker.inflight):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # in its handler
    worker.stop()
    assert await asyncio.wait_for(run, 10) == 0
    text = generate_latest(worker.health.registry).decode()  # the side server is closed by now
    assert 'stoker_attempts_total{cause="evicted",queue="default",task="sleep"} 1.0' in text
    assert (await Reader(broker).get_job(job.id)).attempts.evicted == 1
