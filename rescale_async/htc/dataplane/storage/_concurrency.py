"""Running a transfer's pieces side by side, failing fast."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio

__all__ = ["run_each"]


async def run_each(calls: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Run ``calls`` concurrently; the first to fail cancels the others and is raised as
    itself (not in an exception group). Unlike the core's ``run_all``, which lets every call
    end (a half-sent submission would be in doubt), a failed transfer stops the rest: what
    finished stays finished, and a download resumes the rest next time.
    """
    failures: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def run(call: Callable[[], Awaitable[None]]) -> None:
            try:
                await call()
            except Exception as exc:  # raised below, once every call has stopped
                if not failures:
                    failures.append(exc)
                group.cancel_scope.cancel()

        for call in calls:
            group.start_soon(run, call)
    if failures:
        raise failures[0]
