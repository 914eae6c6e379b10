"""Task retention policies: when inactive tasks are archived, and archived ones deleted."""

from __future__ import annotations

from pydantic import Field

from ._base import APIModel, RequestModel, UTCDateTime

__all__ = ["TaskRetentionPolicy", "TaskRetentionPolicyUpdate", "WorkspaceTaskRetentionPolicy"]


_ARCHIVE_AFTER = "Hours of inactivity before archiving; 0: never"
_DELETE_AFTER = "Hours after archiving before deletion; 0: never"


class TaskRetentionPolicyUpdate(RequestModel):
    """The body of ``PUT .../task-retention-policy`` for a project or workspace."""

    archive_after: int = Field(ge=0, description=_ARCHIVE_AFTER)
    delete_after: int = Field(ge=0, description=_DELETE_AFTER)


class _RetentionFields(APIModel):
    archive_after: int | None = Field(None, description=_ARCHIVE_AFTER)
    delete_after: int | None = Field(None, description=_DELETE_AFTER)


class TaskRetentionPolicy(_RetentionFields):
    """A project's task retention policy (TaskRetentionPolicy)."""

    project_id: str | None = None
    created_at: UTCDateTime | None = None


class WorkspaceTaskRetentionPolicy(_RetentionFields):
    """A workspace's default task retention policy (WorkspaceTaskRetentionPolicy)."""

    workspace_id: str | None = None
    created_at: UTCDateTime | None = None
