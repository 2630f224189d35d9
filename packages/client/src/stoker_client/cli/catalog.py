"""What serves the queues: the task catalog, its schedules and the live workers."""

from __future__ import annotations

from typing import Annotated

import typer

from stoker_client.cli.common import client, out, print_json
from stoker_client.render import schedules_table, tasks_table, workers_table

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def tasks(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The tasks workers published, with their queues, limits and input fields."""
    found = client(ctx).tasks()
    if as_json:
        print_json(found)
    else:
        out.print(tasks_table(found) if found else "no task published yet: start a worker")


def remove_task(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The task's name.")]) -> None:
    """Remove a task that no worker serves any more from the catalog (admin key); 409 while one does."""
    client(ctx).remove_task(name)
    out.print(f"removed task {name}")


def schedules(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Periodic tasks: each schedule's timing, next run (UTC) and last tick, and the job it enqueued."""
    found = client(ctx).schedules()
    if as_json:
        print_json(found)
    else:
        out.print(schedules_table(found) if found else "no periodic task published: give a @task a schedule")


def workers(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Live workers: queues, device, GPU memory, busy slots, jobs processed, last heartbeat."""
    found = client(ctx).workers()
    if as_json:
        print_json(found)
    else:
        out.print(workers_table(found) if found else "no live workers")


def register(app: typer.Typer) -> None:
    for command in (tasks, remove_task, schedules, workers):
        app.command()(command)
