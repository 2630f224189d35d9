"""The worker pools of the Helm chart's values, read as the chart reads them.

``stoker dev`` runs the pools that ``helm install`` would: ``workers.defaults`` under each entry of
``workers.pools``, later values files over earlier ones, maps merged key by key, lists replaced, and a
``false`` or ``0`` overriding like any other value (the chart's ``stoker.merge``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_VALUES = Path("charts/stoker/values.yaml")
DEV_VALUES = Path("charts/stoker/ci/dev-values.yaml")


class ValuesError(ValueError):
    """A values file that cannot be read or does not describe pools."""


@dataclass(frozen=True, slots=True)
class Scaling:
    """A pool's ``keda`` block: what its ScaledObject (or ScaledJob) tells KEDA."""

    min_replicas: int
    max_replicas: int
    target_per_replica: int
    activation_target: float
    polling_interval_s: float
    cooldown_s: float
    behavior: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """One enabled pool after the merge."""

    name: str
    mode: str  # "deployment" or "job"
    queues: tuple[str, ...]
    tasks: tuple[str, ...]
    concurrency: int
    device: str
    drain_s: float
    settings: Mapping[str, Any]
    replicas: int  # the fixed count without KEDA
    scaling: Scaling | None  # None: KEDA off, `replicas` workers
    max_jobs: int  # job mode: jobs one burst worker claims (0: until the queues are empty)

    def worker_env(self) -> dict[str, str]:
        """The environment the chart gives the pool's container, less what only a cluster has."""
        env = {f"WORKER_{key.upper()}": _env_value(value) for key, value in self.settings.items()}
        return env | {
            "WORKER_QUEUES": ",".join(self.queues),
            "WORKER_TASKS": ",".join(self.tasks),
            "WORKER_CONCURRENCY": str(self.concurrency),
            "WORKER_DRAIN_S": _env_value(self.drain_s),
            "WORKER_DEVICE": self.device,
            "WORKER_POD_DELETION_COST": "false",
        }


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on ``base``: maps merged key by key, anything else (lists, false, 0) replaced."""
    out = dict(base)
    for key, value in over.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = merge(current, value)
        else:
            out[key] = value
    return out


def load_values(files: Sequence[Path]) -> dict[str, Any]:
    """The files merged in order, as ``helm install -f a -f b`` merges them over the chart's own."""
    values: dict[str, Any] = {}
    for path in files:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except OSError as exc:
            raise ValuesError(f"cannot read {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ValuesError(f"{path} is not YAML: {exc}") from None
        if not isinstance(loaded, Mapping):
            raise ValuesError(f"{path} must hold a map of values")
        values = merge(values, loaded)
    return values


def pools_of(values: Mapping[str, Any]) -> list[PoolSpec]:
    """The enabled pools, each over ``workers.defaults``."""
    workers = values.get("workers") or {}
    defaults = workers.get("defaults") or {}
    pools: list[PoolSpec] = []
    seen: set[str] = set()
    for entry in workers.get("pools") or []:
        merged = merge(defaults, entry)
        name = str(merged.get("name") or "")
        if not name:
            raise ValuesError("workers.pools: every pool needs a name")
        if name in seen:
            raise ValuesError(f"workers.pools: the name {name!r} is used twice")
        seen.add(name)
        if merged.get("enabled", True):
            pools.append(_pool(name, merged))
    if not pools:
        raise ValuesError("workers.pools: no enabled pool")
    return pools


def _pool(name: str, merged: Mapping[str, Any]) -> PoolSpec:
    try:
        keda = merged.get("keda") or {}
        concurrency = int(merged.get("concurrency", 1))
        mode = str(merged.get("mode", "deployment"))
        if mode not in ("deployment", "job"):
            raise ValuesError(f"workers.pools[{name}]: mode must be deployment or job, not {mode!r}")
        if mode == "job" and not keda.get("enabled", True):
            raise ValuesError(f"workers.pools[{name}]: mode job is a KEDA ScaledJob and needs keda.enabled")
        scaling = None
        if keda.get("enabled", True):
            target = int(keda.get("targetPerReplica", 0))
            scaling = Scaling(
                min_replicas=int(keda.get("minReplicaCount", 0)),
                max_replicas=int(keda.get("maxReplicaCount", 100)),
                target_per_replica=target if target > 0 else concurrency,
                activation_target=float(keda.get("activationTarget", 0)),
                polling_interval_s=float(keda.get("pollingInterval", 30)),
                cooldown_s=float(keda.get("cooldownPeriod", 300)),
                behavior=keda.get("behavior") or {},
            )
        return PoolSpec(
            name=name,
            mode=mode,
            queues=tuple(str(q) for q in merged.get("queues") or ("default",)),
            tasks=tuple(str(t) for t in merged.get("tasks") or ("stoker_worker.tasks.echo",)),
            concurrency=concurrency,
            device=str(merged.get("device", "auto")),
            drain_s=float(merged.get("drainSeconds", 25)),
            settings=dict(merged.get("settings") or {}),
            replicas=int(merged.get("replicas", 1)),
            scaling=scaling,
            max_jobs=int((merged.get("job") or {}).get("maxJobs", 0)),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ValuesError):
            raise
        raise ValuesError(f"workers.pools[{name}]: {exc}") from None


def _env_value(value: Any) -> str:
    """As the chart's ``stoker.envValue``: whole numbers plainly, booleans in lower case, lists joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)
