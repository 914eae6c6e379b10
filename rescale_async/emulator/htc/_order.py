"""The orders a task's jobs are listed in (``EmulatorConfig.job_order``), as stable sort keys.

The real service promises no order. A page cursor is the key of the last job a page showed
and the next page starts after it; as every job's key is fixed when it is created, jobs
submitted while a client pages never make it skip or repeat others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from .._config import JobOrder

__all__ = ["JobOrdering", "shuffle_key"]

_MASK = (1 << 64) - 1
_REVERSED_TOP = 1 << 62
"""Keys of the reversed order count down from here: job ``n`` of a task has key TOP - n."""


def shuffle_key(task_id: str, seq: int) -> int:
    """A job's key in its task's shuffled order: its sequence number scrambled with a salt
    from the task id. Each step is a bijection on 64-bit ints, so keys never collide.
    """
    salt = int.from_bytes(hashlib.blake2b(task_id.encode(), digest_size=8).digest(), "big")
    x = (seq ^ salt) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK  # splitmix64's finaliser
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class JobOrdering:
    """Each task's jobs in one order, with their keys (ascending, one per job, never changed)."""

    def __init__(self, order: JobOrder) -> None:
        self.order = order
        self._shuffled: dict[str, tuple[int, list[int], list[str]]] = {}
        """task id -> (jobs seen, keys, job ids): the shuffled order, rebuilt as jobs come."""

    def listing(
        self, task_id: str, job_ids: list[str], seq_of: Callable[[str], int]
    ) -> tuple[Sequence[int], Sequence[str]]:
        """The keys and ids of a task's jobs (``job_ids``: in creation order), in this order."""
        if self.order == "created":
            return range(len(job_ids)), job_ids
        if self.order == "reversed":
            count = len(job_ids)
            return range(_REVERSED_TOP - count + 1, _REVERSED_TOP + 1), job_ids[::-1]
        cached = self._shuffled.get(task_id)
        if cached is not None and cached[0] == len(job_ids):
            return cached[1], cached[2]
        pairs = sorted((shuffle_key(task_id, seq_of(job_id)), job_id) for job_id in job_ids)
        keys, ids = [key for key, _ in pairs], [job_id for _, job_id in pairs]
        self._shuffled[task_id] = (len(job_ids), keys, ids)
        return keys, ids
