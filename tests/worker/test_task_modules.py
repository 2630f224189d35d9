"""Task modules load as users expect: ``stoker-worker --tasks mypkg.tasks`` from the folder holding mypkg,
and a module that cannot be imported is one line naming it and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from stoker_queue.keys import TASKS_KEY, task_queues_key

STOKER_WORKER = Path(sys.executable).parent / "stoker-worker"
TASKS = """
from stoker_worker import task


@task(name="shout")
def shout(text: str) -> str:
    return text.upper()
"""


def _run(cwd: Path, redis_url: str, modules: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": redis_url, "WORKER_QUEUES": "default"}
    return subprocess.run(
        [str(STOKER_WORKER), "--publish-catalog", "--tasks", modules],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "tasks.py").write_text(TASKS)
    (tmp_path / "mypkg" / "heavy.py").write_text("import torchvision_that_is_not_here  # noqa\n" + TASKS)
    return tmp_path


def test_the_console_script_imports_tasks_from_the_current_folder(project: Path, newest_redis_url: str) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    run = _run(project, newest_redis_url, "mypkg.tasks")
    assert run.returncode == 0, run.stderr
    assert redis.Redis.from_url(newest_redis_url).hexists(TASKS_KEY, "shout")


@pytest.mark.parametrize(
    ("modules", "said"),
    [
        ("nosuch.tasks", "no module named 'nosuch' (for --tasks nosuch.tasks): run the worker from the folder"),
        ("mypkg.heavy", "task module mypkg.heavy imports 'torchvision_that_is_not_here', which is not installed"),
        ("mypkg/tasks.py", "'mypkg/tasks.py' is a file; name the module instead, e.g. mypkg.tasks"),
    ],
    ids=["missing-module", "missing-dependency", "a-file-path"],
)
def test_a_module_that_cannot_load_is_one_line_with_the_fix(
    project: Path, newest_redis_url: str, modules: str, said: str
) -> None:
    run = _run(project, newest_redis_url, modules)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
    assert said in run.stderr, run.stderr


def test_the_readmes_command_for_each_built_in_task_serves_it_on_its_queue(
    tmp_path: Path, newest_redis_url: str
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    commands = [line.split() for line in readme.splitlines() if line.startswith("stoker-worker --tasks stoker_worker")]
    assert {c[2].rsplit(".", 1)[1] for c in commands} == {"echo", "embed", "burn"}
    client = redis.Redis.from_url(newest_redis_url, decode_responses=True)
    client.flushdb()
    for command in commands:
        env = {"PATH": "/usr/bin:/bin", "REDIS_URL": newest_redis_url}
        run = subprocess.run(
            [str(STOKER_WORKER), *command[1:], "--publish-catalog"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0 and "does not claim" not in run.stderr, run.stderr
        task, queue = command[2].rsplit(".", 1)[1], command[4]
        assert client.zscore(task_queues_key(task), queue) is not None
