"""Hashing a download in order as its bytes land: each stretch that extends the contiguous
prefix on disk is read back (from the page cache, just written) and hashed at once, so when the
last byte lands only the tail is left: there is no second pass over the file.
"""

from __future__ import annotations

import hashlib

from ..._core.exceptions import DownloadError
from ._landing import Landing
from ._partial import PartialFile

__all__ = ["PrefixHasher"]

_HASH_PIECE = 4 * 1024 * 1024
"""Bytes read back and hashed at a time."""


class PrefixHasher:
    """Hashes the file in order, each stretch as soon as it extends the landed prefix."""

    def __init__(self, partial: PartialFile, landing: Landing, function: str) -> None:
        self._partial = partial
        self._landing = landing
        self._function = function
        self._hash = hashlib.new(function)
        self._buffer = memoryview(bytearray(_HASH_PIECE))
        self._generation = 0
        self._closed = False
        self.verified = 0

    def reset(self) -> None:
        """Start over (the bytes on disk were dropped)."""
        self._hash = hashlib.new(self._function)
        self._generation += 1
        self.verified = 0

    def close(self) -> None:
        """No more bytes will land: hash what is left, then stop."""
        self._closed = True
        self._landing.wake()

    def hexdigest(self) -> str:
        """The digest of the bytes hashed (all of them once ``run`` has returned)."""
        return self._hash.hexdigest()

    async def run(self) -> None:
        """Hash each stretch as the prefix grows, until ``close`` and the last byte."""
        while True:
            changed = self._landing.changed
            end = self._landing.prefix_end(self.verified)
            if end > self.verified:
                generation, digest = self._generation, self._hash
                size = min(end - self.verified, _HASH_PIECE)
                read = await self._partial.hash_into(digest, self.verified, self._buffer[:size])
                if generation != self._generation:
                    continue  # the bytes were dropped meanwhile: start over
                if read != size:
                    raise DownloadError(
                        f"{self._partial.dest}: the partial download shrank while it was "
                        "being written; download it again"
                    )
                self.verified += size
            elif self._closed:
                return
            else:
                await changed.wait()
