"""Tasks the worker suite serves."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from stoker_worker import task


class Numbers(BaseModel):
    values: list[float] = Field(min_length=1)


class Total(BaseModel):
    total: float


@task(name="sum")
def add(numbers: Numbers) -> Total:
    return Total(total=sum(numbers.values))


@task(name="explode")
def explode(payload: dict[str, str]) -> None:
    raise RuntimeError(f"cannot handle {payload}")


@task(name="sleep")
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task(name="nan")
def not_json(_: int) -> float:
    return float("nan")
