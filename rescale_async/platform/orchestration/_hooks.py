"""The callbacks orchestration calls as work progresses (a plain or an async function)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TypeAlias, TypeVar

from ..types import JobOutcome

__all__ = ["ByteProgressHook", "StatusHook", "call_hook"]

T = TypeVar("T")

ByteProgressHook: TypeAlias = Callable[[int, int], object]
"""Called with the bytes transferred so far and the total (as ``files.upload``'s progress)."""

StatusHook: TypeAlias = Callable[[JobOutcome], Awaitable[None] | None]
"""Called with a job's outcome so far each time its status history grows."""


async def call_hook(hook: Callable[[T], Awaitable[None] | None] | None, value: T) -> None:
    """Call ``hook`` with ``value``, awaiting it when it is async."""
    if hook is None:
        return
    outcome = hook(value)
    if inspect.isawaitable(outcome):
        await outcome
