"""Compute environments ("dimensions"): the machine types a project or workspace may use."""

from __future__ import annotations

from typing import TypeAlias

from pydantic import Field

from ._base import APIModel, RequestModel
from .enums import Architecture, AutoscalingProfile, JobPriority, Region

__all__ = [
    "ComputeEnvironment",
    "ComputeEnvironmentSpec",
    "DerivedComputeAttributes",
    "ProjectDimensions",
    "WorkspaceDimensions",
]


class DerivedComputeAttributes(APIModel):
    """What a machine type provides: architecture, memory, vCPUs (DerivedComputeAttributes)."""

    architecture: Architecture | None = None
    memory: float | None = None
    swap: bool | None = None
    v_cpus: int | None = Field(None, alias="vCPUs")


class _ComputeEnvironmentFields(APIModel):
    machine_type: str | None = None
    region: Region | None = None
    priority: JobPriority | None = None
    hyperthreading: bool | None = None
    compute_scaling_policy: AutoscalingProfile | None = None


class ComputeEnvironmentSpec(_ComputeEnvironmentFields, RequestModel):
    """One element of the ``PUT .../dimensions`` body (HTCComputeEnvironment, no ``derived``)."""


class ComputeEnvironment(_ComputeEnvironmentFields):
    """A machine type allowed in a region, and what it provides (HTCComputeEnvironment)."""

    derived: DerivedComputeAttributes | None = None


ProjectDimensions: TypeAlias = list[ComputeEnvironment]
"""A project's compute environments (HTCProjectDimensions)."""

WorkspaceDimensions: TypeAlias = list[ComputeEnvironment]
"""A workspace's compute environments (HTCWorkspaceDimensions)."""
