"""The platform emulator's state: the user, projects, files, jobs, statuses; counts for tests.

Everything runs on the emulator's event loop, so mutations need no locks. Tests read it as
``emu.platform`` (``jobs``, ``files``, ``jobs_created``, ``submissions``...), add files with
``await emu.platform.add_file(...)`` and wait for a job with ``await emu.platform.wait_for``.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import anyio

from .._config import EmulatorConfig
from ._errors import not_found
from ._files import FileStore
from ._records import (
    COMPLETED,
    INPUT_FILE,
    FileRecord,
    PlatformJob,
    StatusEntry,
    now,
)
from ._throttle import Throttles

__all__ = ["PlatformState"]

_ID_ALPHABET = string.ascii_letters
_ID_LENGTH = 6


class PlatformState:
    """All emulated platform resources of the configured user."""

    def __init__(
        self,
        config: EmulatorConfig,
        root: Path,
        api_keys: Callable[[], Iterable[str]],
    ) -> None:
        self.config = config
        self.settings = config.platform
        self.root = root
        """Where the platform keeps its bytes: ``files/`` (uploads) and ``jobs/`` (jobs)."""
        self._api_keys = api_keys
        self._rng = random.Random(  # noqa: S311 - ids, not secrets
            None if config.seed is None else f"platform-{config.seed}"
        )
        self.store = FileStore(root / "files")
        self.files: dict[str, FileRecord] = {}
        """Every file, deleted ones included (``deleted``), in upload order."""
        self.jobs: dict[str, PlatformJob] = {}
        """Every job not deleted, in creation order."""
        self.job_keys: dict[str, str] = {}
        """Job-scoped API keys of running jobs -> their job id."""
        self.projects: list[dict[str, Any]] = [
            {"id": self.new_id(), "name": name} for name in self.settings.projects
        ]
        self.throttles = Throttles(self.settings.rate_limits)
        """The scopes' rate limits, changeable at runtime (``set(scope, ScopeLimit | None)``)."""
        self.jobs_created = 0
        """Jobs created by ``POST jobs/`` (including deleted ones)."""
        self.submissions = 0
        """``POST jobs/{id}/submit/`` calls that started a job."""
        self.duplicate_submissions = 0
        """``POST jobs/{id}/submit/`` calls for a job already submitted (no effect)."""
        self.changed = anyio.Event()
        """Set (and replaced) whenever a job's or a cluster's status changes."""
        self.public_key: str | None = self.settings.ssh_public_key
        """The OpenSSH public key registered in the user profile (jobs' SSH servers accept
        its private key); changeable at runtime."""

    # ------------------------------------------------------------------ identity

    def new_id(self) -> str:
        """A new short, case-sensitive id such as ``ObMcJc``."""
        taken = self.files.keys() | self.jobs.keys()
        while True:
            candidate = "".join(self._rng.choices(_ID_ALPHABET, k=_ID_LENGTH))
            if candidate not in taken:
                return candidate

    def accepts(self, key: str) -> bool:
        """Whether ``key`` is an API key of the user (or of one of its running jobs)."""
        return key in self.job_keys or key in set(self._api_keys())

    @property
    def owner(self) -> str:
        return self.config.user_email

    def user_document(self) -> dict[str, Any]:
        """``GET users/me/``."""
        c = self.config
        first, _, last = c.user_full_name.partition(" ")
        return {
            "id": c.user_id,
            "email": c.user_email,
            "firstName": first,
            "lastName": last,
            "fullName": c.user_full_name,
            "username": c.user_email,
            "company": {
                "code": c.organization_code,
                "name": c.workspace_name,
                "workspaceId": c.workspace_id,
            },
            "isVerified": True,
            "isStaff": False,
            "dateJoined": "2020-01-01T00:00:00Z",
            "defaultProjectId": None,
            "publicKey": self.public_key,
        }

    def project_ids(self) -> set[str]:
        return {project["id"] for project in self.projects}

    # ------------------------------------------------------------------ files

    def file(self, file_id: str) -> FileRecord:
        """The file (not deleted) with this id, or 404."""
        record = self.files.get(file_id)
        if record is None or record.deleted:
            raise not_found()
        return record

    def live_files(self) -> list[FileRecord]:
        return [record for record in self.files.values() if not record.deleted]

    def register_file(
        self,
        file_id: str,
        name: str,
        path: Path,
        size: int,
        sha512: str,
        *,
        type_id: int = INPUT_FILE,
        relative_path: str | None = None,
        job_id: str | None = None,
    ) -> FileRecord:
        """Record a file whose bytes are at ``path``."""
        record = FileRecord(
            file_id=file_id,
            name=name,
            type_id=type_id,
            path=path,
            size=size,
            sha512=sha512,
            uploaded=now(),
            relative_path=relative_path if relative_path is not None else name,
            owner=self.owner,
            encryption_key=base64.b64encode(self._rng.randbytes(32)).decode("ascii"),
            job_id=job_id,
        )
        self.files[file_id] = record
        return record

    async def add_file(
        self, name: str, content: bytes | str | Path, *, type_id: int = INPUT_FILE
    ) -> FileRecord:
        """Store a file as an upload would (``content``: bytes, text, or a local file to copy)."""
        file_id = self.new_id()
        path, size, digest = await self.store.add(file_id, name, _payload(content))
        return self.register_file(file_id, path.name, path, size, digest, type_id=type_id)

    # ------------------------------------------------------------------ jobs

    def job(self, job_id: str) -> PlatformJob:
        """The job with this id, or 404."""
        job = self.jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def add_job(self, definition: dict[str, Any]) -> PlatformJob:
        job = PlatformJob(job_id=self.new_id(), definition=definition, owner=self.owner)
        self.jobs[job.job_id] = job
        self.jobs_created += 1
        return job

    def set_status(self, job: PlatformJob, status: str, reason: str | None = None) -> None:
        job.statuses.append(StatusEntry(status, now(), reason))
        self._announce()

    def set_cluster_status(self, job: PlatformJob, status: str) -> None:
        if job.cluster is None:
            job.cluster = []
        job.cluster.append(StatusEntry(status, now()))
        self._announce()

    def _announce(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()

    async def wait_for(
        self, job_id: str, status: str = COMPLETED, *, cluster: str | None = None
    ) -> PlatformJob:
        """Wait until the job has reached ``status`` (and its cluster ``cluster``, when given).

        Bound the wait with ``anyio.fail_after``.
        """
        while True:
            job = self.jobs[job_id]
            reached = any(entry.status == status for entry in job.statuses)
            if cluster is not None:
                reached = reached and any(e.status == cluster for e in job.cluster or ())
            if reached:
                return job
            await self.changed.wait()


def _payload(content: bytes | str | Path) -> bytes | Path:
    """Text as UTF-8 bytes; bytes and paths as they are."""
    return content.encode() if isinstance(content, str) else content
