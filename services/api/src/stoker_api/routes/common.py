"""What several routes share: documented error answers, links, size checks."""

from __future__ import annotations

import json
from typing import Any

from starlette.convertors import Convertor, register_url_convertor

from stoker_api.errors import ApiError
from stoker_api.schemas import ErrorBody, Links
from stoker_api.settings import ApiSettings
from stoker_queue import JOB_ID_PATTERN


class JobIdConvertor(Convertor[str]):
    """Matches job ids only, so ``/v1/jobs/batch`` is never read as a job (a GET there is a 405)."""

    regex = JOB_ID_PATTERN.removeprefix("^").removesuffix("$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("job_id", JobIdConvertor())
# A path that only a job id matches; anything else under /v1/jobs/ is no route (404, or 405).
JOB_PATH = "/{job_id:job_id}"

_DESCRIPTIONS = {
    400: "Malformed request.",
    401: "Missing or unknown API key.",
    403: "The key may not do this.",
    404: "Not found.",
    409: "Conflict: the job's status does not allow this, or the idempotency key names another request's job.",
    410: "Gone: the job expired, or its result outlived its TTL.",
    413: "Too large: body, input, metadata or batch over the configured limit.",
    422: "The request does not match the schema, or the input does not fit the task.",
    429: "Rate limited; retry after `Retry-After` seconds.",
    503: "Redis is unreachable; retry after `Retry-After` seconds.",
}


# Any /v1 route: no key, a body over the limit, a malformed request, Redis away.
ALWAYS = (401, 413, 422, 503)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses, and those every /v1 route may answer, all with the one error body."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in sorted({*statuses, *ALWAYS})}


def too_large() -> dict[int | str, dict[str, Any]]:
    """The one error any route answers, /v1 or not: a body over the limit."""
    return {413: {"model": ErrorBody, "description": _DESCRIPTIONS[413]}}


def links(settings: ApiSettings, job_id: str) -> Links:
    base = f"{settings.public_url.rstrip('/')}/v1/jobs/{job_id}"
    return Links(self=base, result=f"{base}/result", events=f"{base}/events")


def check_size(what: str, value: object, limit: int) -> None:
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > limit:
        raise ApiError(
            413,
            f"{what}_too_large",
            f"{what} is {size} bytes; the limit is {limit}",
            details={"size": size, "limit": limit},
        )
