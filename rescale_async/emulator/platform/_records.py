"""What the platform emulator keeps: files, jobs with their statuses, clusters and runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio

__all__ = [
    "CLUSTER_STOPPED",
    "COMPLETED",
    "INPUT_FILE",
    "OUTPUT_FILE",
    "SUCCESS_REASON",
    "FileRecord",
    "PlatformJob",
    "RunRecord",
    "StatusEntry",
    "now",
]

INPUT_FILE = 1
OUTPUT_FILE = 5
COMPLETED = "Completed"
"""The only terminal job status (failures included: the reason tells)."""
SUCCESS_REASON = "Completed successfully"
CLUSTER_STOPPED = "Stopped"


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class FileRecord:
    """A stored file: its bytes live at ``path`` (an upload, or an output in a job's directory)."""

    file_id: str
    name: str
    type_id: int
    path: Path
    size: int
    sha512: str
    uploaded: datetime
    relative_path: str
    owner: str
    encryption_key: str
    job_id: str | None = None
    """The job that produced it (outputs)."""
    deleted: bool = False


@dataclass(frozen=True)
class StatusEntry:
    status: str
    date: datetime
    reason: str | None = None


@dataclass
class RunRecord:
    """A job's run (one per submitted job): its dates; its outputs are the job's."""

    run_id: str
    started: datetime
    completed: datetime | None = None


@dataclass(eq=False)
class PlatformJob:
    """A saved job: its validated definition, and once submitted its statuses and cluster."""

    job_id: str
    definition: dict[str, Any]
    """The normalized create body (name, description, projectId, isLowPriority, jobanalyses)."""
    owner: str
    inserted: datetime = field(default_factory=now)
    statuses: list[StatusEntry] = field(default_factory=list)
    """Oldest first."""
    cluster: list[StatusEntry] | None = None
    """Cluster statuses, oldest first; None until the cluster exists."""
    instances_up: bool = False
    run: RunRecord | None = None
    outputs: list[str] = field(default_factory=list)
    """Output file ids, in the order they were found."""
    directory: Path | None = None
    """The job's home (its ``work`` directory inside), once it has been staged."""
    key: str | None = None
    """The job-scoped API key given to its processes while it runs."""
    ssh_port: int | None = None
    """The port of its cluster's SSH server (127.0.0.1) while the job executes."""
    stop_requested: anyio.Event = field(default_factory=anyio.Event)

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    @property
    def analyses(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.definition["jobanalyses"]
        return result

    @property
    def status(self) -> str:
        """The latest job status, ``""`` before submission."""
        return self.statuses[-1].status if self.statuses else ""

    @property
    def submitted(self) -> bool:
        return bool(self.statuses)

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED

    @property
    def cluster_status(self) -> str:
        """The latest cluster status, ``""`` while there is no cluster."""
        return self.cluster[-1].status if self.cluster else ""

    @property
    def reason(self) -> str | None:
        """The reason of the latest status."""
        return self.statuses[-1].reason if self.statuses else None
