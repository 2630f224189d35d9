"""Job ids: ``<queue>.<ULID>``.

The queue in the id lets any reader find the job's keys (and so its hash slot) with no lookup;
the ULID sorts by creation time, so listing newest-first is a reverse lexicographic range.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time

from stoker_queue.errors import InvalidJobId
from stoker_queue.keys import is_valid_queue_name

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_LEN = 26
SEPARATOR = "."
# The shape of every id ``new_job_id`` makes, for schemas and validators.
JOB_ID_PATTERN = r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?\.[0-9A-HJKMNP-TV-Z]{26}$"


class _MonotonicUlid:
    """ULIDs that also sort by creation order within one millisecond and one process.

    Within a millisecond the random part is incremented instead of drawn again, so a batch's
    ids list in submission order (https://github.com/ulid/spec, "Monotonicity").
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def __call__(self, now_ms: int) -> str:
        with self._lock:
            if now_ms <= self._last_ms and self._last_random < _RANDOM_MAX:
                now_ms, random_part = self._last_ms, self._last_random + 1
            else:
                random_part = int.from_bytes(os.urandom(10), "big")
            self._last_ms, self._last_random = now_ms, random_part
        return _encode(now_ms, random_part)


def _encode(ms: int, random_part: int) -> str:
    value = (ms << 80) | random_part
    chars = []
    for _ in range(_ULID_LEN):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


_RANDOM_MAX = (1 << 80) - 1
_ulid = _MonotonicUlid()


def new_job_id(queue: str, now_ms: int | None = None) -> str:
    """A fresh, time-ordered id for a job on ``queue``."""
    return f"{queue}{SEPARATOR}{_ulid(time.time_ns() // 1_000_000 if now_ms is None else now_ms)}"


def scheduled_job_id(queue: str, schedule: str, tick_ms: int) -> str:
    """The id of the job that one tick of ``schedule`` enqueues: the same for the same tick in every
    process, so a tick can never make two jobs; its time part is the tick's."""
    digest = hashlib.sha256(f"{schedule}\0{tick_ms}".encode()).digest()
    return f"{queue}{SEPARATOR}{_encode(tick_ms, int.from_bytes(digest[:10], 'big'))}"


def queue_of(job_id: str) -> str:
    """The queue a job id belongs to.

    Raises:
        InvalidJobId: the id is not one that Stoker made.
    """
    queue, sep, ulid = job_id.rpartition(SEPARATOR)
    if not sep or len(ulid) != _ULID_LEN or not is_valid_queue_name(queue) or any(c not in _CROCKFORD for c in ulid):
        raise InvalidJobId(job_id)
    return queue
