"""What the emulator stores: plain records (pydantic, JSON-serialisable for the database).

Records are the emulator's own shapes; ``_views`` turns them into the API's models.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ...htc.types import JobDefinitionBase, JobStatus

__all__ = [
    "QUEUED",
    "RUNNING_STATES",
    "TERMINAL",
    "JobRecord",
    "JobView",
    "LimitRecord",
    "LogLine",
    "ProjectRecord",
    "TaskRecord",
    "now",
]

TERMINAL = frozenset(
    str(s)
    for s in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.POD_SUCCEEDED, JobStatus.POD_FAILED)
)
QUEUED = frozenset({str(JobStatus.SUBMITTED_TO_PROVIDER), str(JobStatus.RUNNABLE)})
"""Admitted (counted against vCPU limits) but not started."""
RUNNING_STATES = frozenset({str(JobStatus.STARTING), str(JobStatus.RUNNING)})


def now() -> datetime:
    """The current UTC time at millisecond precision, as the service's Instants have."""
    current = datetime.now(timezone.utc)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


class _Record(BaseModel):
    model_config = ConfigDict(validate_assignment=False, extra="ignore")


class ProjectRecord(_Record):
    project_id: str
    name: str
    description: str
    regions: list[str]
    created_at: datetime
    created_by: str
    seq: int
    repositories: list[str] = Field(default_factory=list)
    images: dict[str, datetime] = Field(default_factory=dict)
    """Image name (``repo:tag``) -> when it becomes READY."""
    dimensions: list[dict[str, Any]] | None = None
    """Compute environments set by PUT (API form); None: the workspace's."""
    retention: dict[str, Any] | None = None
    """The task retention policy (API form); None: not set (GET answers 404)."""
    registry_token: str = ""


class TaskRecord(_Record):
    task_id: str
    project_id: str
    name: str
    description: str
    lifecycle: str = "ACTIVE"
    created_at: datetime
    created_by: str
    last_active_at: datetime
    archived_at: datetime | None = None
    deleted_at: datetime | None = None
    seq: int


class JobView(_Record):
    """A job's progress: the live one the runner updates, and the published snapshot."""

    status: str = str(JobStatus.SUBMITTED_TO_RESCALE)
    status_reason: str | None = None
    failure_code: str | None = None
    exit_code: int | None = None
    container_reason: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime
    instance_id: str | None = None
    provider_job_id: str | None = None
    events: int = 0
    """How many of the job's status events this view includes."""


class JobRecord(_Record):
    job_id: str
    parent_id: str
    index: int
    project_id: str
    task_id: str
    workspace_id: str
    group: str
    created_by: str
    created_at: datetime
    seq: int
    definition: JobDefinitionBase
    job_name: str | None = None
    region: str
    priority: str | None = None
    max_retries: int = 0
    attempts: int = 0
    cancel_requested: bool = False
    refresh_token: str | None = None
    live: JobView
    visible: JobView

    @property
    def vcpus(self) -> int:
        """The vCPUs the job holds while admitted (1 when the definition names none)."""
        return self.definition.max_vcpus or 1

    @property
    def is_terminal(self) -> bool:
        return self.live.status in TERMINAL


class LimitRecord(_Record):
    id: int
    project_id: str
    vcpus: int
    modifier_role: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class LogLine(NamedTuple):
    """One captured output line; its position in the job's list is its order (1-based seq).
    ``rendered`` is its JSON as a log page shows it, made once when captured, since a page
    joins up to 10,000 of them.
    """

    timestamp: datetime
    message: str
    rendered: bytes

    @classmethod
    def of(cls, timestamp: datetime, message: str) -> LogLine:
        """The line captured at ``timestamp``, rendered as ``LogEvent.to_api()`` renders it."""
        stamp = timestamp.isoformat().replace("+00:00", "Z")
        view = {"timestamp": stamp, "message": message}
        return cls(
            timestamp, message, json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode()
        )
