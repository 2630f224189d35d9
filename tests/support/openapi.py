"""What every schemathesis run of the API keeps to, beyond what its OpenAPI document can state."""

from __future__ import annotations

from typing import Any


def one_idempotency_key(case: Any) -> None:
    """The header and the body's key must agree (else 422): a rule OpenAPI cannot state, so keep to it."""
    body_key = case.body.get("idempotency_key") if isinstance(case.body, dict) else None
    headers = case.headers or {}
    header = next((k for k in headers if k.lower() == "idempotency-key"), None)
    if header is not None and body_key is not None:
        if body_key.isascii() and body_key.isprintable() and body_key == body_key.strip():
            headers[header] = body_key
        else:  # not a value a header can carry: send the body's key alone
            del headers[header]
