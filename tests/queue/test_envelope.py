"""The wire format: old envelopes still decode, unknown fields from newer writers are ignored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from stoker_queue import JOB_ID_PATTERN, SCHEMA_VERSION, JobEnvelope, Priority, WebhookSpec
from stoker_queue.ids import new_job_id, queue_of

V1 = Path(__file__).parent / "fixtures" / "envelope_v1.json"


def test_a_version_1_envelope_still_decodes() -> None:
    env = JobEnvelope.from_json(V1.read_text())
    assert env.schema_version == 1 <= SCHEMA_VERSION
    assert env.priority is Priority.HIGH and env.max_attempts == 5 and env.max_crashes == 2
    assert env.webhook == WebhookSpec(url="https://hooks.example.com/x", events=("succeeded",))
    assert env.trace["traceparent"].startswith("00-")


def test_fields_a_newer_writer_adds_are_ignored() -> None:
    data = json.loads(V1.read_text()) | {"schema_version": 1, "future_field": {"x": 1}}
    assert JobEnvelope.model_validate(data).task == "embed"


def test_round_trip_is_lossless() -> None:
    env = JobEnvelope.from_json(V1.read_text())
    assert JobEnvelope.from_json(env.to_json()) == env


def test_envelope_is_json_not_pickle() -> None:
    env = JobEnvelope(id=new_job_id("q"), task="t", queue="q", input={"nested": [1, 2.5, None, "s"]})
    assert json.loads(env.to_json())["input"] == {"nested": [1, 2.5, None, "s"]}


def test_required_fields_are_enforced() -> None:
    with pytest.raises(ValidationError):
        JobEnvelope.model_validate({"id": "q.x"})


def test_ids_are_time_ordered_and_carry_their_queue() -> None:
    ids = [new_job_id("images", now_ms=1_700_000_000_000 + i // 3) for i in range(30)]
    assert ids == sorted(ids) and len(set(ids)) == 30
    assert {queue_of(i) for i in ids} == {"images"}
    assert all(re.match(JOB_ID_PATTERN, i) for i in ids)
