"""The ledger: a SQLite file that lets a program killed at any moment resume without losing or
duplicating a job.

Before a submission's first ``POST .../jobs/batch``, the ledger records its intent: the exact
body and the unique job ``group`` it goes to. Each answered POST is recorded with the ids it
created. A re-run of the same program asks the ledger first: a finished submission is
returned as it was, and one whose POST may have been in flight is settled by asking the API
which jobs the group holds (``GET .../jobs?group=``) before anything is resent. Watching
records each job's last seen status, so a resumed watch reports only what changed since.

A submission is known again by an explicit ``key``, or else by its task, its body and how many
identical submissions the program made before it in this run (so a program that submits the
same jobs twice gets two batches, on every run).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeAlias

from ..._core.exceptions import LedgerError
from ..._core.ledger import LedgerFile, shared_ledger
from ..types import TaskRef

__all__ = ["Ledger", "LedgerLike", "ParentJob", "Replacement", "Submission"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    key TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    grp TEXT NOT NULL,
    digest TEXT NOT NULL,
    posts TEXT NOT NULL,             -- JSON: Submission.bodies, every POST body in order
    baseline INTEGER NOT NULL,       -- jobs the group held before the first POST
    posted TEXT NOT NULL,            -- JSON: Submission.answers, [[parent id, batch size], ...]
    updated REAL NOT NULL            -- UNIX time of the last change (the intent, or a POST)
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    status TEXT,
    failure_code TEXT
);
CREATE TABLE IF NOT EXISTS replacements (  -- added in place: older ledgers gain it unchanged
    job_id TEXT PRIMARY KEY,         -- the resubmitted job
    replaced TEXT NOT NULL,          -- the failed job it replaced
    spec_index INTEGER NOT NULL,     -- the index of the spec both ran in their batch
    attempt INTEGER NOT NULL         -- 2 for the first resubmission, and so on
);
"""

_CHUNK = 500  # ids per SQL IN (...) query


class ParentJob(NamedTuple):
    """What one submit request created: its parent job id and how many jobs
    (``{parent_id}:0`` .. ``{parent_id}:{batch_size - 1}``).
    """

    parent_id: str
    batch_size: int


@dataclass
class Submission:
    """One submission as the ledger holds it: the POST bodies to send to its group, and the
    answers received so far (one list of parent jobs per answered body).
    """

    key: str
    task: TaskRef
    group: str
    bodies: list[list[dict[str, Any]]]
    baseline: int
    answers: list[list[ParentJob]] = field(default_factory=list)
    updated: float = 0.0

    @property
    def done(self) -> bool:
        """True once every body was answered."""
        return len(self.answers) == len(self.bodies)


