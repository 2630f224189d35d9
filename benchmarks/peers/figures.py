"""The figures, timed the same way for every queue. Each adapter (``<peer>_peer.py``) says only how its queue
enqueues a job, waits for a result and starts a worker; this module does the timing.

An adapter runs inside its queue's own virtualenv and speaks one JSON line on stdout::

    python arq_peer.py drain-async --redis redis://127.0.0.1:6379/0 --size 2000 --seconds 8
    {"figure": "drain-async", "values": {"jobs_s": 2101.3, "done": 2000, "of": 2000}}

or ``{"figure": ..., "error": "..."}``. Stdlib only, like ``marks``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import marks

HERE = Path(__file__).resolve().parent
# The kinds of job: a plain-function no-op, a coroutine no-op, a coroutine that runs ``marks.SLOW_S``
# (the SIGKILL figure), and a coroutine no-op whose result a client waits for.
KINDS = ("sync", "async", "slow", "result")
WARMUP = -1  # the job that tells a worker is up; never counted
QUIET_S = 6.0  # the SIGKILL figure's end: this long without a job starting or ending


class Peer:
    """One queue, as the figures see it. Subclasses fill in the blanks with the queue's own client."""

    name = ""
    kinds: tuple[str, ...] = KINDS

    def worker_argv(self) -> list[str]:
        raise NotImplementedError

    def worker_env(self, figure: str) -> dict[str, str]:
        return {}

    async def connect(self, url: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass

    async def enqueue(self, kind: str, job: int) -> object:
        raise NotImplementedError

    async def wait_result(self, handle: object) -> None:
        raise NotImplementedError

    async def enqueue_many(self, kind: str, jobs: range) -> None:
        """Fill the queue before a figure (not timed): one at a time unless the queue has a faster way."""
        for job in jobs:
            await self.enqueue(kind, job)


class Worker:
    """A worker process in a session of its own, so a signal reaches every process it forked."""

    def __init__(self, peer: Peer, figure: str, url: str, marks_path: str, log: Path) -> None:
        env = dict(os.environ)
        env |= {marks.ENV: marks_path, "BENCH_REDIS_URL": url, "REDIS_URL": url, "PYTHONPATH": str(HERE)}
        env |= peer.worker_env(figure)
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            peer.worker_argv(), env=env, cwd=HERE, stdout=self._log, stderr=self._log, start_new_session=True
        )

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL every process of the worker, also children that left its session (rq's work horse)."""
        family = _descendants(self.proc.pid)
        self.signal(signal.SIGKILL)
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid``, from ``/proc``."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        out += children
        todo += children
    return out


async def _until(path: str, tag: str, count: int, seconds: float) -> dict[int, float]:
    """Poll the marks until ``count`` jobs have ``tag``, or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        seen = {j: t for j, t in marks.firsts(path, tag).items() if j != WARMUP}
        if len(seen) >= count or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.05)


async def _in_flight(path: str, started: int, seconds: float) -> None:
    """Until ``started`` jobs have started and one of them is running, or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        begun, ended = marks.firsts(path, "s"), marks.firsts(path, "e")
        if len(begun) > started and any(j not in ended for j in begun if j != WARMUP):
            return
        await asyncio.sleep(0.005)


async def _quiet(path: str, n: int, until: float) -> None:
    """Until all ``n`` jobs ended, no mark was written for ``QUIET_S``, or the clock reads ``until``."""
    while time.time() < until:
        seen = marks.read(path)
        if len({j for tag, j, _ in seen if tag == "e" and j != WARMUP}) >= n:
            return
        if seen and time.time() - seen[-1][2] > QUIET_S:
            return
        await asyncio.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


class Run:
    """One figure for one peer: its marks file, its worker, its arguments."""

    def __init__(self, peer: Peer, args: argparse.Namespace) -> None:
        self.peer, self.args = peer, args
        self.dir = Path(tempfile.mkdtemp(prefix=f"bench-{peer.name}-"))
        self.marks = str(self.dir / "marks")
        self.workers: list[Worker] = []

    async def worker(self, kind: str) -> Worker:
        """A worker, up once it ran a job of ``kind``."""
        worker = Worker(self.peer, self.args.figure, self.args.redis, self.marks, self.dir / "worker.log")
        self.workers.append(worker)
        await self.peer.enqueue(kind, WARMUP)
        deadline = time.monotonic() + 60
        while WARMUP not in marks.firsts(self.marks, "s"):
            if worker.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "worker.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.peer.name} worker did not start: {log}")
            await asyncio.sleep(0.02)
        return worker

    async def drain(self, kind: str) -> dict[str, float]:
        worker = await self.worker(kind)
        worker.signal(signal.SIGSTOP)  # the queue fills while the worker cannot take anything
        n = self.args.size
        await self.peer.enqueue_many(kind, range(n))
        worker.signal(signal.SIGCONT)
        started = await _until(self.marks, "s", n, self.args.seconds)
        times = sorted(started.values())
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        return {"jobs_s": rate, "done": len(times), "of": n}

    async def enqueue(self) -> dict[str, float]:
        n = self.args.size
        kind = "sync" if "sync" in self.peer.kinds else "async"
        began = time.perf_counter()
        for job in range(n):
            await self.peer.enqueue(kind, job)
        return {"jobs_s": n / (time.perf_counter() - began)}

    async def latency(self) -> dict[str, float]:
        """Submit -> start at ``--rate`` jobs/s offered, on a schedule that does not wait for the queue."""
        await self.worker("async")
        rate, n = self.args.rate, self.args.size
        sent: dict[int, float] = {}
        began = time.perf_counter() + 0.05
        for job in range(n):
            delay = began + job / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[job] = time.time()
            await self.peer.enqueue("async", job)
        started = await _until(self.marks, "s", n, self.args.seconds)
        waits = [(started[j] - sent[j]) * 1000 for j in started]
        return {
            "p50_ms": pct(waits, 50),
            "p95_ms": pct(waits, 95),
            "p99_ms": pct(waits, 99),
            "done": len(waits),
            "of": n,
        }

    async def roundtrip(self) -> dict[str, float]:
        """Closed loop: submit, wait for the result, again; for ``--size`` jobs or ``--seconds``."""
        await self.worker("result")
        times: list[float] = []
        deadline = time.monotonic() + self.args.seconds
        for job in range(self.args.size):
            began = time.perf_counter()
            await self.peer.wait_result(await self.peer.enqueue("result", job))
            times.append((time.perf_counter() - began) * 1000)
            if time.monotonic() > deadline:
                break
        return {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "n": len(times)}

    async def kill(self) -> dict[str, float | None]:
        """SIGKILL the worker while jobs run, start another at once, and count the jobs that never end.

        The count is taken once no job has started or ended for ``QUIET_S`` (longer than Stoker's lease for
        this figure plus a reaper pass), or ``--seconds`` after the kill: jobs still waiting behind a slow
        worker are not lost, jobs that a queue would run again only minutes later are.
        """
        worker = await self.worker("slow")
        n = self.args.size
        for job in range(n):
            await self.peer.enqueue("slow", job)
        await _in_flight(self.marks, max(1, n // 10), 30)
        worker.kill()
        killed_at = time.time()
        started, ended = marks.firsts(self.marks, "s"), marks.firsts(self.marks, "e")
        interrupted = {j for j in started if j not in ended and j != WARMUP}
        self.workers.append(Worker(self.peer, self.args.figure, self.args.redis, self.marks, self.dir / "worker.log"))
        await _quiet(self.marks, n, killed_at + self.args.seconds)
        seen = marks.read(self.marks)
        done = {j for tag, j, _ in seen if tag == "e" and j != WARMUP}
        reruns = [t - killed_at for tag, j, t in seen if tag == "s" and t > killed_at and j in interrupted]
        runs = [j for tag, j, _ in seen if tag == "s" and j != WARMUP]
        return {
            "lost": n - len(done),
            "of": n,
            "interrupted": len(interrupted),
            "rerun_s": min(reruns) if reruns else None,
            "twice": len(runs) - len(set(runs)),
        }

    def close(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


FIGURES: dict[str, Callable[[Run], Awaitable[dict[str, float | None]]]] = {
    "drain-sync": lambda r: r.drain("sync"),
    "drain-async": lambda r: r.drain("async"),
    "enqueue": Run.enqueue,
    "latency": Run.latency,
    "roundtrip": Run.roundtrip,
    "kill": Run.kill,
}


def needs(figure: str) -> str:
    """The kind of job a figure cannot do without."""
    return {"drain-sync": "sync"}.get(figure, "async")


async def _main(peer: Peer, args: argparse.Namespace) -> dict[str, object]:
    if needs(args.figure) not in peer.kinds:
        return {"figure": args.figure, "values": None}
    await peer.connect(args.redis)
    run = Run(peer, args)
    try:
        return {"figure": args.figure, "values": await FIGURES[args.figure](run)}
    finally:
        run.close()
        await peer.close()


def main(peer: Peer) -> None:
    """The adapter's entry point: one figure, one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("figure", choices=sorted(FIGURES))
    parser.add_argument("--redis", required=True)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    try:
        out = asyncio.run(_main(peer, args))
    except Exception as exc:  # reported in the table, not as a traceback in the middle of it
        traceback.print_exc(file=sys.stderr)
        out = {"figure": args.figure, "error": f"{type(exc).__name__}: {exc}"[:300]}
    print(json.dumps(out), flush=True)
