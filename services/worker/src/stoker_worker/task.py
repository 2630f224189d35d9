"""The task SDK: ``@task`` turns a function into something a worker can serve.

Input and output types come from the function's annotations (a pydantic model, or any type
pydantic can validate); their JSON Schemas go into the catalog that the API validates against.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

from pydantic import JsonValue, TypeAdapter

from stoker_queue import DEFAULT_QUEUE, TaskInfo, is_valid_queue_name

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "__stoker_task__"


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: the function and how to run it."""

    name: str
    queue: str
    fn: Callable[..., Any]
    input_type: TypeAdapter[Any]
    output_type: TypeAdapter[Any]
    timeout_s: float | None = None
    max_attempts: int = 3

    def info(self) -> TaskInfo:
        return TaskInfo(
            name=self.name,
            queue=self.queue,
            input_schema=self.input_type.json_schema(),
            output_schema=self.output_type.json_schema(mode="serialization"),
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
        )

    def parse_input(self, raw: JsonValue) -> Any:
        """Raises pydantic.ValidationError for input that does not fit the task."""
        return self.input_type.validate_python(raw)

    def dump_output(self, value: Any) -> JsonValue:
        dumped: JsonValue = self.output_type.dump_python(value, mode="json")
        return dumped

    async def call(self, value: Any, executor: Executor | None = None) -> Any:
        """Run the function off the event loop: coroutines as they are, plain functions in ``executor``."""
        if inspect.iscoroutinefunction(self.fn):
            return await self.fn(value)
        return await asyncio.get_running_loop().run_in_executor(executor, self.fn, value)


def task(
    name: str | None = None,
    *,
    queue: str = DEFAULT_QUEUE,
    timeout_s: float | None = None,
    max_attempts: int = 3,
) -> Callable[[F], F]:
    """Register a function as a task. It takes one argument (the input) and returns the output.

    Args:
        name: the name clients submit; the function's name if not given.
        queue: the queue its jobs wait on.
        timeout_s: default wall-clock limit of one run; a job's own ``timeout_s`` wins.
        max_attempts: runs that may raise before a job fails.
    """
    if not is_valid_queue_name(queue):
        raise ValueError(f"invalid queue name {queue!r}")

    def decorate(fn: F) -> F:
        params = list(inspect.signature(fn).parameters.values())
        if len(params) != 1:
            raise TypeError(f"task {fn.__qualname__} must take exactly one argument, its input")
        hints = get_type_hints(fn)
        spec = TaskSpec(
            name=name or fn.__name__,
            queue=queue,
            fn=fn,
            input_type=TypeAdapter(hints.get(params[0].name, JsonValue)),
            output_type=TypeAdapter(hints.get("return", JsonValue)),
            timeout_s=timeout_s,
            max_attempts=max_attempts,
        )
        setattr(fn, _ATTRIBUTE, spec)
        return fn

    return decorate


def load_tasks(modules: list[str]) -> dict[str, TaskSpec]:
    """Import ``modules`` and collect their tasks by name.

    Raises:
        ImportError: a module cannot be imported.
        ValueError: two tasks share a name, or a module holds no task.
    """
    found: dict[str, TaskSpec] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        specs = [getattr(obj, _ATTRIBUTE) for obj in vars(module).values() if hasattr(obj, _ATTRIBUTE)]
        if not specs:
            raise ValueError(f"module {module_name} defines no @task")
        for spec in specs:
            if spec.name in found and found[spec.name].fn is not spec.fn:
                raise ValueError(f"two tasks are named {spec.name!r}")
            found[spec.name] = spec
    return found
