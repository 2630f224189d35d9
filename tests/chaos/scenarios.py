"""Every chaos scenario, in the order the table lists them; each has a FULL and a REDUCED size."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from tests.chaos import (
    scenario_corrupt,
    scenario_decoder,
    scenario_kill,
    scenario_openapi,
    scenario_outage,
    scenario_rolling,
    scenario_scale_in,
)
from tests.chaos.report import Result

SCENARIOS: dict[str, ModuleType] = {
    "kill": scenario_kill,
    "scale-in": scenario_scale_in,
    "rolling": scenario_rolling,
    "outage": scenario_outage,
    "openapi": scenario_openapi,
    "decoder": scenario_decoder,
    "corrupt": scenario_corrupt,
}


def runner(name: str, *, reduced: bool) -> Callable[[], list[Result]]:
    module = SCENARIOS[name]
    size: Any = module.REDUCED if reduced else module.FULL
    return lambda: list(module.run(size))
