"""What several routes share: documented error answers, links, size checks."""

from __future__ import annotations

import json
from typing import Any

from stoker_api.errors import ApiError
from stoker_api.schemas import ErrorBody, Links
from stoker_api.settings import ApiSettings

_DESCRIPTIONS = {
    400: "Malformed request.",
    401: "Missing or unknown API key.",
    403: "The key may not do this.",
    404: "Not found.",
    409: "The job is not in a state that allows this.",
    410: "Gone: the job expired, or its result outlived its TTL.",
    413: "Too large: body, input, metadata or batch over the configured limit.",
    422: "The request does not match the schema, or the input does not fit the task.",
    429: "Rate limited; retry after `Retry-After` seconds.",
    503: "Redis is unreachable; retry after `Retry-After` seconds.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses, all with the one error body."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in (*statuses, 401, 422, 503)}


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
