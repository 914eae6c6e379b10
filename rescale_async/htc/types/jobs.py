"""Jobs as they run: job records, status events, status counts and log lines."""

from __future__ import annotations

from pydantic import Field

from ._base import APIModel, ListResponse, UTCDateTime
from .enums import Architecture, FailureCode, JobStatus, Region
from .submit import EnvVar, Tag

__all__ = [
    "ContainerDetails",
    "InstanceLabels",
    "Job",
    "JobExecutionEnvironment",
    "JobList",
    "JobLogList",
    "JobStatusEvent",
    "JobStatusEventList",
    "JobStatusSummary",
    "JobStatusSummaryList",
    "LogEvent",
]


class ContainerDetails(APIModel):
    """How a job's container ended (ContainerDetails)."""

    exit_code: int | None = None
    reason: str | None = None


class InstanceLabels(APIModel):
    """Labels of the cloud instance a job ran on (InstanceLabels)."""

    account_id: str | None = None
    csp: str | None = None
    instance_architecture: str | None = None
    instance_type: str | None = None
    priority: str | None = None
    region: str | None = None


class JobExecutionEnvironment(APIModel):
    """The instance a job ran on (JobExecutionEnvironment).

    ``architecture`` is a number in the spec (its example is ``2``); a name is accepted too.
    """

    architecture: Architecture | int | None = None
    instance_id: str | None = None
    instance_type: str | None = None


class Job(APIModel):
    """One job: its definition, placement and status (HTCJob).

    ``job_uuid`` (wire ``jobUUID``) is the job id, ``{parentJobId}:{index}``; ``job_id`` and
    ``id`` are the same value.
    """

    job_uuid: str = Field(alias="jobUUID")
    project_id: str | None = None
    task_id: str | None = None
    workspace_id: str | None = None
    group: str | None = None
    status: JobStatus | None = None
    status_reason: str | None = None
    failure_code: FailureCode | None = None
    container: ContainerDetails | None = None
    image_name: str | None = None
    commands: list[str] | None = None
    envs: list[EnvVar] | None = None
    tags: list[Tag] | None = None
    architecture: Architecture | None = None
    region: Region | None = None
    max_vcpus: int | None = Field(None, alias="maxVCpus")
    min_vcpus: int | None = Field(None, alias="minVCpus")
    max_memory: int | None = None
    max_disk_gib: int | None = Field(None, alias="maxDiskGiB")
    max_gpus: int | None = None
    max_swap: int | None = None
    exec_timeout_seconds: int | None = None
    instance_id: str | None = None
    instance_labels: InstanceLabels | None = None
    job_execution_environment: JobExecutionEnvironment | None = None
    provider_job_id: str | None = None
    created_by: str | None = None
    created_at: UTCDateTime | None = None
    updated_at: UTCDateTime | None = None
    started_at: UTCDateTime | None = None
    completed_at: UTCDateTime | None = None

    @property
    def job_id(self) -> str:
        """The job's id, as used in ``.../jobs/{jobId}`` paths."""
        return self.job_uuid

    @property
    def id(self) -> str:
        """The job's id (same as ``job_id``)."""
        return self.job_uuid

    @property
    def is_terminal(self) -> bool:
        """True once the job's status can no longer change (False while it is unknown)."""
        return self.status is not None and self.status.is_terminal


class JobList(ListResponse[Job]):
    """One page of jobs (HTCJobs)."""


class JobStatusEvent(APIModel):
    """One status change of a job (RescaleJobStatusEvent; also HTCJobStatusEvent)."""

    event_id: str | None = None
    job_id: str | None = None
    status: JobStatus | None = None
    status_reason: str | None = None
    date_time: UTCDateTime | None = None
    container: ContainerDetails | None = None
    instance_id: str | None = None
    instance_labels: InstanceLabels | None = None
    user_cancelled_event: bool | None = None


class JobStatusEventList(ListResponse[JobStatusEvent]):
    """One page of a job's status events (HTCJobStatusEvents)."""


class JobStatusSummary(APIModel):
    """How many jobs of a task (or of one group) are in each status (JobStatusSummary).

    The published spec lists statuses as fields; the service sends a status -> count map.
    """

    group: str | None = None
    job_statuses: dict[JobStatus, int] | None = None

    @property
    def total(self) -> int:
        """The number of jobs counted."""
        return sum((self.job_statuses or {}).values())


class JobStatusSummaryList(ListResponse[JobStatusSummary]):
    """One page of per-group status counts (``GET .../group-summary-statistics``)."""


class LogEvent(APIModel):
    """One line of a job's log (HTCLogEvent); either part may be missing from a response."""

    timestamp: UTCDateTime | None = None
    message: str | None = None


class JobLogList(ListResponse[LogEvent]):
    """One page of a job's log lines, newest first unless asked otherwise (HTCJobLogs)."""
