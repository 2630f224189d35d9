"""Tasks the browser tests run on a real worker, each held by a file the test writes when it is ready."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from stoker_worker import JobContext, task

HOLD_S = 60


class Until(BaseModel):
    path: str


@task(name="until_file", max_attempts=1)
def until_file(payload: Until) -> dict[str, str]:
    """Fails until the file exists, so a retry after writing it succeeds."""
    found = Path(payload.path)
    if not found.exists():
        raise RuntimeError(f"{found.name} is not there yet")
    return {"found": found.read_text()}


@task(name="halfway_until_file", max_attempts=1)
def halfway_until_file(payload: Until, ctx: JobContext) -> dict[str, bool]:
    """Reports half its progress, waits for the file, then reports the rest: a live event at a time the
    test chooses, however slowly the browser came up."""
    ctx.progress(0.5, "halfway")
    deadline = time.monotonic() + HOLD_S
    while not Path(payload.path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {payload.path} after {HOLD_S} s")
        time.sleep(0.05)
    ctx.progress(1.0, "done")
    return {"done": True}
