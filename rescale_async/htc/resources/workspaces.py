"""``client.workspaces``: a workspace's machine types, vCPU limit, retention policy, clusters."""

from __future__ import annotations

from ..._core.pipeline import Pipeline
from ..types import (
    ClusterStatusReport,
    TaskRetentionPolicyUpdate,
    WorkspaceDimensions,
    WorkspaceLimit,
    WorkspaceTaskRetentionPolicy,
)
from ._base import APIResource, segment

__all__ = ["WorkspaceRetentionPolicyResource", "Workspaces"]


def _workspace(workspace_id: str) -> str:
    return f"htc/workspaces/{segment(workspace_id)}"


class WorkspaceRetentionPolicyResource(APIResource):
    """When a workspace's inactive tasks are archived and archived ones deleted, unless a
    project sets its own policy (``client.workspaces.retention_policy``).
    """

    async def get(self, workspace_id: str) -> WorkspaceTaskRetentionPolicy:
        """The workspace's task retention policy.

        ``GET /htc/workspaces/{workspaceId}/task-retention-policy``
        """
        return await self._call(
            "GET", f"{_workspace(workspace_id)}/task-retention-policy", WorkspaceTaskRetentionPolicy
        )

    async def set(
        self, workspace_id: str, *, archive_after: int, delete_after: int
    ) -> WorkspaceTaskRetentionPolicy:
        """Set the policy: hours of inactivity before archiving, then before deletion (0: never).

        ``PUT /htc/workspaces/{workspaceId}/task-retention-policy``
        """
        body = TaskRetentionPolicyUpdate(archive_after=archive_after, delete_after=delete_after)
        return await self._call(
            "PUT",
            f"{_workspace(workspace_id)}/task-retention-policy",
            WorkspaceTaskRetentionPolicy,
            json=body.to_api(),
        )


class Workspaces(APIResource):
    """Workspace-wide settings that every project of the workspace inherits."""

    retention_policy: WorkspaceRetentionPolicyResource

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(pipeline)
        self.retention_policy = WorkspaceRetentionPolicyResource(pipeline)

    async def dimensions(self, workspace_id: str) -> WorkspaceDimensions:
        """The machine types (compute environments) the workspace offers.

        ``GET /htc/workspaces/{workspaceId}/dimensions``
        """
        return await self._call(
            "GET", f"{_workspace(workspace_id)}/dimensions", WorkspaceDimensions
        )

    async def limits(self, workspace_id: str) -> WorkspaceLimit:
        """The workspace's vCPU limit. ``GET /htc/workspaces/{workspaceId}/limits``"""
        return await self._call("GET", f"{_workspace(workspace_id)}/limits", WorkspaceLimit)

    async def gcp_clusters(self, workspace_id: str) -> ClusterStatusReport:
        """The GCP clusters that run the workspace's jobs, with their node pools.

        ``GET /htc/gcp/clusters/{workspaceId}``
        """
        return await self._call(
            "GET", f"htc/gcp/clusters/{segment(workspace_id)}", ClusterStatusReport
        )
