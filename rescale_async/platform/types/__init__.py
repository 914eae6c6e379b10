"""Typed models of the Rescale platform API v2: snake_case attributes, camelCase on the wire.

Response models keep fields they do not know and parse every observed date format; request
models (``JobCreate``, ``JobAnalysis``, ``Hardware``, ``InputFile``, ``AnalysisRef``,
``JobUpdate``, ``FileUpdate``) refuse unknown fields and fail before any request. Enums are
open: a value the SDK does not know parses instead of failing.
"""

from __future__ import annotations

from ._common import IdText, StatusDisplay
from .analyses import Analysis, AnalysisVersion
from .coretypes import ComputePrice, CoreType, Money
from .files import File, FileChecksum, FileLike, FileLines, FileType, FileUpdate, PathParts
from .jobs import (
    AnalysisInfo,
    AnalysisRef,
    FileTail,
    Hardware,
    HardwareInfo,
    InputFile,
    InputFileInfo,
    InstanceRole,
    Job,
    JobAnalysis,
    JobAnalysisInfo,
    JobCreate,
    JobInstance,
    JobLike,
    JobState,
    JobSummary,
    JobUpdate,
    Run,
    RunLike,
)
from .statuses import (
    FAILURE_REASONS,
    SUCCESS_REASONS,
    ClusterStatus,
    ClusterStatusEntry,
    JobOutcome,
    JobStatus,
    JobStatusEntry,
    chronological,
    is_failure_reason,
    is_success_reason,
)
from .users import Company, Project, User

__all__ = [
    "FAILURE_REASONS",
    "SUCCESS_REASONS",
    "Analysis",
    "AnalysisInfo",
    "AnalysisRef",
    "AnalysisVersion",
    "ClusterStatus",
    "ClusterStatusEntry",
    "Company",
    "ComputePrice",
    "CoreType",
    "File",
    "FileChecksum",
    "FileLike",
    "FileLines",
    "FileTail",
    "FileType",
    "FileUpdate",
    "Hardware",
    "HardwareInfo",
    "IdText",
    "InputFile",
    "InputFileInfo",
    "InstanceRole",
    "Job",
    "JobAnalysis",
    "JobAnalysisInfo",
    "JobCreate",
    "JobInstance",
    "JobLike",
    "JobOutcome",
    "JobState",
    "JobStatus",
    "JobStatusEntry",
    "JobSummary",
    "JobUpdate",
    "Money",
    "PathParts",
    "Project",
    "Run",
    "RunLike",
    "StatusDisplay",
    "User",
    "chronological",
    "is_failure_reason",
    "is_success_reason",
]
