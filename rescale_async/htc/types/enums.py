"""The API's enumerations. All are open: a value the SDK does not know yet still parses."""

from __future__ import annotations

from ._base import OpenEnum

__all__ = [
    "TERMINAL_JOB_STATUSES",
    "Architecture",
    "AutoscalingProfile",
    "CloudProvider",
    "FailureCode",
    "ImageState",
    "JobPriority",
    "JobStatus",
    "LifecycleStatus",
    "ModifierRole",
    "Region",
    "ResourceStatus",
    "SupportedRegion",
    "ViewType",
]


class Architecture(OpenEnum):
    """A CPU/accelerator architecture a job can ask for (Architecture)."""

    AARCH64 = "AARCH64"
    X86 = "X86"
    A100 = "A100"


class AutoscalingProfile(OpenEnum):
    """How a GCP cluster scales down (AutoscalingProfile)."""

    PROFILE_UNSPECIFIED = "PROFILE_UNSPECIFIED"
    OPTIMIZE_UTILIZATION = "OPTIMIZE_UTILIZATION"
    BALANCED = "BALANCED"
    UNRECOGNIZED = "UNRECOGNIZED"


class CloudProvider(OpenEnum):
    """A cloud service provider (CloudProvider)."""

    AWS = "AWS"
    GCP = "GCP"
    NGC = "NGC"
    AZURE = "AZURE"
    RC = "RC"
    COREWEAVE = "COREWEAVE"
    UNASSIGNED = "UNASSIGNED"


class FailureCode(OpenEnum):
    """Why a job failed (HTCJobErrorCodeName)."""

    ErrorUnknownFailure = "ErrorUnknownFailure"
    ErrorTimeout = "ErrorTimeout"
    ErrorNotEnoughMemory = "ErrorNotEnoughMemory"
    ErrorNonZeroContainerExitCode = "ErrorNonZeroContainerExitCode"
    ErrorCostExceeded = "ErrorCostExceeded"
    ErrorInfrastructureFault = "ErrorInfrastructureFault"
    ErrorInstanceTermination = "ErrorInstanceTermination"
    ErrorStartingContainer = "ErrorStartingContainer"
    ErrorProviderDown = "ErrorProviderDown"
    ErrorProviderRegionDown = "ErrorProviderRegionDown"


class ImageState(OpenEnum):
    """Whether a pushed container image can be used yet (Status)."""

    READY = "READY"
    PENDING = "PENDING"


class JobPriority(OpenEnum):
    """On-demand (priority) or spot (economy) instances (JobPriority)."""

    ON_DEMAND_PRIORITY = "ON_DEMAND_PRIORITY"
    ON_DEMAND_ECONOMY = "ON_DEMAND_ECONOMY"


class JobStatus(OpenEnum):
    """Where a job is in its life (RescaleJobStatus); see ``is_terminal``."""

    SUBMITTED_TO_RESCALE = "SUBMITTED_TO_RESCALE"
    SUBMITTED_TO_PROVIDER = "SUBMITTED_TO_PROVIDER"
    RUNNABLE = "RUNNABLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    POD_SUCCEEDED = "POD_SUCCEEDED"
    POD_FAILED = "POD_FAILED"

    @property
    def is_terminal(self) -> bool:
        """True once the job can no longer change; a status the SDK does not know is not."""
        return self in TERMINAL_JOB_STATUSES


TERMINAL_JOB_STATUSES: frozenset[JobStatus] = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.POD_SUCCEEDED, JobStatus.POD_FAILED}
)
"""The statuses a job never leaves."""


class LifecycleStatus(OpenEnum):
    """A task's lifecycle state (LifecycleStatus)."""

    DELETED = "DELETED"
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


class ModifierRole(OpenEnum):
    """The highest role allowed to change a limit (ModifierRole)."""

    WORKSPACE_ADMIN = "WORKSPACE_ADMIN"
    PROJECT_ADMIN = "PROJECT_ADMIN"


