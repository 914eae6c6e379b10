"""A cancel that confirms: ask the service to cancel, then wait until every job has ended.

The API's 200 to ``POST .../jobs/cancel`` only means the request was taken; jobs stop one by
one, and a job that was just finishing may still succeed. ``cancel_and_confirm`` returns once
every job is terminal, or raises ``CancelNotConfirmedError`` naming those that are not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from ..._core.exceptions import CancelNotConfirmedError, WaitTimeoutError
from ..types import JobRef
from ._results import WaitResult

__all__ = ["cancel_and_confirm"]

_NAMED = 10  # job ids an error message names before "and N more"


def _named(pending: Sequence[JobRef]) -> str:
    shown = ", ".join(job.job_id for job in pending[:_NAMED])
    more = len(pending) - _NAMED
    return shown + (f" and {more} more" if more > 0 else "")


async def cancel_and_confirm(
    request_cancel: Callable[[], Awaitable[None]],
    wait_for_end: Callable[[float | None], Awaitable[WaitResult]],
    unfinished: Callable[[WaitResult], Awaitable[list[JobRef]]],
    *,
    what: str,
    timeout: float | None,
) -> WaitResult:
    """Cancel (``request_cancel``), then wait until every job of ``what`` has ended; the
    result, or CancelNotConfirmedError naming the ``unfinished`` jobs after ``timeout`` s.
    """
    if timeout is not None and not timeout >= 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}")
    await request_cancel()
    try:
        return await wait_for_end(timeout)
    except WaitTimeoutError as exc:
        pending = await unfinished(exc.result)
        raise CancelNotConfirmedError(
            f"cancel of {what} not confirmed after {timeout} s: {len(pending)} jobs have not "
            f"ended ({_named(pending)}); cancel again, or wait longer with a larger timeout",
            result=exc.result,
            pending=pending,
        ) from None
