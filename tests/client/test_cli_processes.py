"""The installed ``stoker`` console script as real processes: what a shell script sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stoker_client.cli.common import ExitCode
from tests.client.conftest import Stack
from tests.support.redis_server import free_port

STOKER = str(Path(sys.executable).parent / "stoker")


def _run(*args: str, url: str, key: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOKER_")} | {"STOKER_URL": url}
    if key:
        env["STOKER_API_KEY"] = key
    return subprocess.run([STOKER, *args], env=env, capture_output=True, text=True, timeout=60)


def test_submit_wait_prints_the_output(stack: Stack) -> None:
    ran = _run("submit", "echo", "--input", '{"a":1}', "--wait", url=stack.url, key=stack.user_key)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"a": 1}


def test_info_prints_queues_and_workers(stack: Stack) -> None:
    ran = _run("info", url=stack.url, key=stack.user_key)
    assert ran.returncode == 0, ran.stderr
    assert "default" in ran.stdout and "client-worker" in ran.stdout and "oldest" in ran.stdout


def test_no_api_there_is_one_line_and_exit_3() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    ran = _run("submit", "echo", "--input", "{}", "--wait", url=url)
    assert ran.returncode == ExitCode.UNAVAILABLE
    assert ran.stdout == ""
    assert ran.stderr.startswith(f"stoker: error: cannot reach the Stoker API at {url}: ")
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr
