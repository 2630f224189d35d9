"""One job: submit, status, wait, cancel, retry, result."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from stoker_client.cli.common import InputProblem, client, out, parse_input, parse_metadata, print_json
from stoker_client.cli.follow import follow
from stoker_client.errors import JobUnsuccessful
from stoker_client.models import Job
from stoker_client.render import job_table, status_text


class PriorityChoice(StrEnum):
    high = "high"
    normal = "normal"
    low = "low"


JobId = Annotated[str, typer.Argument(help="A job id, as submit printed it.", show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print the job as JSON.")]
Timeout = Annotated[float | None, typer.Option("--timeout", help="Give up waiting after this many seconds (exit 6).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def _show(job: Job, as_json: bool) -> None:
    if as_json:
        print_json(job.raw)
    else:
        out.print(job_table(job))


def _ended(job: Job) -> None:
    """Exit 1 for a job that ended without a result."""
    if not job.succeeded:
        raise JobUnsuccessful(job)


def _write(output: Any, path: Path | None) -> None:
    if path is None:
        print_json(output)
        return
    try:
        path.write_text(json.dumps(output, indent=2) + "\n")
    except OSError as exc:
        raise InputProblem(f"cannot write {path}: {exc.strerror or exc}") from None


def submit(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="A task name (stoker tasks lists them).", show_default=False)],
    input: Annotated[str | None, typer.Option("--input", "-i", help="JSON, @file of JSON, or @- for stdin.")] = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Follow the job to its end; print its output.")] = False,
    priority: Annotated[PriorityChoice | None, typer.Option(help="Default normal.")] = None,
    queue: Annotated[str | None, typer.Option(help="Default: the task's queue.")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Submitting the same key again answers that job.")] = None,
    delay: Annotated[float | None, typer.Option(help="Start no sooner than this many seconds from now.")] = None,
    metadata: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, returned with the job; repeatable.")] = None,
    timeout: Timeout = None,
    quiet: Quiet = False,
) -> None:
    """Submit a job and print its id; with --wait, print its output once it succeeded."""
    handle = client(ctx).submit(
        task,
        parse_input(input),
        priority=priority.value if priority else None,
        queue=queue,
        idempotency_key=idempotency_key,
        delay_s=delay,
        metadata=parse_metadata(metadata or []),
    )
    if not wait:
        print(handle.id)
        return
    job = follow(handle, timeout_s=timeout, show=not quiet)
    _ended(job)
    print_json(handle.result())


def status(ctx: typer.Context, job_id: JobId, as_json: AsJson = False) -> None:
    """Show a job: status, progress, attempts, times, worker, error."""
    _show(client(ctx).job(job_id).status(), as_json)


def wait(ctx: typer.Context, job_id: JobId, timeout: Timeout = None, quiet: Quiet = False) -> None:
    """Follow a job to its end; exit 0 if it succeeded, 1 if it failed, was canceled or expired."""
    handle = client(ctx).job(job_id)
    job = follow(handle, timeout_s=timeout, show=not quiet)
    out.print(f"{job.id} ", status_text(job.status), sep="")
    _ended(job)


def cancel(ctx: typer.Context, job_id: JobId) -> None:
    """Cancel a job: a waiting one at once; a running one is asked to stop."""
    job = client(ctx).job(job_id).cancel()
    note = " (cancel requested)" if job.raw.get("cancel_requested") and not job.finished else ""
    out.print(f"{job.id} ", status_text(job.status), note, sep="")


def retry(ctx: typer.Context, job_id: JobId) -> None:
    """Queue a failed, canceled or expired job again."""
    job = client(ctx).job(job_id).retry()
    out.print(f"{job.id} ", status_text(job.status), sep="")


def result(
    ctx: typer.Context,
    job_id: JobId,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the output to this file.")] = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Wait for the job to end first.")] = False,
    timeout: Timeout = None,
) -> None:
    """Print a succeeded job's output (JSON), or write it to a file."""
    # Without --wait, a job still active is a timeout of zero seconds (exit 6), a failed one exits 1.
    _write(client(ctx).job(job_id).result(timeout if wait else 0.0), output)


def register(app: typer.Typer) -> None:
    for command in (submit, status, wait, cancel, retry, result):
        app.command()(command)