class Region(OpenEnum):
    """A Rescale compute/storage region (RescaleRegion)."""

    AWS_AP_SOUTHEAST_1 = "AWS_AP_SOUTHEAST_1"
    AWS_CA_CENTRAL_1 = "AWS_CA_CENTRAL_1"
    AWS_EU_NORTH_1 = "AWS_EU_NORTH_1"
    AWS_EU_CENTRAL_1 = "AWS_EU_CENTRAL_1"
    AWS_EU_WEST_1 = "AWS_EU_WEST_1"
    AWS_EU_WEST_2 = "AWS_EU_WEST_2"
    AWS_EU_WEST_3 = "AWS_EU_WEST_3"
    AWS_SA_EAST_1 = "AWS_SA_EAST_1"
    AWS_US_EAST_2 = "AWS_US_EAST_2"
    AWS_US_WEST_2 = "AWS_US_WEST_2"
    AWS_US_EAST_1 = "AWS_US_EAST_1"
    GCP_ASIA_SOUTHEAST_1 = "GCP_ASIA_SOUTHEAST_1"
    GCP_US_CENTRAL_1 = "GCP_US_CENTRAL_1"
    GCP_US_EAST_1 = "GCP_US_EAST_1"
    GCP_US_EAST_2 = "GCP_US_EAST_2"
    GCP_US_EAST_4 = "GCP_US_EAST_4"
    GCP_US_WEST_1 = "GCP_US_WEST_1"
    GCP_US_WEST_4 = "GCP_US_WEST_4"
    GCP_EU_WEST_1 = "GCP_EU_WEST_1"
    GCP_EU_WEST_2 = "GCP_EU_WEST_2"
    GCP_EU_WEST_3 = "GCP_EU_WEST_3"
    GCP_EU_WEST_4 = "GCP_EU_WEST_4"
    GCP_CA_CENTRAL_1 = "GCP_CA_CENTRAL_1"
    NGC_ENOCH_1 = "NGC_ENOCH_1"
    AZURE_US_WEST_2 = "AZURE_US_WEST_2"
    AZURE_US_EAST_2 = "AZURE_US_EAST_2"
    AZURE_US_SOUTHCENTRAL = "AZURE_US_SOUTHCENTRAL"
    AZURE_EU_NORTH = "AZURE_EU_NORTH"
    RC_ICELAND_1 = "RC_ICELAND_1"
    COREWEAVE_US_EAST_4 = "COREWEAVE_US_EAST_4"
    UNASSIGNED = "UNASSIGNED"


class ResourceStatus(OpenEnum):
    """The health check result of an infrastructure resource (Status1)."""

    PASS = "PASS"  # noqa: S105 - a check result, not a password
    FAIL = "FAIL"


class SupportedRegion(OpenEnum):
    """The regions the API documents as supported for HTC (SupportedRescaleRegion)."""

    AWS_AP_SOUTHEAST_1 = "AWS_AP_SOUTHEAST_1"
    AWS_CA_CENTRAL_1 = "AWS_CA_CENTRAL_1"
    AWS_EU_NORTH_1 = "AWS_EU_NORTH_1"
    AWS_EU_CENTRAL_1 = "AWS_EU_CENTRAL_1"
    AWS_EU_WEST_1 = "AWS_EU_WEST_1"
    AWS_EU_WEST_2 = "AWS_EU_WEST_2"
    AWS_EU_WEST_3 = "AWS_EU_WEST_3"
    AWS_SA_EAST_1 = "AWS_SA_EAST_1"
    AWS_US_EAST_2 = "AWS_US_EAST_2"
    AWS_US_WEST_2 = "AWS_US_WEST_2"
    AWS_US_EAST_1 = "AWS_US_EAST_1"
    GCP_ASIA_SOUTHEAST_1 = "GCP_ASIA_SOUTHEAST_1"
    GCP_US_CENTRAL_1 = "GCP_US_CENTRAL_1"
    GCP_US_EAST_1 = "GCP_US_EAST_1"
    GCP_US_EAST_2 = "GCP_US_EAST_2"
    GCP_US_EAST_4 = "GCP_US_EAST_4"
    GCP_US_WEST_1 = "GCP_US_WEST_1"
    GCP_US_WEST_4 = "GCP_US_WEST_4"
    GCP_EU_WEST_1 = "GCP_EU_WEST_1"
    GCP_EU_WEST_2 = "GCP_EU_WEST_2"
    GCP_EU_WEST_3 = "GCP_EU_WEST_3"
    GCP_EU_WEST_4 = "GCP_EU_WEST_4"
    GCP_CA_CENTRAL_1 = "GCP_CA_CENTRAL_1"
    AZURE_US_WEST_2 = "AZURE_US_WEST_2"
    AZURE_US_SOUTHCENTRAL = "AZURE_US_SOUTHCENTRAL"


class ViewType(OpenEnum):
    """How much of each job a job listing returns (ViewType)."""

    FULL = "FULL"
    SIMPLE = "SIMPLE"
