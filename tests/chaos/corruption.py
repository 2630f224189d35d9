"""Hypothesis strategies for what a job's record in Redis may hold instead of what was written.

Each draws a ``Corruption``: given the record as written, the bytes to store in its place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ENVELOPE_FIELDS = (
    "schema_version",
    "id",
    "task",
    "queue",
    "input",
    "priority",
    "max_attempts",
    "max_crashes",
    "timeout_s",
    "ttl_s",
    "delay_s",
    "webhook",
    "metadata",
    "trace",
    "idempotency_key",
)


@dataclass(frozen=True)
class Replace:
    """Store ``payload`` whatever was written."""

    payload: bytes

    def __call__(self, written: bytes) -> bytes:
        return self.payload


@dataclass(frozen=True)
class Mutate:
    """The record as written with one field dropped, or set to ``value``; some results are still valid."""

    field: str
    drop: bool
    value: Any

    def __call__(self, written: bytes) -> bytes:
        record = {k: v for k, v in json.loads(written).items() if k != self.field}
        if not self.drop:
            record[self.field] = self.value
        return json.dumps(record).encode()


@dataclass(frozen=True)
class Keep:
    """The record as written: the control, which must behave as if nothing happened."""

    def __call__(self, written: bytes) -> bytes:
        return written


def garbage_text() -> st.SearchStrategy[Replace]:
    """Text that is not a JSON object: truncated JSON, prose, an empty value."""
    text = st.one_of(
        st.text(max_size=60).filter(lambda t: not t.strip().startswith("{")), st.just(""), st.just('{"id": "chaos.01')
    )
    return text.map(lambda t: Replace(t.encode()))


def wrong_json() -> st.SearchStrategy[Replace]:
    """Valid JSON of any shape but a record's."""
    return JSON.filter(lambda v: not isinstance(v, dict) or "task" not in v).map(
        lambda v: Replace(json.dumps(v).encode())
    )


def not_utf8() -> st.SearchStrategy[Replace]:
    return st.binary(min_size=1, max_size=40).map(lambda b: Replace(b"\xff\xfe" + b))


def mutated() -> st.SearchStrategy[Mutate]:
    return st.builds(Mutate, st.sampled_from(ENVELOPE_FIELDS), st.booleans(), JSON)


def envelope_kinds() -> dict[str, st.SearchStrategy[Any]]:
    """Strategy per kind of envelope corruption."""
    return {"text": garbage_text(), "json": wrong_json(), "binary": not_utf8(), "mutated": mutated()}
