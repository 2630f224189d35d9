"""The local autoscaler end to end: ``stoker dev`` with a pool at zero, a backlog, and real workers.

The pool wakes on the first poll that sees jobs, grows to its bound, scales in by SIGTERM (workers
drain, so what they held is handed back uncharged), goes back to zero once the cooldown has passed
without jobs, and wakes again for the next one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.dev_stack import interrupt
from tests.support.redis_server import find_binaries, free_port

ROOT = Path(__file__).resolve().parents[2]
STOKER = str(Path(sys.executable).parent / "stoker")
pytestmark = pytest.mark.slow

POOL = """
workers:
  pools:
    - name: naps
      queues: [naps]
      tasks: [tests.dev.nap_tasks]
      concurrency: 2
      device: cpu
      drainSeconds: 10
      keda:
        minReplicaCount: 0
        maxReplicaCount: 3
        pollingInterval: 1
        cooldownPeriod: 4
        behavior:
          scaleUp:
            stabilizationWindowSeconds: 0
            policies: [{type: Pods, value: 3, periodSeconds: 1}]
          scaleDown:  # at once, so workers are told to stop while jobs still run
            stabilizationWindowSeconds: 0
            policies: [{type: Pods, value: 3, periodSeconds: 1}]
"""


def _until(what: str, check: Callable[[], bool], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s} s:\n{log.read_text()[-4000:]}"
        time.sleep(0.1)


@pytest.mark.timeout(300)
def test_a_pool_scales_from_zero_to_its_bound_and_back_to_zero(tmp_path: Path) -> None:
    if not find_binaries():
        pytest.skip("no redis-server binary")
    values = tmp_path / "naps.yaml"
    values.write_text(POOL)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "stack.log"
    # Its own Redis, as `make run` starts it.
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"API_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [STOKER, "dev", "--no-dev-values", "-f", str(values), "--no-table"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = httpx.Client(base_url=base, timeout=30)
    try:
        _until("the stack coming up", lambda: b"the stack is up" in log.read_bytes(), 90, log)
        assert api.get("/v1/workers").json()["items"] == []  # at zero, and yet the task is accepted:
        submitted = api.post("/v1/jobs/batch", json={"jobs": [{"task": "nap", "input": {"seconds": 0.3}}] * 60})
        assert submitted.status_code == 202, submitted.text
        ids = [j["id"] for j in submitted.json()["items"]]

        peak = 0

        def all_done() -> bool:
            nonlocal peak
            peak = max(peak, len(api.get("/v1/workers").json()["items"]))
            queue = api.get("/v1/queues/naps").json()
            return bool(queue["waiting_total"] == 0 and queue["running"] == 0)

        _until("the backlog draining", all_done, 120, log)
        text = log.read_text()
        assert "pool naps: 0 -> 1" in text and "-> 3 (" in text, text[-4000:]
        assert peak == 3, f"the pool peaked at {peak} workers, not its bound of 3"
        jobs = [api.get(f"/v1/jobs/{i}").json() for i in ids]
        assert {j["status"] for j in jobs} == {"succeeded"}
        charged = [j["id"] for j in jobs if j["attempts"]["error"] or j["attempts"]["crash"]]
        assert charged == [], f"jobs charged an attempt by scaling: {charged}"

        _until("the pool back at zero", lambda: "inactive for the cooldown" in log.read_text(), 30, log)
        _until("its workers gone", lambda: api.get("/v1/workers").json()["items"] == [], 30, log)
        assert "exited with" not in log.read_text()  # every scale-in was a drain that exited 0

        again = api.post("/v1/jobs?wait=30", json={"task": "nap", "input": {"seconds": 0}})
        assert again.status_code == 200 and again.json()["status"] == "succeeded", again.text
    finally:
        api.close()
        code = interrupt(proc, log)
    assert code == 0, log.read_text()[-4000:]
