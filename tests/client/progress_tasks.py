"""Tasks the client suite runs on a real worker: one that reports progress, one that fails."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from stoker_worker import JobContext, task


class Steps(BaseModel):
    steps: int = Field(default=4, ge=1, le=100)
    pause_s: float = Field(default=0.05, ge=0, le=5)


@task(name="steps")
def steps(payload: Steps, ctx: JobContext) -> dict[str, int]:
    """Reports ``k / steps`` after each step, so a follower sees progress events in order."""
    for k in range(1, payload.steps + 1):
        time.sleep(payload.pause_s)
        ctx.progress(k / payload.steps, f"step {k} of {payload.steps}")
    return {"steps": payload.steps}


@task(name="fail", max_attempts=1)
def fail(payload: dict[str, str]) -> None:
    raise RuntimeError(payload.get("why", "asked to fail"))
