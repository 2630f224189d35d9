"""``make run``'s stack: it comes up on its embedded Redis, serves a job, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.redis_server import find_binaries, free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _readme_session() -> str:
    """The shell block under "A first job" in the README, as a user would paste it."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A first job") :]
    return section[section.index("```bash\n") + len("```bash\n") : section.index("```\n", section.index("```bash"))]


def test_dev_stack_serves_a_job_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    if not find_binaries():
        pytest.skip("no redis-server binary")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"API_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with (tmp_path / "stack.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "dev_stack.py")], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while b"the stack is up" not in (tmp_path / "stack.log").read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "stack.log").read_text()
            time.sleep(0.1)
        assert "authentication is OFF" in (tmp_path / "stack.log").read_text()
        while not httpx.get(f"{base}/v1/tasks").json()["items"]:  # the worker publishes its catalog
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = httpx.post(f"{base}/v1/jobs?wait=10", json={"task": "echo", "input": {"hello": "world"}}, timeout=15)
        assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
        result = httpx.get(f"{base}{r.json()['links']['result']}").json()
        assert result["output"] == {"hello": "world"}
        readme_session = _readme_session().replace("localhost:8000", f"127.0.0.1:{port}")
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", readme_session], capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, ran.stderr
        assert '"output":{"hello":"world"}' in ran.stdout and '"status":"succeeded"' in ran.stdout
        assert "event: end" in ran.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    output = (tmp_path / "stack.log").read_text()
    assert code == 0, output
    assert "[stoker] stopped" in output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=1)
