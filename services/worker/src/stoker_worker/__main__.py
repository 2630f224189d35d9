"""``stoker-worker``: serve tasks from queues until SIGTERM; the exit code tells Kubernetes how it went."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from stoker_queue import Broker, QueueUnavailable, Registry
from stoker_queue.logs import LogSettings, configure_logging
from stoker_queue.settings import settings_errors
from stoker_queue.tracing import TracingConfigError, setup_tracing
from stoker_worker.factory import build_worker
from stoker_worker.settings import WorkerSettings
from stoker_worker.task import load_tasks

T = TypeVar("T")

log = logging.getLogger("stoker_worker")


def run_on_fast_loop(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, on uvloop where it is installed (a dependency everywhere but Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stoker-worker", description="Run Stoker tasks from Redis queues.")
    parser.add_argument("--tasks", help="comma-separated modules with @task functions (env WORKER_TASKS)")
    parser.add_argument("--queues", help="comma-separated queues to claim from (env WORKER_QUEUES)")
    parser.add_argument("--concurrency", type=int, help="jobs at once (env WORKER_CONCURRENCY)")
    parser.add_argument(
        "--burst",
        action="store_true",
        default=None,
        help="claim until the queues are empty, then exit 0 (env WORKER_BURST)",
    )
    parser.add_argument("--max-jobs", type=int, help="claim at most N jobs, finish them, exit 0 (env WORKER_MAX_JOBS)")
    parser.add_argument(
        "--publish-catalog",
        action="store_true",
        help="publish the tasks' catalog (names, queues, schemas) to Redis and exit, so a pool scaled to zero "
        "accepts jobs (the chart runs this at install and upgrade)",
    )
    return parser.parse_args(argv)


async def _serve(settings: WorkerSettings) -> tuple[int, bool]:
    """The exit code, and whether a handler still runs in a thread (its job was handed back)."""
    tasks = load_tasks(settings.tasks)
    try:
        tracing = setup_tracing("stoker-worker")
    except TracingConfigError as exc:
        print(f"stoker-worker: invalid settings: {exc}", file=sys.stderr)
        return 2, False
    broker = Broker.from_settings(settings.redis)
    try:
        worker = build_worker(broker, settings, tasks, tracing=tracing is not None)
        code = await worker.run()
        return code, worker.handlers_running > 0
    finally:
        await broker.close()
        if tracing is not None:
            tracing.shutdown()


async def _publish_catalog(settings: WorkerSettings, *, timeout_s: float = 60.0) -> int:
    tasks = load_tasks(settings.tasks)
    broker = Broker.from_settings(settings.redis)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                infos = [spec.info() for spec in tasks.values()]
                await Registry(broker).publish_tasks(infos, queues=settings.queues)
            except QueueUnavailable as exc:
                if time.monotonic() > deadline:
                    print(f"stoker-worker: cannot publish the catalog: {exc}", file=sys.stderr)
                    return 1
                await asyncio.sleep(1)
                continue
            log.info("published the catalog of %s", sorted(tasks))
            return 0
    finally:
        await broker.close()


def _invalid(exc: ValidationError, settings_cls: type[BaseSettings]) -> int:
    # One line per field, never the value given: it may hold a Redis password or the webhook secret.
    for line in settings_errors(exc, settings_cls):
        print(f"stoker-worker: invalid settings: {line}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    # `--tasks mypkg.tasks` run from the folder holding mypkg imports it, as `python -m` would: the
    # console script alone puts only its own folder on sys.path.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        configure_logging(LogSettings(), service="stoker-worker")
    except ValidationError as exc:
        return _invalid(exc, LogSettings)
    overrides = {
        k: v
        for k, v in {
            "tasks": args.tasks,
            "queues": args.queues,
            "concurrency": args.concurrency,
            "burst": args.burst,
            "max_jobs": args.max_jobs,
        }.items()
        if v is not None
    }
    try:
        settings = WorkerSettings(**overrides)
    except ValidationError as exc:
        return _invalid(exc, WorkerSettings)
    try:
        if args.publish_catalog:
            code, busy = run_on_fast_loop(_publish_catalog(settings)), False
        else:
            code, busy = run_on_fast_loop(_serve(settings))
    except (ImportError, ValueError, TypeError) as exc:
        print(f"stoker-worker: cannot load tasks: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the health port is taken
        print(f"stoker-worker: cannot start: {exc}", file=sys.stderr)
        return 2
    if busy:
        # A handler is still running after its job was handed back: exit without joining its thread.
        log.warning("exiting with a handler still running")
        logging.shutdown()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
