"""The API: request rates, latency and errors, submissions and Redis reachability."""

from __future__ import annotations

from monitoring.panels import QUEUE, RATE, PanelBuilder, Query, dashboard, graph, quantiles, state

REQUESTS = "stoker_http_request_duration_seconds"


def _by_status(pattern: str) -> str:
    return f'sum by (route, status) (rate({REQUESTS}_count{{status=~"{pattern}"}}{RATE}))'


def _traffic() -> list[PanelBuilder]:
    return [
        graph(
            "Requests/s by route and status",
            "Requests per path template (such as /v1/jobs/{job_id}) and HTTP status.",
            [Query(f"sum by (route, status) (rate({REQUESTS}_count{RATE}))", "{{status}} {{route}}")],
            unit="reqps",
        ),
        graph(
            "Submissions/s by queue and task",
            "New jobs accepted, per queue and task.",
            [Query(f"sum by (queue, task) (rate(stoker_jobs_submitted_total{{{QUEUE}}}{RATE}))", "{{queue}} {{task}}")],
            unit="ops",
        ),
    ]


def _latency() -> list[PanelBuilder]:
    return [
        graph(
            "Latency by route",
            "p50, p95 and p99 per route. Requests with ?wait= and event streams are held open on purpose "
            "and read high.",
            quantiles(REQUESTS, "route"),
            unit="s",
            width=24,
        ),
    ]


def _errors() -> list[PanelBuilder]:
    return [
        graph(
            "Client errors (4xx)/s",
            "401/403: a missing or wrong key. 404: an unknown job, task or queue. 413/422: input too large "
            "or invalid. 429: a key over its submit rate.",
            [Query(_by_status("4.."), "{{status}} {{route}}")],
            unit="reqps",
            width=8,
        ),
        graph(
            "Server errors (5xx)/s",
            "503 (queue_unavailable): Redis did not answer in time. Any other 5xx is a bug.",
            [Query(_by_status("5.."), "{{status}} {{route}}")],
            unit="reqps",
            width=8,
        ),
        graph(
            "Server error ratio",
            "5xx answers over all answers.",
            [
                Query(
                    f'sum(rate({REQUESTS}_count{{status=~"5.."}}{RATE})) / sum(rate({REQUESTS}_count{RATE}))',
                    "5xx",
                )
            ],
            unit="percentunit",
            width=8,
        ),
    ]


def _redis() -> list[PanelBuilder]:
    return [
        state(
            "Redis reachable",
            "Whether every API replica could read Redis at its last scrape.",
            Query("min(stoker_redis_up)", "Redis", instant=True),
            names={0: ("down", "red"), 1: ("up", "green")},
        ),
        graph(
            "Redis reachability per API replica",
            "1 when the replica's scrape-time read of Redis succeeded, 0 when it failed.",
            [Query("min by (instance) (stoker_redis_up)", "{{instance}}")],
            width=16,
            max_value=1,
        ),
    ]


def render() -> str:
    return dashboard(
        "stoker-api",
        "Stoker / API",
        "Request rates, latency and errors of the API, submissions and Redis reachability.",
        [("Traffic", _traffic()), ("Latency", _latency()), ("Errors", _errors()), ("Redis", _redis())],
    )
