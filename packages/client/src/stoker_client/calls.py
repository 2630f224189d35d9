"""What the sync and async clients share: request bodies, paths, and how a long wait is cut up.

A wait goes to the API as ``GET /v1/jobs/{id}?wait=N`` calls, so no poll loop spins; N stays under
the server's ``API_MAX_WAIT_S``. A deployment that set it lower answers 422 to a longer N: the
client halves N until it fits, and with ``API_MAX_WAIT_S=0`` falls back to polling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from stoker_client.errors import InvalidRequest
from stoker_client.models import JobSpec, Submitted

WAIT_CHUNK_S = 30.0
POLL_S = 0.5
SCHEDULES_PATH = "/v1/schedules"


def job_path(job_id: str, *rest: str) -> str:
    return "/".join([f"/v1/jobs/{quote(job_id, safe='')}", *rest])


def queue_path(queue: str, *rest: str) -> str:
    return "/".join([f"/v1/queues/{quote(queue, safe='')}", *rest])


def submit_body(task: str, input: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The body of ``POST /v1/jobs``; options left at None are left out, so the task's defaults apply."""
    body: dict[str, Any] = {"task": task, "input": input}
    body.update({k: v for k, v in options.items() if v is not None})
    if isinstance(body.get("webhook"), str):
        body["webhook"] = {"url": body["webhook"]}
    return body


def batch_body(jobs: Iterable[JobSpec]) -> dict[str, Any]:
    items = []
    for spec in jobs:
        options: dict[str, Any] = dict(spec)
        items.append(submit_body(options.pop("task"), options.pop("input", None), options))
    return {"jobs": items}


def submitted(data: Mapping[str, Any]) -> Submitted:
    return Submitted(id=data["id"], status=data["status"], created=bool(data.get("created", True)))


def list_params(queue: str | None, status: str | None, task: str | None, limit: int) -> dict[str, Any]:
    found = {"queue": queue, "status": status, "task": task, "limit": limit}
    return {k: v for k, v in found.items() if v is not None}


class WaitChunks:
    """How long each ``?wait=`` call of one wait holds, shrinking when the server refuses it."""

    def __init__(self, chunk_s: float = WAIT_CHUNK_S) -> None:
        self.chunk_s = chunk_s

    def next(self, remaining_s: float | None) -> float:
        chunk = self.chunk_s if remaining_s is None else min(self.chunk_s, remaining_s)
        return max(0.0, round(chunk, 3))

    def refused(self, exc: InvalidRequest) -> bool:
        """True when ``exc`` is the server refusing the ``wait`` value; the next chunk is then shorter."""
        fields = [str(d.get("field", "")) for d in exc.details or [] if isinstance(d, dict)]
        if not any(f.endswith("wait") for f in fields) or self.chunk_s == 0:
            return False
        self.chunk_s = float(int(self.chunk_s / 2))
        return True
