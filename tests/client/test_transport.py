"""Retries: 503 and 429 are sent again no sooner than their Retry-After; what is not retried is not."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from stoker_client import (
    ApiError,
    ApiUnreachable,
    AsyncClient,
    Client,
    IdempotencyConflict,
    InvalidInput,
    InvalidRequest,
    JobNotFound,
    NotFound,
    QueueNotServed,
    RateLimited,
    RetryPolicy,
    ServerError,
    Unavailable,
)
from stoker_client.transport import parse_retry_after
from tests.client.fault_server import Answer, error, fault_server

ACCEPTED = Answer(202, {"id": "default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C", "status": "queued", "created": True})


@pytest.mark.parametrize(("status", "code"), [(503, "queue_unavailable"), (429, "rate_limited")])
def test_a_submit_waits_out_retry_after_then_goes_through(status: int, code: str) -> None:
    with fault_server([error(status, code, retry_after="1"), ACCEPTED]) as server:
        started = time.monotonic()
        with Client(server.url, "key-0123456789abcdef") as stoker:
            job = stoker.submit("echo", {"a": 1})
        elapsed = time.monotonic() - started
    assert job.id == "default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C"
    assert [s.method for s in server.seen] == ["POST", "POST"]
    assert server.seen[1].at - server.seen[0].at >= 1.0 and elapsed >= 1.0
    assert server.seen[1].headers["Authorization"] == "Bearer key-0123456789abcdef"


async def test_the_async_client_waits_out_retry_after_too() -> None:
    with fault_server([error(503, "queue_unavailable", retry_after="1"), ACCEPTED]) as server:
        async with AsyncClient(server.url) as stoker:
            job = await stoker.submit("echo", 1)
    assert job.id == ACCEPTED.body["id"]  # type: ignore[index]
    assert server.seen[1].at - server.seen[0].at >= 1.0


def test_after_the_last_try_the_503_is_raised_with_its_retry_after() -> None:
    with (
        fault_server([error(503, "queue_unavailable", retry_after="0")]) as server,
        Client(server.url, retry=RetryPolicy(attempts=3)) as stoker,
        pytest.raises(Unavailable) as caught,
    ):
        stoker.queues()
    assert len(server.seen) == 3
    assert caught.value.status == 503 and caught.value.code == "queue_unavailable"
    assert caught.value.retry_after_s == 0


def test_a_retry_after_past_the_policy_limit_is_raised_at_once() -> None:
    with (
        fault_server([error(429, "rate_limited", retry_after="3600")]) as server,
        Client(server.url, retry=RetryPolicy(max_retry_after_s=5)) as stoker,
        pytest.raises(RateLimited),
    ):
        stoker.submit("echo", 1)
    assert len(server.seen) == 1


def test_other_errors_are_not_retried() -> None:
    with (
        fault_server([error(422, "invalid_input"), ACCEPTED]) as server,
        Client(server.url) as stoker,
        pytest.raises(InvalidInput),
    ):
        stoker.submit("echo", 1)
    assert len(server.seen) == 1


def test_a_refused_connection_is_retried_then_named() -> None:
    with fault_server([ACCEPTED]) as server:
        url = server.url  # closed once the block ends: nothing listens there any more
    started = time.monotonic()
    with Client(url, retry=RetryPolicy(attempts=3, backoff_s=0.1)) as stoker, pytest.raises(ApiUnreachable) as caught:
        stoker.queues()
    assert time.monotonic() - started >= 0.1  # two pauses of at least half their 0.1 s and 0.2 s ceilings
    assert str(caught.value).startswith(f"cannot reach the Stoker API at {url}")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    in_a_minute = parse_retry_after(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 58 <= in_a_minute <= 60
    assert parse_retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (404, "job_not_found", JobNotFound),
        (404, "not_found", NotFound),
        (409, "idempotency_conflict", IdempotencyConflict),
        (422, "queue_not_served", QueueNotServed),
        (422, "a_code_from_a_newer_api", InvalidRequest),
        (500, "internal", ServerError),
        (502, "http_error", ServerError),
        (418, "teapot", ApiError),
    ],
)
def test_errors_take_the_class_of_their_code_then_of_their_status(status: int, code: str, kind: type) -> None:
    with (
        fault_server([error(status, code)]) as server,
        Client(server.url) as stoker,
        pytest.raises(ApiError) as caught,
    ):
        stoker.job("default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C").status()
    assert type(caught.value) is kind and caught.value.code == code and caught.value.status == status
