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

EXAMPLES_PER_OPERATION = 30
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _one_idempotency_key(case: Any) -> None:
    """The header and the body's key must agree (else 422): a rule OpenAPI cannot state, so keep to it."""
    body_key = case.body.get("idempotency_key") if isinstance(case.body, dict) else None
    headers = case.headers or {}
    header = next((k for k in headers if k.lower() == "idempotency-key"), None)
    if header is not None and body_key is not None:
        if body_key.isascii() and body_key.isprintable() and body_key == body_key.strip():
            headers[header] = body_key
        else:  # not a value a header can carry: send the body's key alone
            del headers[header]


def _fuzz(operation: Any, sent: list[str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any) -> None:
        sent.append(operation.label)
        _one_idempotency_key(case)
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
