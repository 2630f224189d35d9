"""Workers and GPUs: replicas, slot use, batching, GPU memory, model set-up and webhook deliveries."""

from __future__ import annotations

from monitoring.panels import QUEUE, RATE, PanelBuilder, Query, dashboard, distribution, graph, quantiles

SLOTS = f"stoker_worker_slots{{{QUEUE}}}"
BUSY = f"stoker_worker_busy_slots{{{QUEUE}}}"
BATCH = "stoker_worker_batch_size"
LOST = f'{QUEUE}, cause=~"crash|evicted"'


def _capacity() -> list[PanelBuilder]:
    return [
        graph(
            "Worker replicas",
            "Worker processes that Prometheus scrapes, per queue they serve.",
            [Query(f"count by (queue) ({SLOTS})", "{{queue}}")],
            width=8,
        ),
        graph(
            "Slots and busy slots",
            "Jobs the workers may hold at once, and the jobs they hold now.",
            [
                Query(f"sum by (queue) ({SLOTS})", "slots {{queue}}"),
                Query(f"sum by (queue) ({BUSY})", "busy {{queue}}"),
            ],
            width=8,
        ),
        graph(
            "Slot utilisation",
            "Busy slots over slots. Near 100% with a backlog: more replicas help. "
            "Low with a backlog: the queue may be paused or jobs wait on a rate limit.",
            [Query(f"sum by (queue) ({BUSY}) / sum by (queue) ({SLOTS})", "{{queue}}")],
            unit="percentunit",
            width=8,
            max_value=1,
        ),
        graph(
            "Finished jobs/s per worker",
            "Settled jobs per worker process; uneven lines mean uneven claiming or slow nodes.",
            [Query(f"sum by (instance) (rate(stoker_jobs_finished_total{{{QUEUE}}}{RATE}))", "{{instance}}")],
            unit="ops",
        ),
        graph(
            "Crashed and evicted attempts/s",
            "Attempts lost because a worker died (crash, counted by the worker that requeued the job) "
            "or stopped (evicted). Crashes of GPU workers are often OOM kills.",
            [Query(f"sum by (queue, cause) (rate(stoker_attempts_total{{{LOST}}}{RATE}))", "{{queue}} {{cause}}")],
            unit="ops",
        ),
    ]


def _batching() -> list[PanelBuilder]:
    return [
        graph(
            "Mean batch size by task",
            "Jobs per handler call. Near 1 under load: check the task's batch_size and max_wait_ms.",
            [Query(f"sum by (task) (rate({BATCH}_sum{RATE})) / sum by (task) (rate({BATCH}_count{RATE}))", "{{task}}")],
            width=8,
        ),
        graph(
            "Batch size quantiles by task",
            "p50, p95 and p99 of the jobs per handler call.",
            quantiles(BATCH, "task"),
            width=8,
        ),
        distribution(
            "Batch sizes over the time range",
            "Handler calls per batch-size bucket over the dashboard's time range.",
            Query(f"sum by (le) (increase({BATCH}_bucket[$__range]))", "{{le}}", instant=True, heatmap=True),
        ),
    ]


def _gpus_and_models() -> list[PanelBuilder]:
    return [
        graph(
            "GPU memory used",
            "Memory torch has allocated, per worker and device. Only CUDA workers export it.",
            [Query("max by (instance, device) (stoker_gpu_memory_used_bytes)", "{{instance}} {{device}}")],
            unit="bytes",
        ),
        graph(
            "Model set-up time",
            "How long each worker's last setup() of a class task took (model load and warm-up).",
            [Query("max by (instance, task) (stoker_worker_setup_seconds)", "{{task}} {{instance}}")],
            unit="s",
        ),
    ]


def _webhooks() -> list[PanelBuilder]:
    return [
        graph(
            "Webhook deliveries/s by outcome",
            "delivered: the receiver answered 2xx. failed: an attempt failed and is retried with backoff. "
            "refused: the URL resolved to a private address the worker may not call.",
            [Query(f"sum by (outcome) (rate(stoker_webhook_deliveries_total{RATE}))", "{{outcome}}")],
            unit="ops",
            width=24,
        ),
    ]


def render() -> str:
    return dashboard(
        "stoker-workers",
        "Stoker / Workers and GPUs",
        "Worker replicas, slot use, batching, GPU memory, model set-up and webhook deliveries.",
        [
            ("Capacity", _capacity()),
            ("Batching", _batching()),
            ("GPUs and models", _gpus_and_models()),
            ("Webhooks", _webhooks()),
        ],
    )