def digest_of(bodies: Sequence[Sequence[dict[str, Any]]]) -> str:
    """A stable fingerprint of what a submission sends."""
    text = json.dumps(bodies, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Ledger(LedgerFile):
    """A SQLite ledger at ``path`` (created 0600 if absent). Pass it, or just the path, as
    ``ledger=`` to ``submit``, ``submit_many``, ``watch`` and ``wait``; the same path always
    means the same ``Ledger`` within a process.
    """

    schema = _SCHEMA

    # ------------------------------------------------------------------ submissions

    def next_key(self, task: TaskRef, digest: str) -> str:
        """The key of this run's next submission of ``digest`` to ``task``."""
        ordinal = self.next_ordinal((task.project_id, task.task_id, digest))
        return f"{task.project_id}/{task.task_id}/{digest[:32]}/{ordinal}"

    async def find(self, key: str, digest: str) -> Submission | None:
        """The submission recorded under ``key``; LedgerError if it was for other jobs."""

        def work(db: sqlite3.Connection) -> Submission | None:
            row = db.execute(
                "SELECT project_id, task_id, grp, digest, posts, baseline, posted, updated "
                "FROM submissions WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            project_id, task_id, group, recorded, bodies, baseline, answers, updated = row
            if recorded != digest:
                raise LedgerError(
                    f"the ledger {self.path} holds other jobs under the key {key!r}: "
                    "use a new key for a different submission"
                )
            return Submission(
                key=key,
                task=TaskRef(project_id, task_id),
                group=group,
                bodies=json.loads(bodies),
                baseline=baseline,
                answers=[[ParentJob(p, n) for p, n in answer] for answer in json.loads(answers)],
                updated=updated,
            )

        return await self._run(work)

    async def record_intent(self, submission: Submission, digest: str) -> None:
        """Record a submission before its first POST is sent."""
        submission.updated = time.time()

        def work(db: sqlite3.Connection) -> None:
            taken = db.execute(
                "SELECT key FROM submissions WHERE project_id = ? AND task_id = ? AND grp = ?",
                (*submission.task, submission.group),
            ).fetchone()
            if taken is not None:
                raise LedgerError(
                    f"the group {submission.group!r} already belongs to the submission "
                    f"{taken[0]!r} of this ledger; each submission needs a group of its own"
                )
            db.execute(
                "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?)",
                (
                    submission.key,
                    *submission.task,
                    submission.group,
                    digest,
                    json.dumps(submission.bodies, separators=(",", ":")),
                    submission.baseline,
                    submission.updated,
                ),
            )

        await self._run(work)

    async def record_answer(self, submission: Submission, parents: list[ParentJob]) -> None:
        """Record what one POST created; once all are answered, the jobs themselves."""
        submission.answers.append(parents)
        submission.updated = time.time()
        answered = json.dumps(submission.answers, separators=(",", ":"))
        jobs = [(job_id, *submission.task) for job_id in job_ids_of(parents)]

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE submissions SET posted = ?, updated = ? WHERE key = ?",
                (answered, submission.updated, submission.key),
            )
            db.executemany(
                "INSERT OR IGNORE INTO jobs (job_id, project_id, task_id) VALUES (?, ?, ?)", jobs
            )

        await self._run(work)

    # ------------------------------------------------------------------ job states

    async def job_states(self, job_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """The last recorded status (and failure code) of those jobs that have one."""
        wanted = list(job_ids)

        def work(db: sqlite3.Connection) -> dict[str, tuple[str, str | None]]:
            found: dict[str, tuple[str, str | None]] = {}
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                query = (
                    "SELECT job_id, status, failure_code FROM jobs "  # noqa: S608 - only "?" marks
                    f"WHERE status IS NOT NULL AND job_id IN ({marks})"
                )
                for job_id, status, failure_code in db.execute(query, chunk):
                    found[job_id] = (status, failure_code)
            return found

        return await self._run(work)

    async def record_states(self, rows: Sequence[tuple[TaskRef, str, str, str | None]]) -> None:
        """Record jobs' statuses: ``(task, job id, status, failure code)`` rows."""
        if not rows:
            return
        values = [(job_id, *task, status, code) for task, job_id, status, code in rows]

        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO jobs (job_id, project_id, task_id, status, failure_code) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET "
                "status = excluded.status, failure_code = excluded.failure_code",
                values,
            )

        await self._run(work)

    # ------------------------------------------------------------------ resubmissions

    async def record_replacements(self, rows: Sequence[Replacement]) -> None:
        """Record which job replaced which (a re-run records the same rows again, harmlessly)."""
        values = [tuple(row) for row in rows]

        def work(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO replacements VALUES (?, ?, ?, ?)", values)

        if values:
            await self._run(work)

    async def replacements(self, job_ids: Iterable[str]) -> dict[str, Replacement]:
        """The recorded replacement rows of those of ``job_ids`` that replaced a job."""
        wanted = list(job_ids)

        def work(db: sqlite3.Connection) -> dict[str, Replacement]:
            found: dict[str, Replacement] = {}
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT * FROM replacements WHERE job_id IN ({marks})"  # noqa: S608
                for row in db.execute(query, chunk):
                    found[row[0]] = Replacement(*row)
            return found

        return await self._run(work)


class Replacement(NamedTuple):
    """A resubmitted job, the failed job it replaced, the spec index and the attempt number."""

    job_id: str
    replaced: str
    spec_index: int
    attempt: int


def job_ids_of(parents: Iterable[ParentJob]) -> list[str]:
    """The ids of the jobs that ``(parent id, batch size)`` submissions created."""
    return [f"{parent}:{index}" for parent, size in parents for index in range(size)]


LedgerLike: TypeAlias = Ledger | str | os.PathLike[str]
"""A Ledger, or the path of its file."""


def as_ledger(ledger: LedgerLike | None) -> Ledger | None:
    """The process's one Ledger for a path (so submission counting spans every call)."""
    return shared_ledger(Ledger, ledger)
