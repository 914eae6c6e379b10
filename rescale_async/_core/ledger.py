"""What every ledger shares: one SQLite file, private to its owner, written from worker threads.

A ledger lets a program killed at any moment resume without losing or repeating what it sent
(HTC's submissions, the platform's runs). The file is created 0600; it is opened once per
process and path (``shared_ledger``), in WAL mode, each change one ``BEGIN IMMEDIATE``
transaction run in a worker thread under a lock, so the event loop never blocks on the disk and
a killed process loses nothing it had recorded. Every ledger of this package writes the same
format marker and creates only its own tables, so one file can serve HTC and the platform.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import ClassVar, TypeVar

import anyio

from .exceptions import LedgerError

__all__ = ["LEDGER_FORMAT", "LedgerFile", "shared_ledger"]

T = TypeVar("T")
L = TypeVar("L", bound="LedgerFile")

LEDGER_FORMAT = "rescale_async ledger 1"
"""The format marker every ledger file holds (table ``ledger_meta``)."""

_META = "CREATE TABLE IF NOT EXISTS ledger_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"


class LedgerFile:
    """A ledger's SQLite file at ``path``; subclasses give their tables in ``schema``
    (``CREATE TABLE IF NOT EXISTS ...``) and their operations over ``_run``.
    """

    schema: ClassVar[str] = ""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._ordinals: Counter[Hashable] = Counter()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def next_ordinal(self, identity: Hashable) -> int:
        """How many times this process asked before for ``identity`` (0 the first time): the
        same program doing the same thing twice gets two entries, on every run.
        """
        ordinal = self._ordinals[identity]
        self._ordinals[identity] += 1
        return ordinal

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {exc.strerror}") from None
        os.close(descriptor)
        connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # survives a killed process
            connection.executescript(_META + self.schema)
            row = connection.execute(
                "SELECT value FROM ledger_meta WHERE name = 'format'"
            ).fetchone()
            if row is None:
                connection.execute(
                    "INSERT INTO ledger_meta (name, value) VALUES ('format', ?)", (LEDGER_FORMAT,)
                )
            elif row[0] != LEDGER_FORMAT:
                raise LedgerError(f"{self.path} is a ledger of another format ({row[0]!r})")
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise LedgerError(
                f"{self.path} is not a rescale_async ledger ({exc}); pass a new file name"
            ) from None
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one transaction, in a worker thread."""

        def locked() -> T:
            with self._lock:
                connection = self._connect()
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    result = work(connection)
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                return result

        return await anyio.to_thread.run_sync(locked)

    def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


_open: dict[tuple[type[LedgerFile], Path], LedgerFile] = {}
_open_lock = threading.Lock()


def shared_ledger(kind: type[L], ledger: L | str | os.PathLike[str] | None) -> L | None:
    """The process's one ``kind`` ledger for a path (so counting spans every call); a ledger
    given as such is used as it is.
    """
    if ledger is None or isinstance(ledger, kind):
        return ledger
    if not isinstance(ledger, str | os.PathLike):
        raise TypeError(
            f"ledger must be a {kind.__name__} or a file path, got {type(ledger).__name__}"
        )
    path = Path(ledger).expanduser().absolute()
    with _open_lock:
        found = _open.get((kind, path))
        if found is None:
            found = _open[(kind, path)] = kind(path)
        assert isinstance(found, kind)
        return found
