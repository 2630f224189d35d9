"""Which device handlers use, and what the worker reports about it. torch is imported lazily,
so a worker serving only plain-Python tasks starts without it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency of the worker package
        raise RuntimeError("this task needs torch: install stoker-worker with its dependencies") from exc
    return torch


def select_device(preference: str = "auto") -> str:
    """``cuda`` when a GPU is visible and ``preference`` is ``auto``; else what was asked for."""
    if preference != "auto":
        return preference
    return "cuda" if _torch().cuda.is_available() else "cpu"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device: str
    gpu_name: str | None = None
    gpu_memory_total_bytes: int | None = None
    gpu_memory_used_bytes: int | None = None


def describe(device: str) -> DeviceInfo:
    """The device's name and memory, for the registry and the metrics."""
    if not device.startswith("cuda"):
        return DeviceInfo(device=device)
    torch = _torch()
    index = torch.device(device).index or 0
    props = torch.cuda.get_device_properties(index)
    return DeviceInfo(
        device=device,
        gpu_name=str(props.name),
        gpu_memory_total_bytes=int(props.total_memory),
        gpu_memory_used_bytes=int(torch.cuda.memory_allocated(index)),
    )
