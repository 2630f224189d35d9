"""Schemathesis over the live API's own OpenAPI document, as a user key and as an admin key.

Every generated request is sent to a real API process (with a real worker behind it) and its
answer checked against the document with schemathesis' default checks. Nothing stops the run at
the first violation: every request is counted, so the row gives totals.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import Failure, FailureGroup

from tests.chaos.api import ADMIN_KEY, USER_KEY, wait_for_task
from tests.chaos.harness import Stack
from tests.chaos.report import Result
from tests.support.openapi import one_idempotency_key

# No long holds: ``?wait=`` is capped at 0 and an event stream ends at once.
API_ENV = {"API_MAX_WAIT_S": "0", "API_STREAM_MAX_S": "0.2", "API_CATALOG_TTL_S": "0"}


@dataclass(frozen=True)
class Size:
    min_requests: int
    derandomize: bool  # the same requests every run: a reduced run's verdict does not depend on luck


FULL = Size(min_requests=1000, derandomize=False)
REDUCED = Size(min_requests=120, derandomize=True)


@dataclass
class Sent:
    requests: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    violations: dict[str, str] = field(default_factory=dict)  # "<key> <operation>" -> the first violation
    violating: int = 0


def run(size: Size) -> list[Result]:
    result = Result("schemathesis, user + admin keys")
    started = time.monotonic()
    with Stack("openapi", api_env=API_ENV) as stack:
        assert stack.api is not None
        stack.spawn(concurrency="4")
        wait_for_task(stack.api, "chaos_a")
        schema = schemathesis.openapi.from_url(f"{stack.api.base}/openapi.json")
        operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
        per = -(-size.min_requests // (2 * len(operations)))  # each operation, each key
        sent, passes = Sent(), 0
        # Operations with few inputs run out of distinct examples early: new passes draw new ones.
        while sent.requests < size.min_requests and passes < 5:
            passes += 1
            for key_name, key in (("user", USER_KEY), ("admin", ADMIN_KEY)):
                for operation in operations:
                    _fuzz(operation, key_name, {"Authorization": f"Bearer {key}"}, per, sent, size.derandomize)
    result.jobs = f"{sent.requests} requests"
    result.fives = str(len(sent.server_errors))
    result.notes.append(
        f"{sent.requests} requests over {len(sent.by_operation)} operation x key pairs "
        f"({passes} passes of up to {per} examples each); "
        f"{sent.violating} answers violated the schema"
    )
    result.check(sent.requests >= size.min_requests, f"only {sent.requests} requests were generated")
    result.check(not sent.server_errors, f"{len(sent.server_errors)} answers >= 500: {sent.server_errors[:3]}")
    result.check(
        not sent.violating,
        f"{sent.violating} schema violations in {len(sent.violations)} operation x key pairs: "
        + "; ".join(f"{k}: {v}" for k, v in list(sent.violations.items())[:4]),
    )
    result.seconds = time.monotonic() - started
    return [result]


def _fuzz(operation: Any, key_name: str, headers: dict[str, str], examples: int, sent: Sent, derandomize: bool) -> None:
    label = f"{key_name} {operation.label}"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=derandomize,
        phases=[Phase.explicit, Phase.generate],
    )
    def send(case: Any) -> None:
        one_idempotency_key(case)
        sent.requests += 1
        sent.by_operation[label] += 1
        response = case.call(headers=headers, timeout=10)
        if response.status_code >= 500:
            sent.server_errors.append(f"{label} -> {response.status_code}: {response.text[:160]}")
        try:
            case.validate_response(response, headers=headers)
        except (Failure, FailureGroup) as exc:  # a check failed: count it, keep generating
            sent.violating += 1
            sent.violations.setdefault(label, _summary(str(exc)))

    send()


def _summary(text: str) -> str:
    """The check that failed, the status and error code of the answer, and the curl line that repeats it."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    title = next((line[2:] for line in lines if line.startswith("- ")), lines[0] if lines else "?")
    status = next((line for line in lines if line.startswith("[") and "]" in line[:6]), "")
    code = re.search(r'"code":"([^"]+)"', text)
    fields = re.findall(r'"field":"([^"]+)","message":"([^"]{0,80})', text)[:2]
    curl = next((line for line in lines if line.startswith("curl ")), "")
    return f"{title} {status} {code.group(1) if code else ''} {fields or ''} | {curl[:300]}"
