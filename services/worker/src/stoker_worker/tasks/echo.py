"""``echo``: returns its input. For smoke tests and for measuring the queue without a model."""

from __future__ import annotations

from pydantic import JsonValue

from stoker_worker.task import task


@task(name="echo")
def echo(payload: JsonValue) -> JsonValue:
    return payload
