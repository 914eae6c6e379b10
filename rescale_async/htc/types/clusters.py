"""GCP clusters that run a workspace's jobs."""

from __future__ import annotations

from ._base import APIModel
from .enums import AutoscalingProfile, Region

__all__ = ["AutoscalingConfig", "Cluster", "ClusterStatusReport", "NodePool"]


class AutoscalingConfig(APIModel):
    """A node pool's autoscaling bounds (AutoscalingConfig)."""

    enabled: bool | None = None
    min_node_count: int | None = None
    max_node_count: int | None = None


class NodePool(APIModel):
    """A pool of identical nodes in a cluster (HTCNodePool)."""

    name: str | None = None
    instance_type: str | None = None
    status: str | None = None
    version: str | None = None
    autoscaling: AutoscalingConfig | None = None


class Cluster(APIModel):
    """A GCP cluster and its node pools (HTCCluster)."""

    name: str | None = None
    region: Region | None = None
    status: str | None = None
    version: str | None = None
    subnetwork: str | None = None
    autoscaling: AutoscalingProfile | None = None
    node_pools: list[NodePool] | None = None


class ClusterStatusReport(APIModel):
    """A workspace's GCP clusters (HTCClusterStatusResponse)."""

    gcp_project_id: str | None = None
    clusters: list[Cluster] | None = None
