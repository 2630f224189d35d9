"""``stoker-api``: serve the API with uvicorn, configured from the environment."""

from __future__ import annotations

import argparse
import sys

import uvicorn
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from stoker_api.main import create_app
from stoker_api.settings import ApiSettings
from stoker_queue.logs import LogSettings, configure_logging
from stoker_queue.settings import settings_errors
from stoker_queue.tracing import TracingConfigError

PROG = "stoker-api"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve the Stoker HTTP API.",
        epilog="Configured from the environment: API_*, REDIS_URL, LOG_LEVEL, LOG_FORMAT, OTEL_*.",
    )
    return parser.parse_args(argv)


def _invalid(exc: ValidationError, settings_cls: type[BaseSettings]) -> int:
    for line in settings_errors(exc, settings_cls):
        print(f"{PROG}: invalid settings: {line}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM; exit 2 on invalid settings.

    Args:
        argv: command-line arguments (only ``--help``); ``sys.argv[1:]`` when None.
    """
    _parse_args(argv)
    try:
        log_settings = LogSettings()
    except ValidationError as exc:
        return _invalid(exc, LogSettings)
    configure_logging(log_settings, service=PROG)
    try:
        settings = ApiSettings()
    except ValidationError as exc:
        return _invalid(exc, ApiSettings)
    try:
        app = create_app(settings)
    except TracingConfigError as exc:
        print(f"{PROG}: invalid settings: {exc}", file=sys.stderr)
        return 2
    # log_config=None: uvicorn's error and access records reach our root handler instead of its own.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level=log_settings.level.lower(),
        access_log=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
