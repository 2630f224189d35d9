"""Job ids: ``<queue>.<ULID>``.

The queue in the id lets any reader find the job's keys (and so its hash slot) with no lookup;
the ULID sorts by creation time, so listing newest-first is a reverse lexicographic range.
"""

from __future__ import annotations

import os
import time

from stoker_queue.errors import InvalidJobId
from stoker_queue.keys import is_valid_queue_name

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_LEN = 26
SEPARATOR = "."


def _ulid(now_ms: int) -> str:
    value = (now_ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(_ULID_LEN):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_job_id(queue: str, now_ms: int | None = None) -> str:
    """A fresh, time-ordered id for a job on ``queue``."""
    return f"{queue}{SEPARATOR}{_ulid(time.time_ns() // 1_000_000 if now_ms is None else now_ms)}"


def queue_of(job_id: str) -> str:
    """The queue a job id belongs to.

    Raises:
        InvalidJobId: the id is not one that Stoker made.
    """
    queue, sep, ulid = job_id.rpartition(SEPARATOR)
    if not sep or len(ulid) != _ULID_LEN or not is_valid_queue_name(queue) or any(c not in _CROCKFORD for c in ulid):
        raise InvalidJobId(job_id)
    return queue
