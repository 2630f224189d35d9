"""``burn``: keep the device busy with matrix products for a given time. For load tests of the
queue, the autoscaler and the GPU pools; it reports its progress and stops on cancel."""

from __future__ import annotations

import os
import time

from pydantic import BaseModel, Field

from stoker_worker.context import JobContext
from stoker_worker.device import select_device
from stoker_worker.task import task


class BurnInput(BaseModel):
    seconds: float = Field(gt=0, le=3600)


class BurnOutput(BaseModel):
    seconds: float
    device: str
    matmuls: int
    tflops: float


@task(name="burn", queue="burn", timeout_s=3700)
class Burn:
    def setup(self) -> None:
        import torch

        self.torch = torch
        self.device = select_device(os.environ.get("WORKER_DEVICE", "auto"))
        # Big enough to saturate a GPU, small enough for a CPU to finish one product quickly.
        self.size = 4096 if self.device.startswith("cuda") else 512
        self.dtype = torch.float16 if self.device.startswith("cuda") else torch.float32

    def __call__(self, order: BurnInput, ctx: JobContext) -> BurnOutput:
        torch, n = self.torch, self.size
        a = torch.randn(n, n, device=self.device, dtype=self.dtype)
        b = torch.randn(n, n, device=self.device, dtype=self.dtype)
        started = time.monotonic()
        matmuls = 0
        while (elapsed := time.monotonic() - started) < order.seconds:
            for _ in range(8):
                a = torch.mm(a, b)
                a = a / a.norm()  # keep values finite
            if self.device.startswith("cuda"):
                torch.cuda.synchronize()
            matmuls += 8
            ctx.progress(min(1.0, elapsed / order.seconds), f"{matmuls} matmuls")
        elapsed = time.monotonic() - started
        return BurnOutput(
            seconds=round(elapsed, 3),
            device=self.device,
            matmuls=matmuls,
            tflops=round(2 * n**3 * matmuls / elapsed / 1e12, 4),
        )
