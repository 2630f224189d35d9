"""The API as a client sees it, with every answer counted: statuses, and each ``>= 500`` with its reason.

A 503 that carries ``Retry-After`` while the scenario has Redis down on purpose is what the contract
asks for; it is counted apart (``expected_503``) from every other answer of 500 or more.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

USER_KEY = "chaos-user-key-0123456789"
ADMIN_KEY = "chaos-admin-key-0123456789"


@dataclass
class Answer:
    status: int  # 0: no answer (connection refused, timeout)
    seconds: float
    retry_after: str | None
    body: Any = None


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    expected_503: int = 0
    unexpected_5xx: list[str] = field(default_factory=list)  # "<method> <path> -> <status>: <body head>"

    def by_route(self) -> dict[str, int]:
        """The unexpected answers >= 500 counted by method, route (ids as ``{id}``) and status."""
        routes = (re.sub(r"[a-z0-9_-]+\.[0-9A-Z]{26}", "{id}", line.split(":", 1)[0]) for line in self.unexpected_5xx)
        return dict(Counter(routes))


class Api:
    """Thread-safe counting client of one API process."""

    def __init__(self, base: str, key: str = USER_KEY) -> None:
        self.base = base
        self.tally = Tally()
        self.outage = threading.Event()  # set while the scenario holds Redis down
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10)

    def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        started = time.monotonic()
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError:
            answer = Answer(0, time.monotonic() - started, None)
        else:
            try:
                body = response.json()
            except ValueError:
                body = response.text[:200]
            answer = Answer(response.status_code, time.monotonic() - started, response.headers.get("retry-after"), body)
        self._count(method, path, answer)
        return answer

    def _count(self, method: str, path: str, answer: Answer) -> None:
        with self._lock:
            self.tally.statuses[answer.status] += 1
            if answer.status < 500:
                return
            if answer.status == 503 and answer.retry_after and self.outage.is_set():
                self.tally.expected_503 += 1
            else:
                self.tally.unexpected_5xx.append(f"{method} {path} -> {answer.status}: {str(answer.body)[:160]}")

    @property
    def fives(self) -> int:
        """Answers of 500 or more, expected 503s included."""
        return sum(n for status, n in self.tally.statuses.items() if status >= 500)

    def submit_batch(self, jobs: list[dict[str, Any]], *, deadline_s: float = 60) -> list[str]:
        """Submit ``jobs`` (each with an idempotency key), retrying while the API answers 503 or not at all.

        Returns the ids accepted; raises ``RuntimeError`` for any other refusal or when ``deadline_s`` passes.
        """
        deadline = time.monotonic() + deadline_s
        while True:
            answer = self.call("POST", "/v1/jobs/batch", json={"jobs": jobs})
            if answer.status == 202:
                return [item["id"] for item in answer.body["items"]]
            if answer.status not in (0, 503) or time.monotonic() > deadline:
                raise RuntimeError(f"batch submit refused: {answer.status} {str(answer.body)[:300]}")
            time.sleep(min(float(answer.retry_after or 0.2), 1.0))

    def wait_ready(self, timeout: float = 30) -> float:
        """Seconds until ``/readyz`` answers 200 (Redis answers the API again)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.call("GET", "/readyz").status == 200:
                return time.monotonic() - started
            time.sleep(0.1)
        raise TimeoutError("the API did not become ready")

    def close(self) -> None:
        self._client.close()


def job(task: str, tag: str, seconds: float = 0.0, priority: str = "normal") -> dict[str, Any]:
    """One job of a chaos task; its tag is its idempotency key, so a resubmission is the same job."""
    return {"task": task, "input": {"tag": tag, "seconds": seconds}, "idempotency_key": tag, "priority": priority}


def wait_for_task(api: Api, task: str, timeout: float = 30) -> None:
    """Until a worker has published ``task`` to the catalog the API reads."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api.call("GET", "/v1/tasks")
        if answer.status == 200 and any(t["name"] == task for t in answer.body["items"]):
            return
        time.sleep(0.1)
    raise TimeoutError(f"no worker published {task!r}")
