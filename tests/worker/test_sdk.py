"""The task SDK: signatures, schemas, options, and what load_tasks refuses."""

from __future__ import annotations

import pytest

from stoker_worker import JobContext, load_tasks, task
from stoker_worker.task import TaskSpec


def _spec(target: object) -> TaskSpec:
    spec: TaskSpec = target.__stoker_task__  # type: ignore[attr-defined]
    return spec


def test_schemas_and_options_reach_the_catalog() -> None:
    specs = load_tasks(["tests.worker.sample_tasks"])
    info = specs["sum"].info()
    assert info.input_schema["required"] == ["values"] and info.output_schema["properties"]["total"]
    square = specs["square"].info()
    assert (square.queue, square.batch_size, square.input_schema) == ("batch", 4, {"type": "integer"})
    assert specs["model"].is_class and specs["model"].batched and specs["model"].options.max_wait_ms == 50
    assert specs["limited"].options.rate_limit is not None and specs["limited"].options.rate_limit.per_s == 5
    assert specs["patient"].wants_context and not specs["sum"].wants_context
    assert specs["async_echo"].is_async and not specs["sum"].is_async


def test_bad_declarations_are_refused() -> None:
    with pytest.raises(TypeError, match="list"):

        @task(batch_size=2)
        def not_lists(x: int) -> int:
            return x

    with pytest.raises(TypeError, match="its input"):

        @task()
        def two_inputs(a: int, b: int) -> int:
            return a + b

    with pytest.raises(ValueError, match="queue"):
        task(queue="Bad Queue")
    with pytest.raises(ValueError, match="rate"):
        task(rate_limit="fast")
    with pytest.raises(ValueError, match="batch_size"):
        task(batch_size=0)


def test_context_parameter_is_recognised() -> None:
    @task(name="with_ctx")
    def with_ctx(x: int, ctx: JobContext) -> int:
        return x

    @task(name="batched_ctx", batch_size=3)
    def batched_ctx(xs: list[int], ctxs: list[JobContext]) -> list[int]:
        return xs

    assert _spec(with_ctx).wants_context and _spec(batched_ctx).wants_context


def test_load_tasks_refuses_empty_modules_and_duplicates() -> None:
    with pytest.raises(ValueError, match="defines no @task"):
        load_tasks(["tests.worker.test_sdk"])
    with pytest.raises(ImportError):
        load_tasks(["no.such.module"])
