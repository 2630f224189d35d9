"""The task SDK: ``@task`` turns a function, or a class with ``setup()``, into a servable task.

Input and output types come from the annotations (a pydantic model, or any type pydantic can
validate); their JSON Schemas go into the catalog that the API checks submissions against.

- ``batch_size=1``: ``def run(item: In) -> Out``.
- ``batch_size>1``: ``def run(items: list[In]) -> list[Out]``, one output per input, in order.
- A parameter annotated ``JobContext`` (``list[JobContext]`` when batched) receives the context.
- A class is instantiated once per process; its ``setup()`` runs before the worker is ready, and
  its ``__call__`` follows the rules above.
- ``schedule=every(...)`` or ``schedule=cron(...)`` (``schedule.py``) also enqueues its jobs periodically.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from pydantic import JsonValue, TypeAdapter

from stoker_queue import DEFAULT_QUEUE, Rate, Schedule, TaskInfo, is_valid_queue_name
from stoker_worker.context import JobContext
from stoker_worker.schedule import ScheduleDeclaration

T = TypeVar("T")
_ATTRIBUTE = "__stoker_task__"


@dataclass(frozen=True, slots=True)
class TaskOptions:
    name: str
    queue: str = DEFAULT_QUEUE
    batch_size: int = 1
    max_wait_ms: int = 0
    timeout_s: float | None = None
    max_attempts: int = 3
    rate_limit: Rate | None = None
    schedule: Schedule | None = None


@dataclass
class TaskSpec:
    """A task ready to serve: its options, its types, and how to call it."""

    options: TaskOptions
    target: Any  # the function, or the class to instantiate
    input_type: TypeAdapter[Any]
    output_type: TypeAdapter[Any]
    wants_context: bool
    is_class: bool
    is_async: bool  # a coroutine function (a class task: its __call__); awaited on the loop, not in a thread
    _instance: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def batched(self) -> bool:
        return self.options.batch_size > 1

    def setup(self) -> None:
        """Instantiate a class task and run its ``setup()`` (load the model, warm it up)."""
        if self.is_class and self._instance is None:
            instance = self.target()
            if hasattr(instance, "setup"):
                instance.setup()
            self._instance = instance

    @property
    def ready(self) -> bool:
        return not self.is_class or self._instance is not None

    def info(self) -> TaskInfo:
        o = self.options
        return TaskInfo(
            name=o.name,
            queue=o.queue,
            input_schema=self.input_type.json_schema(),
            output_schema=self.output_type.json_schema(mode="serialization"),
            batch_size=o.batch_size,
            timeout_s=o.timeout_s,
            max_attempts=o.max_attempts,
            schedule=o.schedule,
        )

    def parse_input(self, raw: JsonValue) -> Any:
        """Raises pydantic.ValidationError for input that does not fit the task."""
        return self.input_type.validate_python(raw)

    def dump_output(self, value: Any) -> JsonValue:
        dumped: JsonValue = self.output_type.dump_python(value, mode="json")
        return dumped

    def invoke(self, value: Any, context: Any) -> Any:
        """Call the handler (a coroutine for async handlers). Lists in and out when batched."""
        fn = self._instance if self.is_class else self.target
        return fn(value, context) if self.wants_context else fn(value)


def _signature_types(fn: Callable[..., Any], batched: bool, where: str) -> tuple[Any, Any, bool]:
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    hints = get_type_hints(fn)
    context_types = (JobContext, list[JobContext])
    wants_context = len(params) == 2 and hints.get(params[1].name) in context_types
    if len(params) != (2 if wants_context else 1):
        raise TypeError(f"{where} must take its input, and optionally a JobContext, nothing else")
    input_type, output_type = hints.get(params[0].name, JsonValue), hints.get("return", JsonValue)
    if batched:
        if get_origin(input_type) is not list or get_origin(output_type) is not list:
            raise TypeError(f"{where} is batched: annotate its input and output as list[...]")
        input_type, output_type = get_args(input_type)[0], get_args(output_type)[0]
    return input_type, output_type, wants_context


def task(
    name: str | None = None,
    *,
    queue: str = DEFAULT_QUEUE,
    batch_size: int = 1,
    max_wait_ms: int = 0,
    timeout_s: float | None = None,
    max_attempts: int = 3,
    rate_limit: str | None = None,
    schedule: ScheduleDeclaration | None = None,
) -> Callable[[T], T]:
    """Register a function or class as a task.

    Args:
        name: the name clients submit; the function's or class's name if not given.
        queue: the queue its jobs wait on.
        batch_size: most jobs handed to one call; above 1 the handler takes and returns lists.
        max_wait_ms: how long a partial batch waits to fill before it runs anyway.
        timeout_s: default wall-clock limit of one run; a job's own ``timeout_s`` wins.
        max_attempts: runs that may raise before a job fails.
        rate_limit: e.g. ``"10/s"``: at most this many jobs start per second across all workers.
        schedule: ``every(...)`` or ``cron(...)``: also enqueue a job on each tick, once across all processes.
    """
    if not is_valid_queue_name(queue):
        raise ValueError(f"invalid queue name {queue!r}")
    if batch_size < 1 or max_wait_ms < 0 or max_attempts < 1 or (timeout_s is not None and timeout_s <= 0):
        raise ValueError("batch_size and max_attempts must be >= 1, max_wait_ms >= 0, timeout_s > 0")
    rate = Rate.parse(rate_limit, burst=max(1, batch_size)) if rate_limit else None

    def decorate(target: T) -> T:
        is_class = inspect.isclass(target)
        fn: Callable[..., Any] = target.__call__ if is_class else target  # type: ignore[assignment,operator]
        label = str(getattr(target, "__qualname__", repr(target)))
        input_type, output_type, wants_context = _signature_types(fn, batch_size > 1, f"task {label}")
        task_name = name or str(getattr(target, "__name__", label))
        input_adapter = TypeAdapter(input_type)
        options = TaskOptions(
            name=task_name,
            queue=queue,
            batch_size=batch_size,
            max_wait_ms=max_wait_ms,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            rate_limit=rate,
            schedule=schedule.build(task_name, input_adapter) if schedule is not None else None,
        )
        spec = TaskSpec(
            options=options,
            target=target,
            input_type=input_adapter,
            output_type=TypeAdapter(output_type),
            wants_context=wants_context,
            is_class=is_class,
            is_async=inspect.iscoroutinefunction(fn),
        )
        setattr(target, _ATTRIBUTE, spec)
        return target

    return decorate


def _import(module_name: str) -> Any:
    """Import a task module; an ImportError that says which module failed and what to do about it."""
    if module_name.endswith(".py") or "/" in module_name:
        raise ImportError(f"{module_name!r} is a file; name the module instead, e.g. mypkg.tasks for mypkg/tasks.py")
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):  # the task module itself (or its package)
            raise ImportError(
                f"no module named {exc.name!r} (for --tasks {module_name}): run the worker from the folder that "
                "holds it, or add that folder to PYTHONPATH"
            ) from exc
        raise ImportError(
            f"task module {module_name} imports {exc.name!r}, which is not installed in the worker's environment"
        ) from exc


def load_tasks(modules: list[str]) -> dict[str, TaskSpec]:
    """Import ``modules`` and collect their tasks by name.

    Raises:
        ImportError: a module cannot be imported.
        ValueError: two tasks share a name, or a module holds no task.
    """
    found: dict[str, TaskSpec] = {}
    for module_name in modules:
        module = _import(module_name)
        specs = [getattr(obj, _ATTRIBUTE) for obj in vars(module).values() if hasattr(obj, _ATTRIBUTE)]
        if not specs:
            raise ValueError(f"module {module_name} defines no @task")
        for spec in specs:
            if spec.name in found and found[spec.name].target is not spec.target:
                raise ValueError(f"two tasks are named {spec.name!r}")
            found[spec.name] = spec
    return found
