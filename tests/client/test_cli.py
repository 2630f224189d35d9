"""Every ``stoker`` command through typer's CliRunner, against the real stack: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stoker_client import Client
from stoker_client.cli import app
from stoker_client.cli.common import ExitCode
from tests.client.conftest import Stack
from tests.client.fault_server import error, fault_server

MISSING = "default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C"


@pytest.fixture
def stoker(stack: Stack) -> CliRunnerFor:
    return CliRunnerFor(stack, stack.user_key)


@pytest.fixture
def admin(stack: Stack) -> CliRunnerFor:
    return CliRunnerFor(stack, stack.admin_key)


class CliRunnerFor:
    """``stoker ARGS`` with the stack's URL and a key in the environment, as a user would set them."""

    def __init__(self, stack: Stack, key: str) -> None:
        self.env = {"STOKER_URL": stack.url, "STOKER_API_KEY": key}
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(app, list(args), env=self.env, input=input)


def _error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stoker: error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_submit_prints_the_id_and_status_shows_the_job(stoker: CliRunnerFor) -> None:
    submitted = stoker("submit", "echo", "--input", '{"a": 1}', "--priority", "high", "--metadata", "run=3")
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.stdout.strip()
    assert job_id.startswith("default.")
    waited = stoker("wait", job_id, "--timeout", "20")
    assert waited.exit_code == 0 and waited.stdout.strip() == f"{job_id} succeeded"
    shown = stoker("status", job_id)
    assert shown.exit_code == 0 and "succeeded" in shown.stdout and "echo on default (high)" in shown.stdout
    as_json = json.loads(stoker("status", job_id, "--json").stdout)
    assert as_json["id"] == job_id and as_json["metadata"] == {"run": "3"}


def test_submit_wait_follows_progress_and_prints_the_output(stoker: CliRunnerFor) -> None:
    done = stoker("submit", "steps", "--input", '{"steps": 3, "pause_s": 0.05}', "--wait")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"steps": 3}


def test_input_from_a_file_and_stdin_and_result_into_a_file(stoker: CliRunnerFor, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"from": "file"}')
    assert json.loads(stoker("submit", "echo", "-i", f"@{tmp_path / 'in.json'}", "-w").stdout) == {"from": "file"}
    job_id = stoker("submit", "echo", "-i", "@-", input='["stdin"]').stdout.strip()
    saved = stoker("result", job_id, "--wait", "-o", str(tmp_path / "out.json"))
    assert saved.exit_code == 0, saved.output
    assert json.loads((tmp_path / "out.json").read_text()) == ["stdin"]
    assert json.loads(stoker("result", job_id).stdout) == ["stdin"]


def test_a_failed_job_exits_1(stoker: CliRunnerFor) -> None:
    failed = stoker("submit", "fail", "-i", '{"why": "on purpose"}', "--wait")
    assert failed.exit_code == ExitCode.JOB_UNSUCCESSFUL
    assert "ended failed" in _error_line(failed) and "on purpose" in failed.stderr
    job_id = failed.stderr.split("job ", 1)[1].split()[0]
    assert stoker("wait", job_id).exit_code == ExitCode.JOB_UNSUCCESSFUL
    assert stoker("result", job_id).exit_code == ExitCode.JOB_UNSUCCESSFUL


def test_cancel_retry_and_timeouts(stoker: CliRunnerFor) -> None:
    job_id = stoker("submit", "echo", "-i", "1", "--delay", "600").stdout.strip()
    still = stoker("wait", job_id, "--timeout", "0.3", "--quiet")
    assert still.exit_code == ExitCode.TIMEOUT and "still scheduled" in _error_line(still)
    assert stoker("result", job_id).exit_code == ExitCode.TIMEOUT
    canceled = stoker("cancel", job_id)
    assert canceled.exit_code == 0 and canceled.stdout.strip() == f"{job_id} canceled"
    again = stoker("cancel", job_id)
    assert again.exit_code == ExitCode.USAGE and "invalid_transition" in _error_line(again)
    retried = stoker("retry", job_id)
    assert retried.exit_code == 0 and retried.stdout.startswith(job_id)


