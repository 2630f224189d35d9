"""Tasks the worker suite serves."""

from __future__ import annotations

import asyncio
import threading
import time

from pydantic import BaseModel, Field

from stoker_worker import JobContext, task

CALLS: list[tuple[str, float, int]] = []  # (task, when, batch size): what ran, for assertions
SETUPS: list[str] = []
RELEASE_STUCK = threading.Event()  # lets the "stuck" handler go once its test is done


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
    CALLS.append(("sleep", seconds, 1))
    time.sleep(seconds)
    return seconds


RUNNING = {"now": 0, "most": 0}  # handlers of `crowd` running at once, and the most seen
_RUNNING_LOCK = threading.Lock()


@task(name="crowd")
def crowd(seconds: float) -> int:
    with _RUNNING_LOCK:
        RUNNING["now"] += 1
        RUNNING["most"] = max(RUNNING["most"], RUNNING["now"])
    time.sleep(seconds)
    with _RUNNING_LOCK:
        RUNNING["now"] -= 1
    return RUNNING["most"]


@task(name="nan")
def not_json(_: int) -> float:
    return float("nan")


@task(name="square", queue="batch", batch_size=4, max_wait_ms=300)
def square(values: list[int]) -> list[int]:
    CALLS.append(("square", time.monotonic(), len(values)))
    if any(v < 0 for v in values):
        raise ValueError("negative input")
    return [v * v for v in values]


@task(name="patient", queue="cancel")
def patient(steps: int, ctx: JobContext) -> int:
    """Reports progress every 20 ms; stops at the first check after a cancel."""
    for step in range(steps):
        ctx.progress(step / steps, f"step {step}")
        time.sleep(0.02)
    return steps


STEPS: list[int] = []  # steps `stepper` finished
SAW_CANCEL: list[float] = []  # when `watchful` saw ctx.cancelled (monotonic)


@task(name="stepper", queue="cancel")
def stepper(steps: int, ctx: JobContext) -> int:
    """Reports progress, then works 0.3 s, per step: a cancel stops it at the next report."""
    for step in range(steps):
        ctx.progress(step / steps)
        STEPS.append(step)
        time.sleep(0.3)
    return steps


@task(name="watchful", queue="cancel")
def watchful(seconds: float, ctx: JobContext) -> str:
    """Never reports progress; looks at ``ctx.cancelled`` every 5 ms and returns early when it is set."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ctx.cancelled:
            SAW_CANCEL.append(time.monotonic())
            return "stopped early"
        time.sleep(0.005)
    return "done"


@task(name="slow", queue="timeouts", timeout_s=0.2)
def slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task(name="stuck", queue="timeouts", timeout_s=0.2)
def stuck(_: None) -> None:
    RELEASE_STUCK.wait()  # does not return while the test watches


@task(name="async_echo", queue="async")
async def async_echo(payload: str) -> str:
    await asyncio.sleep(0.01)
    return payload


@task(name="limited", queue="limited", rate_limit="5/s")
def limited(i: int) -> int:
    CALLS.append(("limited", time.monotonic(), 1))
    return i


@task(name="model", queue="model", batch_size=2, max_wait_ms=50)
class Model:
    """A class task: ``setup()`` loads once; calls reuse what it loaded."""

    def setup(self) -> None:
        SETUPS.append("model")
        self.offset = 100

    def __call__(self, values: list[int]) -> list[int]:
        return [v + self.offset for v in values]


@task(name="oom_prone", queue="oom", batch_size=4, max_wait_ms=200)
def oom_prone(values: list[int]) -> list[int]:
    """Fits one input on the device at a time: a bigger batch raises torch's real CUDA OOM error."""
    import torch

    CALLS.append(("oom_prone", time.monotonic(), len(values)))
    if len(values) > 1:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    return [v + 1 for v in values]


@task(name="traced", queue="traced")
def traced(_: None) -> str:
    """The trace id its handler thread sees: the job's own, when the worker traces."""
    from opentelemetry import trace

    return format(trace.get_current_span().get_span_context().trace_id, "032x")
