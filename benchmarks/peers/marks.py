"""What a benchmark task does: append one line ``<tag> <job> <time>`` to the file named by ``BENCH_MARKS``.

The same for every queue, and cheap (one ``write`` on an ``O_APPEND`` descriptor, a few microseconds), so
the figures time the queues, not this. Each line is written whole by one system call, also by processes
that are SIGKILLed right after. Stdlib only: it is imported by each peer's worker in its own virtualenv.
"""

from __future__ import annotations

import os
import time

ENV = "BENCH_MARKS"
SLOW_S = 0.05  # how long a job of the SIGKILL figure runs
_fd: list[int] = []


def mark(tag: str, job: int) -> None:
    """Record that ``job`` started (``s``) or ended (``e``) now."""
    if not _fd:
        _fd.append(os.open(os.environ[ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
    os.write(_fd[0], f"{tag} {job} {time.time():.6f}\n".encode())


def read(path: str) -> list[tuple[str, int, float]]:
    """Every mark written so far, in file order."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        tag, job, at = line.split()
        out.append((tag, int(job), float(at)))
    return out


def firsts(path: str, tag: str) -> dict[int, float]:
    """Job -> when it first got ``tag``."""
    seen: dict[int, float] = {}
    for t, job, at in read(path):
        if t == tag:
            seen.setdefault(job, at)
    return seen
