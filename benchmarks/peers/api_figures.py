"""Stoker's HTTP figures, which no peer has: ``POST /v1/jobs?wait=`` one at a time and at 200 jobs/s offered,
the HTTP client waiting for results in a closed loop, and the submit throughput of one API process (uvicorn,
auth off, no submit limit, no access log), driven by a separate load process (``load.py``) on 32 connections."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import figures
import httpx
import load
import marks
from run import RATE, Size, Values, fresh_redis
from stoker_peer import Stoker

from stoker_client import AsyncClient

HERE = Path(__file__).resolve().parent
CONCURRENCY, BATCH, WARMUP_S = 32, 100, 1.0
WITH_WORKER = ("api-wait", "http-roundtrip")
SERVE = """
import sys, uvicorn
from stoker_api.main import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _env(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "OTEL_", "REDIS_", "WORKER_"))}
    return env | {"REDIS_URL": redis_url, "API_AUTH_DISABLED": "true", "API_SUBMIT_RATE": "off"}


@contextmanager
def api(redis_url: str, logs: Path) -> Iterator[str]:
    """One uvicorn process serving the API; yields its URL once it is ready."""
    from tests.support.redis_server import free_port

    port = free_port()
    log = (logs / "api.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=_env(redis_url), stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start: {(logs / 'api.log').read_text()[-1000:]}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


@contextmanager
def stack(redis_url: str, *, worker: bool) -> Iterator[tuple[str, str]]:
    """The API, with a Stoker worker serving the benchmark tasks or only their catalog published."""
    logs = Path(tempfile.mkdtemp(prefix="bench-api-"))
    path = str(logs / "marks")
    peer = Stoker()
    if not worker:
        argv = [*peer.worker_argv(), "--publish-catalog"]
        env = _env(redis_url) | {"PYTHONPATH": str(HERE)}
        subprocess.run(argv, env=env, cwd=HERE, check=True, capture_output=True, timeout=60)
    running = figures.Worker(peer, "api", redis_url, path, logs / "worker.log") if worker else None
    try:
        with api(redis_url, logs) as url:
            yield url, path
    finally:
        if running:
            running.kill()
        shutil.rmtree(logs, ignore_errors=True)


async def _until_served(client: httpx.AsyncClient) -> None:
    """The worker has published its catalog and runs jobs: a held submit comes back finished."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = {"task": "noop_async", "input": figures.WARMUP}
        if (await client.post("/v1/jobs", params={"wait": 5}, json=body)).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the worker did not serve the API's job")


async def _wait_figure(url: str, path: str, size: Size) -> Values:
    """Open loop: a held submit every 1/RATE s, each on a free keep-alive connection (opened when none is)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await _until_served(client)
    idle: list[load.Connection] = [await load.Connection.open(url) for _ in range(CONCURRENCY)]
    closed: list[float] = []  # first one held submit at a time, for what one costs when nothing queues
    for job in range(-2, -2 - max(5, size.jobs // 6), -1):
        began = time.perf_counter()
        body = json.dumps({"task": "noop_async", "input": job}).encode()
        status, _ = await idle[0].send(load.encode(url, "/v1/jobs?wait=10", body))
        if status == 200:
            closed.append((time.perf_counter() - began) * 1000)
    sent: dict[int, float] = {}
    answers: list[float] = []

    async def one(job: int) -> None:
        conn = idle.pop() if idle else await load.Connection.open(url)
        body = json.dumps({"task": "noop_async", "input": job}).encode()
        began = time.perf_counter()
        sent[job] = time.time()
        status, _ = await conn.send(load.encode(url, "/v1/jobs?wait=10", body))
        if status == 200:
            answers.append((time.perf_counter() - began) * 1000)
        idle.append(conn)

    began, pending = time.perf_counter() + 0.05, []
    for job in range(size.jobs):
        await asyncio.sleep(max(0.0, began + job / RATE - time.perf_counter()))
        pending.append(asyncio.create_task(one(job)))
    await asyncio.gather(*pending)
    for conn in idle:
        conn.close()
    started = marks.firsts(path, "s")
    waits = [(started[j] - sent[j]) * 1000 for j in sent if j in started]
    return {
        "p50_ms": figures.pct(waits, 50),
        "p95_ms": figures.pct(waits, 95),
        "p99_ms": figures.pct(waits, 99),
        "answer_p50_ms": figures.pct(answers, 50),
        "answer_p99_ms": figures.pct(answers, 99),
        "closed_p50_ms": figures.pct(closed, 50),
        "closed_p99_ms": figures.pct(closed, 99),
        "done": len(answers),
        "of": size.jobs,
    }


async def _client_figure(url: str, size: Size) -> Values:
    async with httpx.AsyncClient(base_url=url, timeout=30) as raw:
        await _until_served(raw)
    times: list[float] = []
    deadline = time.monotonic() + size.seconds
    async with AsyncClient(url) as client:
        for job in range(size.jobs):
            began = time.perf_counter()
            await (await client.submit("noop_result", job)).result(timeout=10)
            times.append((time.perf_counter() - began) * 1000)
            if time.monotonic() > deadline:
                break
    return {"p50_ms": figures.pct(times, 50), "p99_ms": figures.pct(times, 99), "n": len(times)}


def _load(url: str, path: str, body: object, seconds: float) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(body, f)
        f.flush()
        cmd = [sys.executable, str(HERE / "load.py"), url, path, f.name, str(seconds), str(CONCURRENCY)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    result: dict[str, float] = json.loads(out.stdout)
    if result["errors"]:
        raise RuntimeError(f"{result['errors']:.0f} of the load's requests failed")
    return result


def _submit_figure(url: str, size: Size, batch: bool) -> Values:
    if batch:
        path, body, per = "/v1/jobs/batch", {"jobs": [{"task": "noop_async", "input": i} for i in range(BATCH)]}, BATCH
    else:
        path, body, per = "/v1/jobs", {"task": "noop_async", "input": 1}, 1
    _load(url, path, body, WARMUP_S)
    return {"jobs_s": _load(url, path, body, size.seconds)["rps"] * per}


def _figure(figure: str, url: str, path: str, size: Size) -> Values:
    if figure == "api-wait":
        return asyncio.run(_wait_figure(url, path, size))
    if figure == "http-roundtrip":
        return asyncio.run(_client_figure(url, size))
    return _submit_figure(url, size, batch=figure == "api-batch")


def run_api(sizes: dict[str, Size], *, shared: bool = False) -> dict[str, Values | str]:
    """Each figure on a fresh Redis, API and worker (none for the submit figures); with ``shared`` (the smoke
    run), all on one, which saves their start-up and measures nothing worth reading."""
    out: dict[str, Values | str] = {}
    with contextlib.ExitStack() as common:
        one = common.enter_context(_stack_on_fresh_redis(worker=True)) if shared else None
        for figure, size in sizes.items():
            began = time.monotonic()
            try:
                with contextlib.ExitStack() as own:
                    url, path = one or own.enter_context(_stack_on_fresh_redis(worker=figure in WITH_WORKER))
                    out[figure] = _figure(figure, url, path, size)
            except Exception as exc:  # one figure's failure is a cell of the table, not the end of the run
                out[figure] = f"{type(exc).__name__}: {exc}"[:300]
            took = time.monotonic() - began
            print(f"  {figure:<14} stoker    {took:5.1f}s  {out[figure]}", file=sys.stderr, flush=True)
    return out


@contextmanager
def _stack_on_fresh_redis(*, worker: bool) -> Iterator[tuple[str, str]]:
    with fresh_redis() as redis_url, stack(redis_url, worker=worker) as where:
        yield where
