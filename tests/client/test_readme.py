"""The README's "Python client and CLI" section, run as written against the real stack."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.client.conftest import ROOT, Stack

BIN = Path(sys.executable).parent


def _blocks(language: str) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Python client and CLI")
    section = readme[start : readme.index("\n## ", start + 1)]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def _env(stack: Stack, key: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith("STOKER_")}
    return kept | {"STOKER_URL": stack.url, "STOKER_API_KEY": key, "PATH": f"{BIN}:{os.environ['PATH']}"}


def test_the_python_examples_run_as_written(stack: Stack) -> None:
    sync, asynchronous = _blocks("python")
    ran = subprocess.run(
        [sys.executable, "-c", sync], env=_env(stack, stack.user_key), capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert re.fullmatch(r"default\.\w{26} (queued|running|succeeded)", lines[0])
    assert lines[1] == "{'hello': 'world'}" and lines[-3:] == ["[0, 1, 2]", "canceled", "canceled"]
    assert lines[2] == "status" and lines[-4] == "end"

    ran = subprocess.run(
        [sys.executable, "-c", asynchronous],
        env=_env(stack, stack.user_key),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-2:] == ["end ", "{'n': 1}"]


def test_the_cli_session_runs_as_written(stack: Stack, tmp_path: Path) -> None:
    (session,) = _blocks("bash")
    (tmp_path / "payload.json").write_text('{"from": "a file"}')
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", session],
        env=_env(stack, stack.admin_key),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert '"hello": "world"' in ran.stdout
    assert (tmp_path / "output.json").read_text().strip() == '{\n  "from": "a file"\n}'
    assert "default: paused" in ran.stdout and "default: active" in ran.stdout and "requeued" in ran.stdout
    assert "Traceback" not in ran.stderr
