"""The built-in tasks with their real dependencies: MiniLM embeddings, burn, and CUDA OOM splits."""

from __future__ import annotations

import asyncio
import math

import pytest

from stoker_queue import Broker, JobRequest, JobStatus, Producer, Reader
from stoker_worker import load_tasks
from stoker_worker.device import describe, select_device
from tests.worker.conftest import StartWorker, wait_done

pytest.importorskip("torch")


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


async def test_embed_returns_real_sentence_embeddings(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(queues=["embed"], tasks=["stoker_worker.tasks.embed"])
    texts = ["The cat sits on the mat.", "A cat is sitting on the mat.", "Quarterly revenue rose by four percent."]
    ids = [
        s.id
        for s in await producer.submit_many(
            [JobRequest(task="embed", queue="embed", input={"texts": [t]}) for t in texts]
            + [JobRequest(task="embed", queue="embed", input={"texts": texts})]
        )
    ]
    outputs = []
    for job_id in ids:
        assert (await wait_done(reader, job_id, 120)).status is JobStatus.SUCCEEDED
        outputs.append(await reader.get_result(job_id))
    cat, cat_again, revenue = (o["embeddings"][0] for o in outputs[:3])  # type: ignore[index,call-overload]
    assert len(cat) == 384 and abs(sum(x * x for x in cat) - 1) < 1e-4
    assert _cosine(cat, cat_again) > 0.9
    assert _cosine(cat, revenue) < 0.5
    together = outputs[3]["embeddings"]  # type: ignore[index,call-overload]
    assert len(together) == 3 and _cosine(together[2], revenue) > 0.999  # batching does not change results


async def test_embed_refuses_bad_input_in_the_catalog_schema(broker: Broker, start_worker: StartWorker) -> None:
    info = load_tasks(["stoker_worker.tasks.embed"])["embed"].info()
    assert info.input_schema["required"] == ["texts"] and info.batch_size == 32
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(queues=["embed"], tasks=["stoker_worker.tasks.embed"])
    job_id = (await producer.submit(JobRequest(task="embed", queue="embed", input={"texts": []}))).id
    done = await wait_done(reader, job_id, 120)
    assert done.status is JobStatus.FAILED and done.error is not None and done.error.code == "invalid_input"


async def test_burn_keeps_the_device_busy_and_stops_on_cancel(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(queues=["burn"], tasks=["stoker_worker.tasks.burn"])
    short = (await producer.submit(JobRequest(task="burn", queue="burn", input={"seconds": 0.3}))).id
    assert (await wait_done(reader, short, 60)).status is JobStatus.SUCCEEDED
    result = await reader.get_result(short)
    assert result["seconds"] >= 0.3 and result["matmuls"] > 0 and result["device"] == select_device()  # type: ignore[index,call-overload]
    long = (await producer.submit(JobRequest(task="burn", queue="burn", input={"seconds": 600}))).id
    async with asyncio.timeout(30):
        while (await reader.get_job(long)).progress is None:
            await asyncio.sleep(0.05)
    await producer.cancel(long)
    assert (await wait_done(reader, long, 30)).status is JobStatus.CANCELED


async def test_cuda_out_of_memory_splits_the_batch(broker: Broker, start_worker: StartWorker) -> None:
    from tests.worker import sample_tasks

    producer, reader = Producer(broker), Reader(broker)
    sample_tasks.CALLS.clear()
    ids = [
        s.id for s in await producer.submit_many([JobRequest(task="oom_prone", queue="oom", input=i) for i in range(4)])
    ]
    await start_worker(queues=["oom"])
    assert [await reader.get_result((await wait_done(reader, i)).id) for i in ids] == [1, 2, 3, 4]
    sizes = [n for name, _, n in sample_tasks.CALLS if name == "oom_prone"]
    assert sizes == [4, 2, 1, 1, 2, 1, 1]  # halved until each part fits; no job failed or retried
    assert [(await reader.get_job(i)).attempts.error for i in ids] == [0, 0, 0, 0]


@pytest.mark.gpu
def test_the_device_is_cuda_where_a_gpu_is_visible() -> None:
    info = describe(select_device())
    assert info.device == "cuda" and info.gpu_name and info.gpu_memory_total_bytes
