"""The live view of ``stoker dev``: queues, pools with their scaling decisions, workers."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from stoker_client.cli.info import Rates
from stoker_client.dev.pool import Pool
from stoker_client.dev.stack import DevStack
from stoker_client.render import queues_table, workers_table


def pools_table(pools: list[Pool]) -> Table:
    table = Table(title="pools", title_justify="left", expand=False)
    for column in ("pool", "queues", "workers", "ready", "scaling", "waiting + in flight", "last decision"):
        table.add_column(column, justify="right" if column in ("workers", "ready", "waiting + in flight") else "left")
    for pool in pools:
        s = pool.spec.scaling
        if s is None:
            scaling = f"fixed {pool.spec.replicas}"
        else:
            kind = "Jobs" if pool.spec.mode == "job" else "replicas"
            scaling = (
                f"{s.min_replicas}-{s.max_replicas} {kind}, {s.target_per_replica}/each, cooldown {s.cooldown_s:g} s"
            )
        decision = pool.decision
        table.add_row(
            pool.spec.name,
            ", ".join(pool.spec.queues),
            str(len(pool.alive)),
            str(sum(1 for w in pool.alive if w.ready)),
            scaling,
            f"{decision.metric:g}" if decision else "-",
            decision.reason if decision else "-",
        )
    return table


class View:
    """Renders the stack each tick; rates come from the workers' counters between two polls."""

    def __init__(self, stack: DevStack) -> None:
        self.stack = stack
        self.rates = Rates()
        self._seen: object = None
        self._per_second: dict[str, float] | None = None

    def __rich__(self) -> RenderableType:
        stack = self.stack
        snap = stack.snapshot
        if snap.workers is not self._seen:  # a new poll
            self._seen = snap.workers
            self._per_second = self.rates.update(snap.workers)
        base = stack.base_url
        header = Text.assemble(
            ("stoker dev", "bold"),
            f"  API {base}  docs {base}/docs  queues {base}/ui  tasks: {', '.join(snap.tasks) or '-'}\n",
            ("authentication is OFF here; ", "yellow"),
            f"logs in {stack.logs}  ·  Ctrl-C stops everything",
        )
        parts: list[RenderableType] = [header]
        queues = snap.queues
        parts.append(queues_table(queues, self._per_second) if queues else Text("no queues yet: nothing was submitted"))
        parts.append(pools_table(stack.pools))
        parts.append(workers_table(snap.workers) if snap.workers else Text("no live workers", style="yellow"))
        if snap.error:
            parts.append(Text(snap.error, style="red"))
        for stamp, line in stack.decisions:
            parts.append(Text(f"{datetime.fromtimestamp(stamp).strftime('%H:%M:%S')} {line}", style="dim"))
        return Group(*parts)
