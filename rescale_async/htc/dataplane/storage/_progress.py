"""Counting a transfer's progress and telling the caller's hook, in the caller's loop."""

from __future__ import annotations

from typing import Literal

from ._bridge import CallerLoop
from ._models import TransferProgress, TransferProgressHook

__all__ = ["Reporter"]


class Reporter:
    """The running counts of one upload or download call."""

    def __init__(
        self,
        direction: Literal["upload", "download"],
        hook: TransferProgressHook | None,
        caller: CallerLoop,
        *,
        files_total: int,
        bytes_total: int,
    ) -> None:
        self._direction = direction
        self._hook = hook
        self._caller = caller
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.bytes_done = 0
        self.bytes_moved = 0
        self.files_done = 0
        self.files_skipped = 0

    async def moved(self, key: str, count: int) -> None:
        """``count`` bytes of ``key`` went across."""
        self.bytes_done += count
        self.bytes_moved += count
        await self._tell(key)

    async def restarted(self, key: str, count: int) -> None:
        """``count`` bytes of ``key`` told as moved will be moved again (a part that broke off
        restarts whole), so they are not counted twice.
        """
        if count:
            self.bytes_done -= count
            self.bytes_moved -= count
            await self._tell(key)

    async def resumed(self, key: str, count: int) -> None:
        """``count`` bytes of ``key`` were already there from an interrupted run."""
        if count:
            self.bytes_done += count
            await self._tell(key)

    async def finished(self, key: str) -> None:
        """``key`` is complete and verified."""
        self.files_done += 1
        await self._tell(key)

    async def skipped(self, key: str, size: int) -> None:
        """``key`` was already complete and verified at the destination."""
        self.files_done += 1
        self.files_skipped += 1
        self.bytes_done += size
        await self._tell(key)

    async def _tell(self, key: str) -> None:
        hook = self._hook
        if hook is None:
            return
        event = TransferProgress(
            direction=self._direction,
            key=key,
            bytes_done=self.bytes_done,
            bytes_total=self.bytes_total,
            files_done=self.files_done,
            files_total=self.files_total,
            files_skipped=self.files_skipped,
        )

        async def tell() -> None:
            hook(event)

        await self._caller.call(tell)
