"""WorkerSettings: read once from the environment (prefix ``WORKER_``; Redis from ``REDIS_URL``)."""

from __future__ import annotations

import os
import socket
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stoker_queue import RedisSettings, is_valid_queue_name
from stoker_queue.settings import split_commas


def _default_worker_id() -> str:
    # In Kubernetes the pod name is the hostname, so ids read well in `kubectl get pods`.
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(BaseSettings):
    """How a worker runs.

    Args:
        queues: queues to claim from (comma-separated in the environment).
        tasks: modules whose ``@task`` functions this worker serves.
        concurrency: jobs run at once (slots).
        lease_s: a claim's lease; renewed every third of it while the job runs.
        drain_s: on SIGTERM, how long in-flight jobs may take before they are handed back.
        reap_interval_s: how often the crash reaper runs per queue (across all workers).
        heartbeat_s: how often the worker refreshes its registry entry.
        claim_block_s: longest single blocking wait for work; also bounds how long a stop waits.
        retry_backoff_s: first retry delay after an error; doubles per attempt, with jitter.
        retry_backoff_cap_s: the longest retry delay.
        webhook_secret: the HMAC-SHA256 key webhooks are signed with (a Kubernetes Secret fills it).
        webhook_allow_private: allow webhooks to loopback, private, link-local and metadata addresses.
        webhook_timeout_s / webhook_max_attempts: per delivery; retries back off up to 10 minutes.
        webhook_poll_s: how often the outbox is checked for retries and for jobs other processes ended.
        pod_deletion_cost: in Kubernetes (POD_NAME and POD_NAMESPACE set), annotate the pod with its busy
            job count so scale-in removes idle pods first; at most once per ``pod_deletion_cost_interval_s``.
        prefetch_below_s: while handlers return within this on average, the worker claims up to
            ``concurrency`` jobs ahead of those running (0: never); slower jobs are never claimed ahead.
        device: where built-in tasks run: ``auto`` (CUDA when visible, else CPU), ``cpu``, ``cuda:1``...
        hung_grace_s: after a handler's timeout, how long its thread may go on before the worker
            declares it hung, hands back its other jobs and exits non-zero (Kubernetes restarts it).
        health_host / health_port: the side server for /healthz, /readyz and /metrics (port 0: any free).
        burst: claim until the queues are empty, finish what was claimed, exit 0 (KEDA ScaledJob pools).
        max_jobs: claim at most this many jobs, finish them, exit 0 (with or without ``burst``).
        pod_name / pod_namespace / node_name: where the worker runs, from the downward API
            (``POD_NAME``, ``POD_NAMESPACE``, ``NODE_NAME``, or the same names with the ``WORKER_`` prefix).
    """

    model_config = SettingsConfigDict(env_prefix="WORKER_", extra="ignore", frozen=True, populate_by_name=True)

    worker_id: str = Field(default_factory=_default_worker_id, min_length=1)
    queues: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["default"], min_length=1)
    tasks: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["stoker_worker.tasks.echo"], min_length=1)
    concurrency: int = Field(default=4, ge=1, le=1024)
    lease_s: float = Field(default=30.0, gt=0)
    drain_s: float = Field(default=25.0, ge=0)
    reap_interval_s: float = Field(default=5.0, gt=0)
    heartbeat_s: float = Field(default=5.0, gt=0)
    claim_block_s: float = Field(default=1.0, gt=0)
    prefetch_below_s: float = Field(default=0.05, ge=0)
    retry_backoff_s: float = Field(default=1.0, gt=0)
    retry_backoff_cap_s: float = Field(default=300.0, gt=0)
    device: str = "auto"
    pod_deletion_cost: bool = True
    pod_deletion_cost_interval_s: float = Field(default=10.0, ge=0)
    webhook_secret: SecretStr | None = None
    webhook_allow_private: bool = False
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_poll_s: float = Field(default=2.0, gt=0)
    hung_grace_s: float = Field(default=30.0, ge=0)
    health_host: str = "0.0.0.0"
    health_port: int = Field(default=8081, ge=0, le=65535)
    burst: bool = False
    max_jobs: int | None = Field(default=None, ge=1)
    pod_name: str | None = Field(default=None, validation_alias=AliasChoices("WORKER_POD_NAME", "POD_NAME"))
    pod_namespace: str | None = Field(
        default=None, validation_alias=AliasChoices("WORKER_POD_NAMESPACE", "POD_NAMESPACE")
    )
    node_name: str | None = Field(default=None, validation_alias=AliasChoices("WORKER_NODE_NAME", "NODE_NAME"))
    redis: RedisSettings = Field(default_factory=RedisSettings)

    _split_commas = field_validator("queues", "tasks", mode="before")(split_commas)

    @field_validator("queues")
    @classmethod
    def _valid_queue_names(cls, queues: list[str]) -> list[str]:
        bad = [q for q in queues if not is_valid_queue_name(q)]
        if bad:
            raise ValueError(f"invalid queue names: {bad}")
        return queues

    @model_validator(mode="after")
    def _block_below_socket_timeout(self) -> WorkerSettings:
        if self.claim_block_s >= self.redis.redis_socket_timeout_s:
            raise ValueError("claim_block_s must be below REDIS_SOCKET_TIMEOUT_S")
        return self
