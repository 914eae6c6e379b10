"""A request body that is a window on a file: a part is sent from the file, never held whole
in memory, and rewound when botocore sends it again.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

__all__ = ["FileWindow", "SourceShrankError"]


class SourceShrankError(OSError):
    """The file ended inside the window: it was truncated while it was sent."""


class FileWindow(io.RawIOBase):
    """``length`` bytes of the file ``path`` from ``offset``, seekable within the window.

    Each window opens the file for itself; opening and reading are blocking (botocore's HTTP
    client reads bodies in worker threads), so make one in a worker thread too.
    """

    def __init__(self, path: Path, offset: int, length: int) -> None:
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self._path = path
        self._offset = offset
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._length}[whence]
        if base + offset < 0:
            raise ValueError(f"cannot seek to {base + offset}, before the window's start")
        self._position = min(base + offset, self._length)
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._length - self._position)
        if wanted <= 0:
            return 0
        self._file.seek(self._offset + self._position)
        got = self._file.readinto(memoryview(buffer)[:wanted])
        if not got:
            raise SourceShrankError(
                f"{self._path} ended at {self._offset + self._position} bytes, inside the "
                f"{self._length} bytes from {self._offset} being sent: it was truncated"
            )
        self._position += got
        return got

    def close(self) -> None:
        self._file.close()
        super().close()
