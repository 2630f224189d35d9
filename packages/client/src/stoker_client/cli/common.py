"""What every command shares: exit codes, the client built from global options, input parsing, and
turning an error into one line on stderr and its exit code (never a traceback)."""

from __future__ import annotations

import json
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from stoker_client.client import Client
from stoker_client.errors import (
    ApiUnreachable,
    Forbidden,
    InvalidRequest,
    JobUnsuccessful,
    NotFound,
    RateLimited,
    ServerError,
    StokerError,
    Unauthorized,
    Unavailable,
    UnknownTask,
    WaitTimeout,
)

# Into a pipe or a file, tables get room instead of the 80 columns rich assumes there.
PIPE_WIDTH = 200
out = Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else PIPE_WIDTH)


class ExitCode(IntEnum):
    OK = 0
    JOB_UNSUCCESSFUL = 1  # the job ended failed, canceled or expired
    USAGE = 2  # bad arguments or input, or a request the API refused as such
    UNAVAILABLE = 3  # no API at the URL, or 503 / 429 after the retries
    NOT_FOUND = 4
    AUTH = 5  # no key, an unknown key, or a key without the right
    TIMEOUT = 6  # the job was still active when --timeout ran out


class InputProblem(Exception):
    """Arguments or input the command cannot use; exits ``USAGE`` with its message."""


def exit_code(exc: Exception) -> ExitCode:
    if isinstance(exc, JobUnsuccessful):
        return ExitCode.JOB_UNSUCCESSFUL
    if isinstance(exc, WaitTimeout):
        return ExitCode.TIMEOUT
    if isinstance(exc, ApiUnreachable | Unavailable | RateLimited | ServerError):
        return ExitCode.UNAVAILABLE
    if isinstance(exc, NotFound):
        return ExitCode.NOT_FOUND
    if isinstance(exc, Unauthorized | Forbidden):
        return ExitCode.AUTH
    return ExitCode.USAGE


def one_line(exc: Exception) -> str:
    """The error as one line, with what the API said about it (failing fields, known tasks)."""
    text = str(exc)
    if isinstance(exc, UnknownTask) and isinstance(exc.details, dict):
        text += f"; known tasks: {', '.join(exc.details.get('known_tasks', [])) or 'none'}"
    elif isinstance(exc, InvalidRequest) and isinstance(exc.details, list):
        fields = [f"{d.get('field')}: {d.get('message')}" for d in exc.details[:5] if isinstance(d, dict)]
        text += "".join(f"; {f}" for f in fields)
    elif isinstance(exc, Unauthorized):
        text += "; set STOKER_API_KEY or pass --api-key"
    elif isinstance(exc, Unavailable) and exc.code == "queue_unavailable":
        text = f"the API cannot reach its Redis: {text}"
    elif isinstance(exc, RateLimited) and exc.retry_after_s is not None:
        text += f"; retry after {exc.retry_after_s:g} s"
    return " ".join(text.split())


PROG = "stoker"  # the command's name, first on every error line as Unix tools do


def say_error(text: str) -> None:
    """One line on stderr: ``stoker: error: <text>``."""
    print(f"{PROG}: error: {text}", file=sys.stderr)


def fail(exc: Exception) -> NoReturn:
    say_error(one_line(exc))
    raise typer.Exit(exit_code(exc))


class StokerGroup(TyperGroup):
    """Every command runs inside this: a client error becomes one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer's own copy of click's Context
        try:
            return super().invoke(ctx)
        except (StokerError, InputProblem) as exc:
            fail(exc)
        except typer.TyperException as exc:  # a command's usage error: one line too, not a box
            if not hasattr(exc, "format_message"):
                raise
            where = getattr(getattr(exc, "ctx", None), "command_path", None) or ctx.command_path
            say_error(f"{' '.join(exc.format_message().split())} (see {where} -h)")
            raise typer.Exit(getattr(exc, "exit_code", ExitCode.USAGE)) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


def client(ctx: typer.Context) -> Client:
    """The client of this invocation, from ``--url``/``--api-key`` or the environment; closed at exit."""
    found = ctx.find_root().obj
    if not isinstance(found, Client):
        settings = found or {}
        found = Client(settings.get("url"), settings.get("api_key"), timeout_s=settings.get("timeout_s", 10.0))
        ctx.find_root().obj = found
        ctx.find_root().call_on_close(found.close)
    return found


def parse_input(text: str | None) -> Any:
    """``--input``: JSON, ``@path`` for a file of JSON, ``@-`` for stdin; none means null."""
    if text is None:
        return None
    where = "--input"
    if text.startswith("@"):
        where, path = text[1:], text[1:]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text()
        except OSError as exc:
            raise InputProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputProblem(f"{where} is not JSON: {exc}") from None


def parse_metadata(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputProblem(f"--metadata takes KEY=VALUE, not {pair!r}")
        found[key] = value
    return found


def print_json(value: Any) -> None:
    """Coloured on a terminal; plain, indented JSON into a pipe or file."""
    if out.is_terminal:
        out.print_json(json.dumps(value))
    else:
        print(json.dumps(value, indent=2))
