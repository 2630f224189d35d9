"""The replica arithmetic KEDA and the HPA apply to the chart's ScaledObject and ScaledJob.

The metric is the pool's formula: waiting plus in-flight jobs over its queues. KEDA decides between
zero and one replica (active when the metric exceeds ``activationTarget``; back to zero once
``cooldownPeriod`` has passed since the last active poll); between one and the maximum the HPA
decides on one AverageValue metric: ``ceil(metric / target)`` outside a 10% tolerance, steadied by the
``behavior`` block's stabilization windows and limited by its rate policies. Time is passed in, so the
arithmetic is tested without waiting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stoker_client.dev.values import Scaling

# The HPA's defaults (autoscaling/v2) for what a behavior block leaves out.
TOLERANCE = 0.1
DEFAULT_UP: Mapping[str, Any] = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
DEFAULT_DOWN: Mapping[str, Any] = {
    "stabilizationWindowSeconds": 300,
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


@dataclass(frozen=True, slots=True)
class Decision:
    """One poll: what the pool has, what it should have, and why."""

    metric: float
    current: int
    desired: int
    reason: str


@dataclass(slots=True)
class _Rules:
    window_s: float
    select: str
    policies: list[tuple[str, float, float]]  # (type, value, period s)

    @classmethod
    def of(cls, given: Mapping[str, Any] | None, default: Mapping[str, Any]) -> _Rules:
        spec = {**default, **(given or {})}
        policies = spec.get("policies") or default["policies"]
        return cls(
            window_s=float(spec["stabilizationWindowSeconds"]),
            select=str(spec.get("selectPolicy") or "Max"),
            policies=[(str(p["type"]), float(p["value"]), float(p["periodSeconds"])) for p in policies],
        )


@dataclass(slots=True)
class Autoscaler:
    """Decides a Deployment pool's replicas, poll by poll, as KEDA and the HPA would."""

    scaling: Scaling
    last_active: float | None = None
    _recommendations: list[tuple[float, int]] = field(default_factory=list)
    _events: list[tuple[float, int]] = field(default_factory=list)  # (when, replicas added; negative: removed)
    _up: _Rules = field(init=False)
    _down: _Rules = field(init=False)

    def __post_init__(self) -> None:
        behavior = self.scaling.behavior
        self._up = _Rules.of(behavior.get("scaleUp"), DEFAULT_UP)
        self._down = _Rules.of(behavior.get("scaleDown"), DEFAULT_DOWN)

    def decide(self, metric: float, current: int, now: float) -> Decision:
        """The replicas to have after this poll; the change is recorded as made."""
        s = self.scaling
        active = metric > s.activation_target
        if active:
            self.last_active = now
        if current == 0:
            desired = max(s.min_replicas, 1) if active else s.min_replicas
            reason = f"active: {metric:g} > activation {s.activation_target:g}" if active else "idle"
            desired = min(desired, s.max_replicas)
        elif (
            not active and s.min_replicas == 0 and (self.last_active is None or now - self.last_active >= s.cooldown_s)
        ):
            desired, reason = 0, f"inactive for the cooldown ({s.cooldown_s:g} s): to zero"
        else:
            desired, reason = self._hpa(metric, current, now)
            if not active and s.min_replicas == 0 and self.last_active is not None:
                reason += f"; zero in {s.cooldown_s - (now - self.last_active):.0f} s"
        if desired != current:
            self._events.append((now, desired - current))
        return Decision(metric=metric, current=current, desired=desired, reason=reason)

    def _hpa(self, metric: float, current: int, now: float) -> tuple[int, str]:
        s = self.scaling
        low, high = max(1, s.min_replicas), s.max_replicas
        ratio = metric / (s.target_per_replica * current)
        if abs(ratio - 1) <= TOLERANCE:
            raw, reason = current, f"{metric:g} jobs is within 10% of {s.target_per_replica} per replica"
        else:
            raw = math.ceil(metric / s.target_per_replica)
            reason = f"{metric:g} jobs at {s.target_per_replica} per replica wants {raw}"
            if raw > high:
                reason += f", held to the maximum {high}"
            elif raw < low:
                reason += f", held to the minimum {low}"
        self._recommendations.append((now, raw))
        horizon = now - max(self._up.window_s, self._down.window_s)
        self._recommendations = [(t, r) for t, r in self._recommendations if t >= horizon]
        up = min(r for t, r in self._recommendations if t >= now - self._up.window_s)
        down = max(r for t, r in self._recommendations if t >= now - self._down.window_s)
        stabilized = min(max(current, up), down)
        if stabilized != raw and stabilized == current:
            reason += "; held by the stabilization window"
        if stabilized > current:
            limit = max(current, self._limit(self._up, current, now, up=True))
            desired = min(stabilized, limit, high)
            if desired < min(stabilized, high):
                reason += f"; rate policy allows {desired} now"
        elif stabilized < current:
            limit = self._limit(self._down, current, now, up=False)
            desired = max(stabilized, limit, low)
            if desired > max(stabilized, low):
                reason += f"; rate policy allows {desired} now"
        else:
            desired = current
        return min(high, max(low, desired)), reason

    def _limit(self, rules: _Rules, current: int, now: float, *, up: bool) -> int:
        if rules.select == "Disabled":
            return current
        proposals = []
        for kind, value, period in rules.policies:
            recent = [change for t, change in self._events if t > now - period]
            start = current - sum(c for c in recent if c > 0) - sum(c for c in recent if c < 0)
            if kind == "Pods":
                proposals.append(start + int(value) if up else start - int(value))
            elif up:
                proposals.append(math.ceil(start * (1 + value / 100)))
            else:
                proposals.append(int(start * (1 - value / 100)))
        # Max: the policy allowing the largest change; Min: the smallest.
        if up:
            return max(proposals) if rules.select == "Max" else min(proposals)
        return min(proposals) if rules.select == "Max" else max(proposals)


def jobs_to_start(scaling: Scaling, metric: float, running: int) -> Decision:
    """A ScaledJob's default strategy: ``min(ceil(metric / target), max)`` Jobs, less those running.

    The chart gives a ScaledJob no activation target: any waiting or in-flight job makes it active.
    """
    if metric <= 0:
        return Decision(metric=metric, current=running, desired=running, reason="idle")
    wanted = min(math.ceil(metric / scaling.target_per_replica), scaling.max_replicas)
    start = max(0, wanted - running)
    return Decision(
        metric=metric,
        current=running,
        desired=running + start,
        reason=f"{metric:g} jobs at {scaling.target_per_replica} per Job wants {wanted}, {running} running",
    )