def test_errors_are_one_line_with_their_exit_code(stack: Stack, stoker: CliRunnerFor) -> None:
    missing = stoker("status", MISSING)
    assert missing.exit_code == ExitCode.NOT_FOUND and "job_not_found" in _error_line(missing)
    unknown = stoker("submit", "no-such-task")
    assert unknown.exit_code == ExitCode.NOT_FOUND and "known tasks: echo" in _error_line(unknown)
    bad_input = stoker("submit", "steps", "-i", '{"steps": "x"}')
    assert bad_input.exit_code == ExitCode.USAGE and "input.steps" in _error_line(bad_input)
    not_json = stoker("submit", "echo", "-i", "{nope")
    assert not_json.exit_code == ExitCode.USAGE and "--input is not JSON" in _error_line(not_json)
    no_file = stoker("submit", "echo", "-i", "@/no/such/file.json")
    assert no_file.exit_code == ExitCode.USAGE and "cannot read" in _error_line(no_file)
    forbidden = stoker("pause", "default")
    assert forbidden.exit_code == ExitCode.AUTH and "admin key" in _error_line(forbidden)
    stranger = CliRunnerFor(stack, "not-a-key-0123456789")("workers")
    assert stranger.exit_code == ExitCode.AUTH and "STOKER_API_KEY" in _error_line(stranger)
    urgent = stoker("submit", "echo", "--priority", "urgent")
    assert urgent.exit_code == ExitCode.USAGE and "'--priority'" in _error_line(urgent)
    no_command = stoker("frobnicate")
    assert no_command.exit_code == ExitCode.USAGE and "No such command" in _error_line(no_command)


def test_no_api_there_exits_3(stoker: CliRunnerFor) -> None:
    with Client("http://127.0.0.1:9") as nothing:
        url = nothing.url
    gone = stoker.runner.invoke(app, ["--url", url, "info"], env={"STOKER_API_KEY": "k"})
    assert gone.exit_code == ExitCode.UNAVAILABLE
    assert _error_line(gone).startswith(f"stoker: error: cannot reach the Stoker API at {url}")


def test_info_tasks_and_workers(stoker: CliRunnerFor) -> None:
    stoker("submit", "echo", "-i", "1", "--wait")
    shown = stoker("info")
    assert shown.exit_code == 0, shown.output
    for heading in ("queue", "high", "normal", "low", "scheduled", "running", "dead", "oldest", "done/s", "workers"):
        assert heading in shown.stdout
    assert "default" in shown.stdout and "client-worker" in shown.stdout
    live = stoker("info", "default", "--interval", "0.2", "--count", "3")
    assert live.exit_code == 0 and live.stdout.count("every 0.2 s") == 3
    assert stoker("info", "no-such-queue").stdout.count("no queue named no-such-queue") == 1
    tasks = stoker("tasks")
    assert tasks.exit_code == 0 and "steps" in tasks.stdout and "pause_s" in tasks.stdout
    assert {t["name"] for t in json.loads(stoker("tasks", "--json").stdout)} >= {"echo", "steps", "fail"}
    workers = stoker("workers")
    assert workers.exit_code == 0 and "client-worker" in workers.stdout
    assert json.loads(stoker("workers", "--json").stdout)[0]["queues"] == ["default"]


def test_queue_administration(admin: CliRunnerFor, stoker: CliRunnerFor) -> None:
    assert admin("pause", "default").stdout.startswith("default: paused")
    job_id = stoker("submit", "echo", "-i", '"waits"').stdout.strip()
    assert "1 waiting" in admin("resume", "default").stdout or stoker("status", job_id).exit_code == 0
    assert json.loads(stoker("result", job_id, "--wait", "--timeout", "20").stdout) == "waits"
    assert admin("requeue", "--dead", "default").stdout.startswith("default: requeued ")
    stoker("submit", "echo", "-i", "1", "--delay", "600")
    purged = admin("purge", "default", "--yes")
    assert purged.exit_code == 0 and purged.stdout.startswith("default: canceled ")
    asked = admin("purge", "default", input="n\n")
    assert asked.exit_code == ExitCode.USAGE and "nothing purged" in asked.stderr
    unnamed = admin("requeue", "default")  # --dead names the queue
    assert unnamed.exit_code == ExitCode.USAGE and "--dead" in _error_line(unnamed)


def test_a_503_after_the_retries_exits_3() -> None:
    with fault_server([error(503, "queue_unavailable", retry_after="0")]) as server:
        ran = CliRunner().invoke(app, ["status", MISSING], env={"STOKER_URL": server.url})
    assert ran.exit_code == ExitCode.UNAVAILABLE
    assert _error_line(ran).startswith("stoker: error: the API cannot reach its Redis: ")
    assert "HTTP 503 queue_unavailable" in ran.stderr and len(server.seen) == 4


def test_remove_task_refuses_a_served_task_and_an_unknown_one(admin: CliRunnerFor, stoker: CliRunnerFor) -> None:
    served = admin("remove-task", "echo")  # the stack's worker publishes it with every heartbeat
    assert served.exit_code == ExitCode.USAGE and "stop it first" in _error_line(served)
    unknown = admin("remove-task", "no-such-task")
    assert unknown.exit_code == ExitCode.NOT_FOUND, unknown.stderr
    refused = stoker("remove-task", "echo")  # admin keys only
    assert refused.exit_code == ExitCode.AUTH, refused.stderr
