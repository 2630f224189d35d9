"""The sync and async clients against a real API and worker: submit, status, result, events, cancel,
batch, listings, and the API's errors as typed exceptions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stoker_client import (
    AsyncClient,
    Client,
    Forbidden,
    IdempotencyConflict,
    InvalidInput,
    InvalidTransition,
    JobNotFound,
    JobUnsuccessful,
    Unauthorized,
    UnknownTask,
    WaitTimeout,
)
from tests.client.conftest import Stack
from tests.support.processes import start_api

MISSING = "default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C"


@pytest.fixture
def stoker(stack: Stack) -> Client:
    with Client(stack.url, stack.user_key) as client:
        yield client  # type: ignore[misc]


def test_submit_then_status_and_result(stoker: Client) -> None:
    job = stoker.submit("echo", {"a": 1}, priority="high", metadata={"run": "7"})
    assert job.created and job.id.startswith("default.")
    assert job.result(timeout=20) == {"a": 1}
    seen = job.status()
    assert seen.status == "succeeded" and seen.succeeded and seen.finished
    assert seen.priority == "high" and seen.metadata == {"run": "7"} and seen.task == "echo"
    assert seen.created_at is not None and seen.finished_at is not None


def test_the_key_comes_from_the_environment(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOKER_URL", stack.url)
    monkeypatch.setenv("STOKER_API_KEY", stack.user_key)
    with Client() as stoker:
        assert stoker.url == stack.url
        assert stoker.submit("echo", 5).result(timeout=20) == 5


def test_events_carry_progress_in_order_then_end(stoker: Client) -> None:
    job = stoker.submit("steps", {"steps": 4, "pause_s": 0.05})
    events = list(job.events())
    assert events[0].name == "status" and events[-1].name == "end"
    assert events[-1].data["status"] == "succeeded"
    fractions = [e.progress.fraction for e in events if e.progress is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    statuses = [e.job.status for e in events if e.job is not None]
    assert statuses[-1] == "succeeded"
    assert job.result(timeout=5) == {"steps": 4}


def test_cancel_a_waiting_job_then_retry_it(stoker: Client) -> None:
    job = stoker.submit("echo", "later", delay_s=600)
    assert job.status().status == "scheduled"
    assert job.cancel().status == "canceled"
    with pytest.raises(JobUnsuccessful) as caught:
        job.result(timeout=5)
    assert caught.value.job.status == "canceled"
    with pytest.raises(InvalidTransition):
        job.cancel()
    assert job.retry().status in ("queued", "scheduled", "running", "succeeded")


def test_a_failed_job_raises_with_its_error(stoker: Client) -> None:
    with pytest.raises(JobUnsuccessful) as caught:
        stoker.submit("fail", {"why": "bad luck"}).result(timeout=20)
    assert caught.value.job.status == "failed"
    assert caught.value.job.error is not None and "bad luck" in caught.value.job.error.message


def test_wait_gives_up_after_its_timeout(stoker: Client) -> None:
    job = stoker.submit("echo", 1, delay_s=600)
    with pytest.raises(WaitTimeout) as caught:
        job.wait(timeout=0.5)
    assert caught.value.status == "scheduled"
    job.cancel()


def test_batch_submit_and_listing(stoker: Client) -> None:
    handles = stoker.submit_batch([{"task": "echo", "input": n, "metadata": {"batch": "b1"}} for n in range(5)])
    assert [h.result(timeout=20) for h in handles] == list(range(5))
    listed = {j.id for j in stoker.jobs(task="echo", page_size=2)}
    assert {h.id for h in handles} <= listed


def test_api_errors_are_typed(stack: Stack, stoker: Client) -> None:
    with pytest.raises(JobNotFound) as missing:
        stoker.job(MISSING).status()
    assert missing.value.status == 404 and missing.value.code == "job_not_found"
    with pytest.raises(InvalidInput) as bad:
        stoker.submit("steps", {"steps": "many"})
    assert bad.value.status == 422 and bad.value.details[0]["field"] == "input.steps"
    with pytest.raises(UnknownTask) as unknown:
        stoker.submit("no-such-task", {})
    assert "echo" in unknown.value.details["known_tasks"]
    with Client(stack.url, "not-a-key-0123456789") as stranger, pytest.raises(Unauthorized) as refused:
        stranger.queues()
    assert refused.value.status == 401
    with pytest.raises(Forbidden):
        stoker.pause("default")


def test_an_idempotency_key_answers_the_first_job_and_conflicts_on_another_request(stoker: Client) -> None:
    first = stoker.submit("echo", {"n": 1}, idempotency_key="client-idem-1")
    again = stoker.submit("echo", {"n": 1}, idempotency_key="client-idem-1")
    assert first.created and not again.created and again.id == first.id
    with pytest.raises(IdempotencyConflict) as caught:
        stoker.submit("echo", {"n": 2}, idempotency_key="client-idem-1")
    assert caught.value.status == 409


def test_a_user_key_sees_only_its_own_jobs(stack: Stack, stoker: Client) -> None:
    with Client(stack.url, stack.admin_key) as admin:
        theirs = admin.submit("echo", "admin's")
        mine = stoker.submit("echo", "mine")
        assert admin.job(mine.id).result(timeout=20) == "mine"
    with pytest.raises(JobNotFound):
        stoker.job(theirs.id).status()
    assert theirs.id not in {j.id for j in stoker.jobs(task="echo")}


def test_queues_workers_and_tasks(stack: Stack, stoker: Client) -> None:
    with Client(stack.url, stack.admin_key) as admin:
        assert admin.pause("default")["paused"] is True
        assert admin.resume("default")["paused"] is False
        assert admin.retry_dead("default") >= 0  # failed jobs of other tests go back too
    (queue,) = [q for q in stoker.queues() if q["name"] == "default"]
    assert queue["workers"] == 1 and set(queue["waiting"]) == {"high", "normal", "low"}
    assert [w["id"] for w in stoker.workers()] == ["client-worker"]
    assert {"echo", "steps", "fail"} <= {t["name"] for t in stoker.tasks()}


async def test_async_submit_status_result_events_cancel_batch(stack: Stack) -> None:
    async with AsyncClient(stack.url, stack.user_key) as stoker:
        job = await stoker.submit("echo", {"b": 2})
        assert await job.result(timeout=20) == {"b": 2}
        assert (await job.status()).status == "succeeded"

        steps = await stoker.submit("steps", {"steps": 3, "pause_s": 0.05})
        names = [e.name async for e in steps.events()]
        assert names[0] == "status" and names[-1] == "end" and names.count("progress") >= 1

        later = await stoker.submit("echo", 1, delay_s=600)
        assert (await later.cancel()).status == "canceled"
        with pytest.raises(JobUnsuccessful):
            await later.result(timeout=5)

        batch = await stoker.submit_batch([{"task": "echo", "input": n} for n in range(3)])
        assert [await h.result(timeout=20) for h in batch] == [0, 1, 2]
        assert MISSING not in {j.id async for j in stoker.jobs(task="echo")}

        with pytest.raises(JobNotFound):
            await stoker.job(MISSING).status()
        with pytest.raises(InvalidInput):
            await stoker.submit("steps", {"steps": 0})
    async with AsyncClient(stack.url, "not-a-key-0123456789") as stranger:
        with pytest.raises(Unauthorized):
            await stranger.workers()


def test_the_apis_own_429_is_waited_out(stack: Stack, tmp_path: Path) -> None:
    api, url = start_api(stack.redis_url, tmp_path, env={"API_SUBMIT_RATE": "1/s", "API_SUBMIT_BURST": "1"})
    try:
        with Client(url, stack.user_key) as stoker:
            stoker.submit("echo", "spends the burst")
            started = time.monotonic()
            job = stoker.submit("echo", "waits for a token")  # 429 with Retry-After: 1, then accepted
            assert time.monotonic() - started >= 1.0
            assert job.result(timeout=20) == "waits for a token"
    finally:
        api.terminate()
    assert '"POST /v1/jobs HTTP/1.1" 429' in api.log()
