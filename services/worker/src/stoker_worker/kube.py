"""Scale-in hints: a worker marks its pod busy or idle with the pod-deletion-cost annotation, so a
ReplicaSet scaling down removes idle pods first
(https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#pod-deletion-cost).

Patches are rate-limited and sent only on change; a failure (no RBAC, no cluster) is logged once
and never stops the worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"


class PodDeletionCost:
    """Keeps ``ANNOTATION`` on this pod equal to the number of jobs it holds.

    Args:
        api: a ``kubernetes.client.CoreV1Api``.
        pod / namespace: this pod (the downward API's ``POD_NAME`` and ``POD_NAMESPACE``).
        min_interval_s: the fewest seconds between two patches.
    """

    def __init__(self, api: Any, pod: str, namespace: str, *, min_interval_s: float = 10.0) -> None:
        self._api, self._pod, self._namespace = api, pod, namespace
        self._min_interval_s = min_interval_s
        self._applied: int | None = None
        self._last_patch = float("-inf")
        self._failed_once = False

    @classmethod
    def in_cluster(cls, pod: str | None, namespace: str | None, *, min_interval_s: float) -> PodDeletionCost | None:
        """One for this pod when it runs in Kubernetes with a service account; else None."""
        if not pod or not namespace:
            return None
        try:
            from kubernetes import client, config

            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except Exception as exc:
            log.warning("pod-deletion-cost hints off: no in-cluster Kubernetes config (%s)", exc)
            return None
        return cls(client.CoreV1Api(), pod, namespace, min_interval_s=min_interval_s)

    async def update(self, busy: int) -> None:
        if busy == self._applied or time.monotonic() - self._last_patch < self._min_interval_s:
            return
        self._last_patch = time.monotonic()
        body = {"metadata": {"annotations": {ANNOTATION: str(busy)}}}
        try:
            # The client is synchronous: keep its HTTP call off the event loop.
            await asyncio.to_thread(self._api.patch_namespaced_pod, self._pod, self._namespace, body)
        except Exception as exc:
            if not self._failed_once:
                self._failed_once = True
                log.warning(
                    "could not annotate pod %s/%s with %s (%s); scale-in will not prefer idle pods",
                    self._namespace,
                    self._pod,
                    ANNOTATION,
                    exc,
                )
            return
        self._applied = busy
