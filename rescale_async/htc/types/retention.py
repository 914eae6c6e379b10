"""Task retention policies: when inactive tasks are archived, and archived ones deleted."""

from __future__ import annotations

from pydantic import Field

from ._base import APIModel, RequestModel, UTCDateTime

__all__ = ["TaskRetentionPolicy", "TaskRetentionPolicyUpdate", "WorkspaceTaskRetentionPolicy"]


class _RetentionFields(APIModel):
    archive_after: int = Field(ge=0, description="Hours of inactivity before archiving; 0: never")
    delete_after: int = Field(ge=0, description="Hours after archiving before deletion; 0: never")


class TaskRetentionPolicyUpdate(_RetentionFields, RequestModel):
    """The body of ``PUT .../task-retention-policy`` for a project or workspace."""


class TaskRetentionPolicy(_RetentionFields):
    """A project's task retention policy (TaskRetentionPolicy)."""

    project_id: str | None = None
    created_at: UTCDateTime | None = None


class WorkspaceTaskRetentionPolicy(_RetentionFields):
    """A workspace's default task retention policy (WorkspaceTaskRetentionPolicy)."""

    workspace_id: str | None = None
    created_at: UTCDateTime | None = None
