"""A task for the local autoscaler's test: it sleeps, so a backlog takes several workers to drain."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from stoker_worker import task


class Nap(BaseModel):
    seconds: float = Field(default=0.3, ge=0, le=10)


@task(name="nap", queue="naps")
def nap(payload: Nap) -> dict[str, float]:
    time.sleep(payload.seconds)
    return {"slept": payload.seconds}
