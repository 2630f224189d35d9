"""Queue administration (admin keys): requeue the dead, purge, pause, resume."""

from __future__ import annotations

from typing import Annotated

import typer

from stoker_client.cli.common import client, err, out
from stoker_client.models import QueueInfo

Queue = Annotated[str, typer.Argument(help="A queue name.", show_default=False)]


def _state(q: QueueInfo) -> str:
    return f"{q['name']}: {'paused' if q['paused'] else 'active'}, {q['waiting_total']} waiting, {q['running']} running"


def requeue(
    ctx: typer.Context,
    dead: Annotated[str, typer.Option("--dead", help="Requeue every dead-lettered job of this queue.")],
) -> None:
    """Put a queue's dead-lettered (failed) jobs back to waiting, with fresh attempts."""
    count = client(ctx).retry_dead(dead)
    out.print(f"{dead}: requeued {count} dead job{'s' * (count != 1)}")


def purge(
    ctx: typer.Context,
    queue: Queue,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Cancel every waiting and scheduled job of a queue; running jobs go on."""
    if not yes and not typer.confirm(f"cancel every waiting job of {queue}?", err=True):
        err.print("nothing purged")
        raise typer.Exit(2)
    count = client(ctx).purge(queue)
    out.print(f"{queue}: canceled {count} waiting job{'s' * (count != 1)}")


def pause(ctx: typer.Context, queue: Queue) -> None:
    """Stop workers claiming from a queue; submissions still wait in it."""
    out.print(_state(client(ctx).pause(queue)))


def resume(ctx: typer.Context, queue: Queue) -> None:
    """Let workers claim from a paused queue again."""
    out.print(_state(client(ctx).resume(queue)))


def register(app: typer.Typer) -> None:
    for command in (requeue, purge, pause, resume):
        app.command()(command)
