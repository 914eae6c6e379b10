"""Running calls side by side in a task group, errors unwrapped: each to its end (``run_all``),
or until the first failure (``run_together``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

__all__ = ["run_all", "run_together"]

logger = logging.getLogger("rescale_async")

T = TypeVar("T")


async def run_all(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run ``calls`` concurrently, every one to its end (a failure does not cut the others
    short: a half-sent submission would be left in doubt); their results in order. The first
    error is raised as itself, not in an exception group; later ones are logged.
    """
    if len(calls) == 1:
        return [await calls[0]()]
    results: list[T | None] = [None] * len(calls)
    errors: list[Exception] = []

    async def run(index: int) -> None:
        try:
            results[index] = await calls[index]()
        except Exception as exc:  # re-raised below, once all have ended
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for index in range(len(calls)):
            group.start_soon(run, index)
    if errors:
        for extra in errors[1:]:
            logger.error("a concurrent call failed too: %s", extra)
        raise errors[0]
    return results  # type: ignore[return-value]


async def run_together(calls: Sequence[Callable[[], Awaitable[object]]]) -> None:
    """Run ``calls`` concurrently until all have ended or one fails: the first failure cancels
    the others and is raised as itself, not in an exception group (later ones are logged).
    """
    failures: list[Exception] = []

    async with anyio.create_task_group() as group:

        async def run(call: Callable[[], Awaitable[object]]) -> None:
            try:
                await call()
            except Exception as exc:  # re-raised below, once the others are cancelled
                if failures:
                    logger.debug("a concurrent call failed too: %s", exc)
                else:
                    failures.append(exc)
                    group.cancel_scope.cancel()

        for call in calls:
            group.start_soon(run, call)
    if failures:
        raise failures[0]
