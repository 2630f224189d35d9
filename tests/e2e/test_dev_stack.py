"""``make run``'s stack (``stoker dev``): on its embedded Redis it serves every built-in task, the
model within its first minute, the README's curl session as written and the CLI; Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.dev_stack import interrupt
from tests.support.redis_server import find_binaries, free_port

ROOT = Path(__file__).resolve().parents[2]
STOKER = str(Path(sys.executable).parent / "stoker")
pytestmark = pytest.mark.slow
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _readme_session() -> str:
    """The shell block under "A first job" in the README, as a user would paste it."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A first job") :]
    return section[section.index("```bash\n") + len("```bash\n") : section.index("```\n", section.index("```bash"))]


def _make_run_command() -> list[str]:
    """What ``make run`` runs, from the Makefile, with this interpreter's virtualenv."""
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n")[1].strip()
    assert recipe == "$(VENV)/bin/stoker dev", recipe
    return [STOKER, "dev", "--no-table"]


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOKER_")} | {"STOKER_URL": url}
    return subprocess.run([STOKER, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(300)
def test_make_run_serves_the_model_the_readme_and_the_cli(tmp_path: Path) -> None:
    if not find_binaries():
        pytest.skip("no redis-server binary")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"API_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "stack.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        # Started with SIGINT ignored, as a shell starts a background command (`make run &`): Ctrl-C,
        # sent below, must stop it all the same.
        proc = subprocess.Popen(
            _make_run_command(),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        while b"the stack is up" not in log_path.read_bytes():
            assert proc.poll() is None and time.monotonic() - started < 60, log_path.read_text()
            time.sleep(0.1)
        assert "authentication is OFF" in log_path.read_text()
        # Up means served: the catalog is there and the first job of each task runs at once.
        assert {t["name"] for t in httpx.get(f"{base}/v1/tasks").json()["items"]} >= {"echo", "embed", "burn"}
        r = httpx.post(
            f"{base}/v1/jobs?wait=30", json={"task": "embed", "input": {"texts": ["a first job"]}}, timeout=40
        )
        assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
        assert time.monotonic() - started < 60, "embed must be served within the first minute"
        vectors = httpx.get(f"{base}{r.json()['links']['result']}").json()["output"]
        assert len(vectors["embeddings"]) == 1 and len(vectors["embeddings"][0]) == 384

        readme_session = _readme_session().replace("localhost:8000", f"127.0.0.1:{port}")
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", readme_session], capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, ran.stderr
        assert '"output":{"hello":"world"}' in ran.stdout and '"status":"succeeded"' in ran.stdout
        assert "event: end" in ran.stdout

        # A few thousand from the one local user: no per-key limit. Delayed, so the pool is not scaled
        # for them (scheduled jobs are not in the lists KEDA counts); purged afterwards.
        batch = [{"task": "echo", "input": {"n": i}, "delay_s": 3600} for i in range(1000)]
        codes = {httpx.post(f"{base}/v1/jobs/batch", json={"jobs": batch}, timeout=30).status_code for _ in range(3)}
        assert codes == {202}
        purged = _cli("purge", "default", "--yes", url=base)
        assert purged.returncode == 0 and "3000" in purged.stdout, purged.stdout + purged.stderr

        info = _cli("info", url=base)
        assert info.returncode == 0, info.stderr
        assert re.search(r"\bdefault\b", info.stdout) and "dev-default-1" in info.stdout
        if shutil.which("script"):  # a terminal, so the progress bar is drawn
            shown = subprocess.run(
                ["script", "-qec", f"{STOKER} submit burn --input '{{\"seconds\": 1.5}}' --wait", "/dev/null"],
                env=os.environ | {"STOKER_URL": base, "COLUMNS": "120"},
                capture_output=True,
                text=True,
                timeout=120,
            )
            text = ANSI.sub("", shown.stdout)
            assert shown.returncode == 0, text
            percents = {int(p) for p in re.findall(r"(\d+)%", text)}
            assert len(percents) >= 2 and max(percents) > 0, text  # the bar moved with the job's progress
            assert '"matmuls"' in text and '"device": "cpu"' in text  # the output, after the bar
        else:
            done = _cli("submit", "burn", "--input", '{"seconds": 0.5}', "--wait", url=base)
            assert done.returncode == 0 and json.loads(done.stdout)["seconds"] == 0.5
    finally:
        code = interrupt(proc, log_path)
    output = log_path.read_text()
    assert code == 0, output
    assert "[stoker] stopped" in output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=1)
