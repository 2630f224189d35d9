"""``stoker``: the command line on the Python client.

Exit codes, for scripts: 0 ok; 1 the job ended failed, canceled or expired; 2 usage or input; 3 the
API is unreachable, failed (5xx), or answered 503/429 after the retries; 4 not found; 5 key missing
or refused; 6 the job was still active when ``--timeout`` ran out.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from stoker_client.cli import catalog, dev, info, jobs, queues
from stoker_client.cli.common import ExitCode, StokerGroup
from stoker_client.transport import DEFAULT_URL, KEY_ENV, URL_ENV

app = typer.Typer(
    cls=StokerGroup,
    name="stoker",
    help="Submit Stoker jobs, follow them, and look after the queues.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _options(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(envvar=URL_ENV, help="The API's base URL.")] = DEFAULT_URL,
    api_key: Annotated[
        str | None, typer.Option(envvar=KEY_ENV, help="Bearer key (better from the environment).", show_default=False)
    ] = None,
    request_timeout: Annotated[float, typer.Option(help="Seconds one request may take.", min=0.1)] = 10.0,
) -> None:
    ctx.obj = {"url": url, "api_key": api_key, "timeout_s": request_timeout}


for module in (jobs, queues, info, catalog, dev):
    module.register(app)


def main() -> None:
    """The console script: the exit code is the command's."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(ExitCode.OK)
