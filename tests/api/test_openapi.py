"""Schemathesis over the app's own OpenAPI document: no 5xx, no answer that contradicts the schema.

Each operation's strategy is driven with hypothesis directly (schemathesis' Python API), so the
run does not depend on its pytest plugin.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from stoker_api import create_app
from tests.api.conftest import ADMIN_KEY, settings_for
from tests.support.openapi import one_idempotency_key

EXAMPLES_PER_OPERATION = 30
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _fuzz(operation: Any, sent: list[str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any) -> None:
        sent.append(operation.label)
        one_idempotency_key(case)
        case.call_and_validate(headers=AUTH)

    check()


def test_every_operation_conforms_to_the_schema(redis_url: str) -> None:
    # No waits or long streams: every generated request answers at once.
    app = create_app(settings_for(redis_url, max_wait_s=0, stream_max_s=0.2, submit_burst=100_000))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent: list[str] = []
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            _fuzz(operation, sent)
        except Exception as exc:  # every failing operation is reported, not just the first
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    print(f"schemathesis: {len(sent)} requests over {len(set(sent))} operations")
    assert len(sent) >= 300, len(sent)
    assert len(set(sent)) >= 15, sorted(set(sent))  # every operation took part
