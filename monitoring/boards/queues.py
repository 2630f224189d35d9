"""The queue overview: backlog, throughput, latency and failures per queue."""

from __future__ import annotations

from monitoring.panels import QUEUE, RATE, PanelBuilder, Query, dashboard, graph, quantiles, state

SLO_SECONDS = 300  # the e2e latency SLO target of monitoring/rules/stoker.rules.yaml; a bucket boundary

FINISHED = "stoker_jobs_finished_total"
FAILED = f'{QUEUE}, outcome="failed"'
SETTLED = f'{QUEUE}, outcome!="canceled"'
# The Python client writes le="300.0"; the regex also accepts le="300" (see the rules file).
SLOW_RATIO = (
    f'1 - (sum by (queue) (rate(stoker_job_e2e_seconds_bucket{{{SETTLED}, le=~"{SLO_SECONDS}(\\\\.0)?"}}{RATE}))'
    f" / sum by (queue) (rate(stoker_job_e2e_seconds_count{{{SETTLED}}}{RATE})))"
)


def _backlog() -> list[PanelBuilder]:
    return [
        graph(
            "Jobs by state",
            "Jobs in Redis per queue and state, as the API reads them at scrape time.",
            [Query(f"max by (queue, state) (stoker_queue_jobs{{{QUEUE}}})", "{{queue}} {{state}}")],
        ),
        graph(
            "Waiting jobs by priority",
            "Jobs ready to run, by priority; workers claim high before normal before low.",
            [Query(f"max by (queue, priority) (stoker_queue_waiting_jobs{{{QUEUE}}})", "{{queue}} {{priority}}")],
            stack=True,
        ),
        graph(
            "Oldest waiting job",
            "How long the oldest waiting job has waited; 0 when nothing waits. "
            "StokerBacklogTooOld fires above the line for 5 minutes.",
            [Query(f"max by (queue) (stoker_queue_oldest_waiting_seconds{{{QUEUE}}})", "{{queue}}")],
            unit="s",
            width=8,
            threshold=600,
        ),
        graph(
            "Live workers",
            "Workers with a current heartbeat that serve the queue (from the worker registry).",
            [Query(f"max by (queue) (stoker_queue_workers{{{QUEUE}}})", "{{queue}}")],
            width=8,
        ),
        state(
            "Paused queues",
            "A paused queue accepts jobs, but no worker claims them until it is resumed.",
            Query(f"max by (queue) (stoker_queue_paused{{{QUEUE}}})", "{{queue}}", instant=True),
            names={0: ("running", "green"), 1: ("paused", "orange")},
        ),
    ]


def _throughput() -> list[PanelBuilder]:
    return [
        graph(
            "Finished jobs/s by outcome",
            "Jobs the workers settled: succeeded, failed (attempts spent) or canceled.",
            [Query(f"sum by (queue, outcome) (rate({FINISHED}{{{QUEUE}}}{RATE}))", "{{queue}} {{outcome}}")],
            unit="ops",
        ),
        graph(
            "Submitted jobs/s",
            "New jobs the API accepted (an idempotent resubmit is not counted).",
            [Query(f"sum by (queue) (rate(stoker_jobs_submitted_total{{{QUEUE}}}{RATE}))", "{{queue}}")],
            unit="ops",
        ),
    ]


def _latency() -> list[PanelBuilder]:
    return [
        graph(
            "Wait time (submit to start)",
            "Quantiles of the time jobs waited before a worker started them.",
            quantiles("stoker_job_wait_seconds", "queue", QUEUE),
            unit="s",
            width=6,
        ),
        graph(
            "Run time (start to end)",
            "Quantiles of the time the handler took, per attempt.",
            quantiles("stoker_job_run_seconds", "queue", QUEUE),
            unit="s",
            width=6,
        ),
        graph(
            "End-to-end time (submit to end)",
            f"Quantiles of the time from submission to the job's end; the line is the {SLO_SECONDS} s SLO target.",
            quantiles("stoker_job_e2e_seconds", "queue", QUEUE),
            unit="s",
            width=6,
            threshold=SLO_SECONDS,
        ),
        graph(
            f"Jobs slower than {SLO_SECONDS} s",
            "The fraction of ended jobs (canceled ones aside) slower than the SLO target; the SLO allows 1%.",
            [Query(SLOW_RATIO, "{{queue}}")],
            unit="percentunit",
            width=6,
            threshold=0.01,
        ),
    ]


def _failures() -> list[PanelBuilder]:
    return [
        graph(
            "Failed attempts/s by cause",
            "Attempts that ended without a result: error (the handler raised), crash (the worker died and "
            "its lease expired), evicted (the worker stopped and handed the job back).",
            [Query(f"sum by (queue, cause) (rate(stoker_attempts_total{{{QUEUE}}}{RATE}))", "{{queue}} {{cause}}")],
            unit="ops",
            width=8,
        ),
        graph(
            "Failed jobs/s by task",
            "Jobs that spent all their attempts and went to the dead-letter list.",
            [Query(f"sum by (queue, task) (rate({FINISHED}{{{FAILED}}}{RATE}))", "{{queue}} {{task}}")],
            unit="ops",
            width=8,
        ),
        graph(
            "Failure ratio",
            "Failed jobs over settled jobs (canceled ones aside). StokerHighFailureRatio fires above the "
            "line over 15 minutes.",
            [
                Query(
                    f"sum by (queue) (rate({FINISHED}{{{FAILED}}}{RATE}))"
                    f" / sum by (queue) (rate({FINISHED}{{{SETTLED}}}{RATE}))",
                    "{{queue}}",
                )
            ],
            unit="percentunit",
            width=8,
            threshold=0.1,
        ),
        graph(
            "Dead-letter size",
            "Failed jobs kept for inspection; POST /v1/queues/{queue}/dead/retry requeues them.",
            [Query(f'max by (queue) (stoker_queue_jobs{{{QUEUE}, state="dead"}})', "{{queue}}")],
        ),
        graph(
            "Dead-letter growth over 30 min",
            "Change of the dead-letter size over the last 30 minutes; StokerDeadLetterGrowing fires above 0.",
            [Query(f'max by (queue) (delta(stoker_queue_jobs{{{QUEUE}, state="dead"}}[30m]))', "{{queue}}")],
        ),
    ]


def render() -> str:
    return dashboard(
        "stoker-queues",
        "Stoker / Queues",
        "Backlog, throughput, latency and failures per queue.",
        [("Backlog", _backlog()), ("Throughput", _throughput()), ("Latency", _latency()), ("Failures", _failures())],
    )
