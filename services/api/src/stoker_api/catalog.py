"""The task catalog that workers publish, cached briefly, with compiled JSON Schema validators."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from jsonschema import validators
from jsonschema.protocols import Validator
from pydantic import JsonValue

from stoker_api.errors import ApiError
from stoker_queue import Registry, TaskInfo


def _validator(schema: dict[str, Any]) -> Validator:
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    validator: Validator = cls(schema)
    return validator


def _path(error: Any) -> str:
    return ".".join(["input", *(str(p) for p in error.absolute_path)])


class TaskCatalog:
    """Answers "is this a task, and does this input fit it?" from the workers' published schemas.

    Args:
        registry: where workers publish their tasks.
        ttl_s: how long a read of the catalog is reused.
    """

    def __init__(self, registry: Registry, ttl_s: float) -> None:
        self._registry = registry
        self._ttl_s = ttl_s
        self._tasks: dict[str, TaskInfo] = {}
        self._validators: dict[str, Validator] = {}
        self._compiled: dict[str, Validator] = {}  # schema JSON -> its validator
        self._reading: asyncio.Future[None] | None = None
        self._read_at = float("-inf")

    async def tasks(self, *, fresh: bool = False) -> dict[str, TaskInfo]:
        if fresh or time.monotonic() - self._read_at > self._ttl_s:
            # One read at a time: the submits that find the cache stale together share it.
            if self._reading is None:
                self._reading = asyncio.ensure_future(self._read())
            reading = self._reading
            try:
                await asyncio.shield(reading)
            finally:
                if self._reading is reading and reading.done():
                    self._reading = None
        return self._tasks

    async def _read(self) -> None:
        self._tasks = {t.name: t for t in await self._registry.list_tasks()}
        # A schema is compiled once, not again on each read of the catalog (checking it is costly).
        compiled = {}
        for name, t in self._tasks.items():
            if t.input_schema:
                text = json.dumps(t.input_schema, sort_keys=True)
                compiled[text] = self._compiled.get(text) or _validator(t.input_schema)
                self._validators[name] = compiled[text]
            else:
                self._validators.pop(name, None)
        for name in set(self._validators) - set(self._tasks):
            del self._validators[name]
        self._compiled = compiled
        self._read_at = time.monotonic()

    async def check(self, task: str, payload: JsonValue, *, where: str = "", queue: str | None = None) -> TaskInfo:
        """The task's catalog entry, once ``payload`` fits its input schema and ``queue`` (default: the
        task's own) is one that its workers serve.

        Raises:
            ApiError: 404 for an unknown task (listing the known ones); 422 for input that does not fit,
                or for a queue no worker of the task claims (its job would wait forever).
        """
        tasks = await self.tasks()
        if task not in tasks:
            tasks = await self.tasks(fresh=True)  # a worker may have just published it
        info = tasks.get(task)
        if info is None:
            raise ApiError(
                404,
                "unknown_task",
                f"no worker has published a task named {task!r}",
                details={"known_tasks": sorted(tasks)},
            )
        target = queue or info.queue
        if info.queues and target not in info.queues:
            info = (await self.tasks(fresh=True)).get(task, info)  # a worker may have just started on it
            if info.queues and target not in info.queues:
                raise ApiError(
                    422,
                    "queue_not_served",
                    f"no worker of task {task!r} claims queue {target!r}; it is served on {', '.join(info.queues)}",
                    details={"task": task, "queue": target, "served_on": info.queues},
                )
        validator = self._validators.get(task)
        if validator is not None:
            errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
            if errors:
                details = [{"field": where + _path(e), "message": e.message} for e in errors[:50]]
                raise ApiError(422, "invalid_input", f"the input does not fit task {task!r}", details=details)
        return info
