"""``stoker info``: every queue and worker at a glance, once or refreshed live (like ``rq info --interval``)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.text import Text

from stoker_client.cli.common import client, one_line, out
from stoker_client.client import Client
from stoker_client.errors import ApiUnreachable, RateLimited, Unavailable
from stoker_client.models import WorkerInfo
from stoker_client.render import queues_table, workers_table


class Rates:
    """Jobs per second finished by each queue's workers, from their ``processed`` counters between two
    looks. A worker serving several queues counts toward each; one that left or restarted, toward none."""

    def __init__(self) -> None:
        self._last: tuple[float, dict[str, int]] | None = None

    def update(self, workers: Sequence[WorkerInfo]) -> dict[str, float] | None:
        now, counts = time.monotonic(), {w["id"]: w.get("processed", 0) for w in workers}
        last, self._last = self._last, (now, counts)
        if last is None or now <= last[0]:
            return None
        rates: dict[str, float] = {}
        for w in workers:
            done = counts[w["id"]] - last[1].get(w["id"], counts[w["id"]])
            for queue in w["queues"]:
                rates[queue] = rates.get(queue, 0.0) + max(0, done) / (now - last[0])
        return rates


def _view(stoker: Client, rates: Rates, only: list[str], interval: float | None) -> RenderableType:
    queues, workers = stoker.queues(), stoker.workers()
    per_second = rates.update(workers)
    if only:
        queues = [q for q in queues if q["name"] in only]
        workers = [w for w in workers if set(w["queues"]) & set(only)]
    every = f", every {interval:g} s" if interval else ""
    footer = Text(f"{stoker.url} at {datetime.now().strftime('%H:%M:%S')}{every}", style="dim")
    empty = Text(f"no queue named {', '.join(only)}" if only else "no queues yet: nothing was submitted")
    parts: list[RenderableType] = [queues_table(queues, per_second) if queues else empty]
    parts.append(workers_table(workers) if workers else Text("no live workers", style="yellow"))
    return Group(*parts, footer)


def info(
    ctx: typer.Context,
    queues: Annotated[list[str] | None, typer.Argument(help="Only these queues.", show_default=False)] = None,
    interval: Annotated[
        float | None, typer.Option("--interval", "-n", min=0.1, help="Refresh every N seconds until Ctrl-C.")
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", "-c", min=1, help="With --interval: stop after N views.")
    ] = None,
) -> None:
    """Queues (waiting by priority, scheduled, running, dead, oldest waiting, done/s) and live workers."""
    stoker, rates, only = client(ctx), Rates(), queues or []
    view = good = _view(stoker, rates, only, interval)
    if interval is None:
        out.print(view)
        return
    try:
        # On a terminal the view is redrawn in place; into a pipe, one view follows another.
        with Live(view, console=out, auto_refresh=False) if out.is_terminal else nullcontext() as live:
            if live is None:
                out.print(view)
            for _ in itertools.count(1) if count is None else range(count - 1):
                time.sleep(interval)
                try:
                    view = good = _view(stoker, rates, only, interval)
                except (ApiUnreachable, Unavailable, RateLimited) as exc:  # keep watching through an outage
                    view = Group(good, Text(one_line(exc), style="red"))
                if live is None:
                    out.print(view)
                else:
                    live.update(view, refresh=True)
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    app.command()(info)
