"""The run ledger: a SQLite file that lets a program killed at any moment resume ``jobs.run``
without uploading, creating or submitting anything twice.

A run is recorded before anything is sent: its key, a fingerprint of what it runs, and the
unique marker its job will carry in its description. Each input is recorded as its upload
completes; ``creating`` is recorded before ``POST jobs/`` and the job id once known;
``submitting`` before ``POST jobs/{id}/submit/`` and ``submitted`` once answered; each output
once downloaded and verified. A re-run of the same program finds the run again and goes on
from the last step recorded: a job whose creation may have been in flight is looked for by its
marker before any second one is created; a job whose submission may have been in flight is
submitted only if its status history is still empty.

A run is known again by an explicit ``key``, or else by a fingerprint of its definition and
inputs and how many identical runs the program started before it in this process (so a program
that runs the same job twice gets two runs, on every run of the program).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TypeAlias

from ..._core.exceptions import LedgerError
from ..._core.ledger import LedgerFile, shared_ledger

__all__ = ["RecordedOutput", "RunLedger", "RunLedgerLike", "RunRecord", "Stage", "as_run_ledger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS platform_runs (
    key TEXT PRIMARY KEY,
    digest TEXT NOT NULL,            -- fingerprint of the definition and the inputs
    marker TEXT NOT NULL UNIQUE,     -- the text the job carries in its description
    job_id TEXT,                     -- the job, once its creation is known
    stage TEXT NOT NULL,             -- Stage
    updated REAL NOT NULL            -- UNIX time of the last change
);
CREATE TABLE IF NOT EXISTS platform_inputs (
    key TEXT NOT NULL,               -- the run
    position INTEGER NOT NULL,       -- the input's index in the run's inputs
    file_id TEXT NOT NULL,           -- the uploaded file
    PRIMARY KEY (key, position)
);
CREATE TABLE IF NOT EXISTS platform_outputs (
    job_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    path TEXT NOT NULL,              -- where the verified file was written
    size INTEGER NOT NULL,
    hash_function TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (job_id, file_id)
);
"""


class Stage(str, Enum):
    """How far a run got: each is recorded before the request it names is sent."""

    UPLOADING = "uploading"
    CREATING = "creating"
    CREATED = "created"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"


@dataclass
class RunRecord:
    """One run as the ledger holds it."""

    key: str
    digest: str
    marker: str
    stage: Stage = Stage.UPLOADING
    inputs: dict[int, str] = field(default_factory=dict)
    job_id: str | None = None
    updated: float = 0.0


@dataclass(frozen=True)
class RecordedOutput:
    """An output downloaded and verified by an earlier call."""

    file_id: str
    path: Path
    size: int
    hash_function: str
    digest: str


class RunLedger(LedgerFile):
    """A SQLite ledger of platform runs at ``path`` (created 0600 if absent). Pass it, or just
    the path, as ``ledger=`` to ``jobs.run`` and ``jobs.run_many``; the same path always means
    the same ``RunLedger`` within a process. The file may be an HTC ``Ledger``'s too.
    """

    schema = _SCHEMA

    def next_key(self, digest: str) -> str:
        """The key of this process's next run of ``digest``."""
        return f"run/{digest[:32]}/{self.next_ordinal(('platform run', digest))}"

    async def find(self, key: str, digest: str) -> RunRecord | None:
        """The run recorded under ``key``; LedgerError if it was a run of something else."""

        def work(db: sqlite3.Connection) -> RunRecord | None:
            row = db.execute(
                "SELECT digest, marker, job_id, stage, updated FROM platform_runs WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            recorded, marker, job_id, stage, updated = row
            if recorded != digest:
                raise LedgerError(
                    f"the ledger {self.path} holds another run under the key {key!r}: use a "
                    "new key for a different job"
                )
            inputs = db.execute(
                "SELECT position, file_id FROM platform_inputs WHERE key = ?", (key,)
            )
            uploaded = {position: file_id for position, file_id in inputs}
            return RunRecord(key, digest, marker, Stage(stage), uploaded, job_id, updated)

        return await self._run(work)

    async def begin(self, record: RunRecord) -> None:
        """Record a new run, before anything of it is sent."""
        record.updated = time.time()

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO platform_runs VALUES (?, ?, ?, NULL, ?, ?)",
                (record.key, record.digest, record.marker, record.stage.value, record.updated),
            )

        await self._run(work)

    async def record_input(self, record: RunRecord, index: int, file_id: str) -> None:
        """Record that input ``index`` was uploaded as ``file_id``."""
        record.inputs[index] = file_id

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO platform_inputs VALUES (?, ?, ?)",
                (record.key, index, file_id),
            )

        await self._run(work)

    async def record_stage(
        self, record: RunRecord, stage: Stage, job_id: str | None = None
    ) -> None:
        """Record the run's new stage (and its job, once known)."""
        record.stage = stage
        if job_id is not None:
            record.job_id = job_id
        await self._update(
            record,
            "UPDATE platform_runs SET stage = ?, job_id = ?, updated = ? WHERE key = ?",
            stage.value,
            record.job_id,
        )

    async def _update(self, record: RunRecord, statement: str, *values: object) -> None:
        """Run ``statement``, whose last two marks are the time of the change and the key."""
        record.updated = time.time()

        def work(db: sqlite3.Connection) -> None:
            db.execute(statement, (*values, record.updated, record.key))

        await self._run(work)

    async def outputs(self, job_id: str) -> dict[str, RecordedOutput]:
        """The job's outputs downloaded so far, by file id."""

        def work(db: sqlite3.Connection) -> dict[str, RecordedOutput]:
            rows = db.execute(
                "SELECT file_id, path, size, hash_function, digest FROM platform_outputs "
                "WHERE job_id = ?",
                (job_id,),
            )
            return {
                file_id: RecordedOutput(file_id, Path(path), size, function, digest)
                for file_id, path, size, function, digest in rows
            }

        return await self._run(work)

    async def record_output(self, job_id: str, output: RecordedOutput) -> None:
        """Record an output downloaded and verified."""

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO platform_outputs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    output.file_id,
                    str(output.path),
                    output.size,
                    output.hash_function,
                    output.digest,
                ),
            )

        await self._run(work)


RunLedgerLike: TypeAlias = RunLedger | str | os.PathLike[str]
"""A RunLedger, or the path of its file."""


def as_run_ledger(ledger: RunLedgerLike | None) -> RunLedger | None:
    """The process's one RunLedger for a path (so run counting spans every call)."""
    return shared_ledger(RunLedger, ledger)
