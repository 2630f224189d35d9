"""``make bench``'s harness at smoke size (``BENCH_QUICK=1``), so it cannot rot: real redis-server, worker,
API and load processes, Stoker alone (the peers' virtualenvs are made by ``make bench``, never here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.redis_server import find_binaries

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# A row whose Stoker cell is a number: "| drain, plain functions, jobs/s | 431 | ..."
NUMBER = r"\|\s*[\d,]+(\.\d+)?\*?\s*\|"
ROWS = [
    "drain, plain functions, jobs/s",
    "enqueue one at a time, jobs/s",
    "submit→start at 200/s, p99 ms",
    "result seen by a waiting client, p50 ms",
    "SIGKILL: jobs never run again",
    "SIGKILL: an interrupted job runs again, s",
    "API ?wait=, one at a time: answer p50 ms",
    "API ?wait= at 200/s: answer p50 ms",
    "HTTP client, result seen by waiter, p50 ms",
    "one API process, jobs/s in batches of 100",
]


@pytest.mark.timeout(180)
def test_the_smoke_run_prints_the_table_with_stokers_figures() -> None:
    if not find_binaries():
        pytest.skip("no redis-server on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "WORKER_", "REDIS_", "OTEL_"))}
    env |= {"BENCH_QUICK": "1", "BENCH_PEERS": "stoker"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert "| figure" in out.stdout and "stoker (this tree)" in out.stdout, out.stdout
    for row in ROWS:
        line = next((x for x in out.stdout.splitlines() if x.startswith(f"| {row}")), "")
        assert re.search(rf"^\| {re.escape(row)}[^|]*{NUMBER}", line), f"{row!r} has no figure:\n{out.stdout}"
    lost = next(x for x in out.stdout.splitlines() if x.startswith("| SIGKILL: jobs never run again"))
    assert lost.split("|")[2].strip() == "0", lost  # Stoker's column: a SIGKILL loses nothing
