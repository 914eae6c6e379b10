"""Which bytes of a download are on disk: per chunk, how many from its start."""

from __future__ import annotations

import math

import anyio

__all__ = ["Landing"]


class Landing:
    """Which bytes are on disk: per chunk, how many from its start (one growing chunk when the
    file's size is unknown). Wakes the hasher on every change.
    """

    def __init__(self, size: int | None, chunk_size: int) -> None:
        self.size = size
        self.chunk_size = chunk_size
        self.count = 1 if not size else math.ceil(size / chunk_size)
        self.written = [0] * self.count
        self.ended = False  # the stream of a file of unknown size has ended
        self.changed = anyio.Event()

    def whole(self) -> None:
        """One chunk, the whole file, from nothing (the server ignores ranges)."""
        self.chunk_size = self.size or 1
        self.count = 1
        self.written = [0]
        self.ended = False
        self.wake()

    def wake(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()

    def start(self, index: int) -> int:
        return index * self.chunk_size

    def end(self, index: int) -> int | None:
        """Where chunk ``index`` ends (excluded); None when the file's size is unknown."""
        return None if self.size is None else min(self.size, (index + 1) * self.chunk_size)

    def complete(self, index: int) -> bool:
        end = self.end(index)
        return self.ended if end is None else self.start(index) + self.written[index] >= end

    def add(self, index: int, count: int) -> None:
        self.written[index] += count
        self.wake()

    @property
    def total(self) -> int:
        """Bytes on disk."""
        return sum(self.written)

    def prefix_end(self, offset: int) -> int:
        """The end of the contiguous stretch of landed bytes that ``offset`` is in."""
        if self.size is None:
            return self.written[0]
        index = offset // self.chunk_size
        while index < self.count:
            reach = self.start(index) + self.written[index]
            if not self.complete(index):
                return reach
            index += 1
        return self.size
