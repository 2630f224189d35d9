"""What can go wrong, as exception classes a caller can catch by kind.

    StokerError
    ├── ApiUnreachable            no HTTP answer at all: refused, DNS, timeout
    ├── WaitTimeout               the job did not end within the caller's timeout (also a TimeoutError)
    ├── JobUnsuccessful           the job ended failed, canceled or expired; ``.job`` says why
    └── ApiError                  the API answered with an error body; ``.status``, ``.code``, ``.details``
        ├── BadRequest (400)      ── InvalidQueue
        ├── Unauthorized (401)
        ├── Forbidden (403)
        ├── NotFound (404)        ── JobNotFound, UnknownTask, QueueNotFound
        ├── Conflict (409)        ── ResultNotReady, InvalidTransition, IdempotencyConflict
        ├── Gone (410)            ── ResultExpired
        ├── PayloadTooLarge (413)
        ├── InvalidRequest (422)  ── InvalidInput, QueueNotServed, IdempotencyKeyMismatch
        ├── RateLimited (429)     ``.retry_after_s``
        ├── Unavailable (503)     ``.retry_after_s``
        └── ServerError (5xx)

The class comes from the body's ``code`` first, then from the status, so a code this client does not
know yet still lands on the right branch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stoker_client.models import Job


class StokerError(Exception):
    """Every error this package raises."""


class ApiUnreachable(StokerError):
    """The API gave no HTTP answer (after the retries)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the Stoker API at {url}: {reason}")
        self.url, self.reason = url, reason


class WaitTimeout(StokerError, TimeoutError):
    """The job was still active when the caller's timeout ran out."""

    def __init__(self, job_id: str, status: str, timeout_s: float) -> None:
        after = f" after {timeout_s:g} s" if timeout_s else ""
        super().__init__(f"job {job_id} is still {status}{after}")
        self.job_id, self.status, self.timeout_s = job_id, status, timeout_s


class JobUnsuccessful(StokerError):
    """The job ended without a result: failed, canceled or expired."""

    def __init__(self, job: Job) -> None:
        why = f": {job.error.code}: {job.error.message}" if job.error else ""
        super().__init__(f"job {job.id} ended {job.status}{why}")
        self.job = job


class ApiError(StokerError):
    """An error answer of the API: ``{"error": {"code", "message", "details"}}``."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, *, retry_after_s: float | None = None
    ) -> None:
        super().__init__(f"{message} (HTTP {status} {code})")
        self.status, self.code, self.message, self.details = status, code, message, details
        self.retry_after_s = retry_after_s


class BadRequest(ApiError):
    pass


class InvalidQueue(BadRequest):
    pass


class Unauthorized(ApiError):
    """No key, or a key the API does not know: set ``STOKER_API_KEY``."""


class Forbidden(ApiError):
    """The key is known but may not do this (queue administration needs an admin key)."""


class NotFound(ApiError):
    pass


class JobNotFound(NotFound):
    """No such job, or a job of another key."""


class UnknownTask(NotFound):
    """No worker published the task; ``details["known_tasks"]`` lists those that exist."""


class QueueNotFound(NotFound):
    pass


class Conflict(ApiError):
    pass


class ResultNotReady(Conflict):
    """The job has not succeeded: still active, or it ended failed or canceled."""


class InvalidTransition(Conflict):
    """The job's status does not allow this (cancel a finished job, retry a running one)."""


class IdempotencyConflict(Conflict):
    """The idempotency key names an earlier job submitted with a different request."""


class Gone(ApiError):
    pass


class ResultExpired(Gone):
    pass


class PayloadTooLarge(ApiError):
    pass


class InvalidRequest(ApiError):
    """The request does not match the API's schema; ``details`` lists the failing fields."""


class InvalidInput(InvalidRequest):
    """The input does not fit the task's input schema; ``details`` lists the failing fields."""


class QueueNotServed(InvalidRequest):
    """No worker of the task claims the queue named: the job would wait forever."""


class IdempotencyKeyMismatch(InvalidRequest):
    """The ``Idempotency-Key`` header and the body's ``idempotency_key`` differ."""


class RateLimited(ApiError):
    pass


class Unavailable(ApiError):
    """The API cannot reach its Redis right now."""


class ServerError(ApiError):
    pass


BY_CODE: dict[str, type[ApiError]] = {
    "invalid_queue": InvalidQueue,
    "job_not_found": JobNotFound,
    "unknown_task": UnknownTask,
    "queue_not_found": QueueNotFound,
    "result_not_ready": ResultNotReady,
    "invalid_transition": InvalidTransition,
    "idempotency_conflict": IdempotencyConflict,
    "result_expired": ResultExpired,
    "invalid_input": InvalidInput,
    "queue_not_served": QueueNotServed,
    "idempotency_key_mismatch": IdempotencyKeyMismatch,
}

BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


def error_for(
    status: int, code: str, message: str, details: Any = None, *, retry_after_s: float | None = None
) -> ApiError:
    """The most specific exception for an error answer."""
    cls = BY_CODE.get(code) or BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if not issubclass(cls, BY_STATUS.get(status, ApiError)):  # a code reused under another status
        cls = BY_STATUS.get(status, ApiError)
    return cls(status, code, message, details, retry_after_s=retry_after_s)
