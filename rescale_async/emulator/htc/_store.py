"""SQLite persistence: every record as JSON, log lines and status events as rows.

The store is synchronous; the emulator calls it in a worker thread (``anyio.to_thread``), one
call at a time, so the event loop never waits on the disk.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Snapshot", "Store", "WriteBatch"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS logs (
    job_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL, message TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
"""


@dataclass
class WriteBatch:
    """Changes since the last write, applied in one transaction."""

    meta: dict[str, str] = field(default_factory=dict)
    upserts: list[tuple[str, str, int, str]] = field(default_factory=list)
    """(kind, id, seq, JSON)"""
    deletes: list[tuple[str, str]] = field(default_factory=list)
    logs: list[tuple[str, int, str, str]] = field(default_factory=list)
    """(job id, seq, ISO timestamp, message)"""
    events: list[tuple[str, int, str]] = field(default_factory=list)
    """(job id, seq, JSON)"""

    def __bool__(self) -> bool:
        return bool(self.meta or self.upserts or self.deletes or self.logs or self.events)


@dataclass
class Snapshot:
    """Everything a database holds, as read at start."""

    meta: dict[str, str]
    records: dict[str, list[str]]
    """kind -> JSON documents in ``seq`` order"""
    logs: list[tuple[str, str, str]]
    """(job id, ISO timestamp, message) in job, seq order"""
    events: list[tuple[str, str]]
    """(job id, JSON) in job, seq order"""


class Store:
    """One SQLite database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> Snapshot:
        """Open (creating if needed) the database and read all of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        self._db = db
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        records: dict[str, list[str]] = {}
        for kind, data in db.execute("SELECT kind, data FROM records ORDER BY kind, seq, id"):
            records.setdefault(kind, []).append(data)
        logs = db.execute("SELECT job_id, ts, message FROM logs ORDER BY job_id, seq").fetchall()
        events = db.execute("SELECT job_id, data FROM events ORDER BY job_id, seq").fetchall()
        return Snapshot(meta, records, logs, events)

    def write(self, batch: WriteBatch) -> None:
        """Apply ``batch`` atomically."""
        db = self._db
        if db is None:
            raise RuntimeError("the store is not open")
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", batch.meta.items()
            )
            db.executemany(
                "INSERT OR REPLACE INTO records (kind, id, seq, data) VALUES (?, ?, ?, ?)",
                batch.upserts,
            )
            db.executemany("DELETE FROM records WHERE kind = ? AND id = ?", batch.deletes)
            db.executemany(
                "INSERT OR REPLACE INTO logs (job_id, seq, ts, message) VALUES (?, ?, ?, ?)",
                batch.logs,
            )
            db.executemany(
                "INSERT OR REPLACE INTO events (job_id, seq, data) VALUES (?, ?, ?)", batch.events
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
