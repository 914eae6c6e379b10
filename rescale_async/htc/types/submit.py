"""Job submission: what a job runs, on what, and the batch request that starts it.

The request models check the documented limits before anything is sent. An echoed submission
is parsed tolerantly: only ``parentJobId`` must be there; a value outside the limits or a field
the service adds is kept as given, so parsing the response of a call that is not idempotent
never fails because of a descriptive field.
"""

from __future__ import annotations

import re
from typing import ClassVar, TypeAlias

from pydantic import Field, ValidationInfo, field_validator

from ._base import APIModel, RequestModel, UTCDateTime, check_strictly
from .enums import Architecture, CloudProvider, JobPriority, Region

__all__ = [
    "IMAGE_NAME_PATTERN",
    "EnvVar",
    "ExperimentalFields",
    "JobDefinition",
    "JobDefinitionBase",
    "JobSubmitRequest",
    "NameValuePair",
    "RetryStrategy",
    "SubmittedJob",
    "SubmittedJobs",
    "Tag",
]

IMAGE_NAME_PATTERN = (
    r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?::[_a-zA-Z0-9][-._a-zA-Z0-9]*)?$"
)
"""A container image reference, ``[path/]name[:tag]``; the spec's pattern, anchored as the
service (Java bean validation) applies it to the whole string."""

_RESERVED_ENV_NAMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r".*AWS_BATCH_"), "AWS Batch sets AWS_BATCH_* variables"),
    (
        re.compile(r"RESCALE_HTC_"),
        "Rescale sets RESCALE_HTC_* variables (bearer token, project, task, region) in HTC jobs",
    ),
    (
        re.compile(r"RESCALE_(?:\w+_ID\Z|PROJECT_ID|TASK_ID|JOB_ID)"),
        "Rescale sets RESCALE_*_ID variables to the job's own ids",
    ),
    (
        re.compile(r"\w*_SHARED_FOLDER\Z|PROJECT_SHARED_FOLDER|TASK_SHARED_FOLDER"),
        "Rescale sets *_SHARED_FOLDER variables to the shared storage paths",
    ),
    (
        re.compile(r"AWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)"),
        "Rescale sets the AWS credential variables",
    ),
    (re.compile(r"RDF_"), "RDF_* variables are reserved for Rescale's file agent"),
)


def _reserved_env_reason(name: str) -> str | None:
    """Why ``name`` may not be set by a job definition, or None when it may.

    The union of the spec's ``envs`` pattern (prefix matches, as the service applies it), its
    description's list and the documented families (AWS_BATCH_*, RESCALE_*_ID, RESCALE_HTC_*,
    *_SHARED_FOLDER, AWS credential names).
    """
    for pattern, reason in _RESERVED_ENV_NAMES:
        if pattern.match(name):
            return reason
    return None


class EnvVar(APIModel):
    """An environment variable set in a job's container (EnvPair); a request needs both parts."""

    name: str | None = None
    value: str | None = None


class NameValuePair(APIModel):
    """A custom claim added to the job's JWT as ``userDefined_<name>`` (NameValuePair).

    A request needs both parts.
    """

    name: str | None = None
    value: str | None = None


class _NameValueSpec(RequestModel):
    """A name/value pair as a request must send it: both parts, strings, nothing else."""

    name: str
    value: str


class Tag(APIModel):
    """A key/value tag on a job (Tag)."""

    key: str | None = None
    value: str | None = None


class ExperimentalFields(APIModel):
    """Opt-in experimental job features (ExperimentalFields)."""

    cloud_file_systems: bool | None = None
    kubernetes_swap: bool | None = None
    privileged_mode: bool | None = None
    rescale_files_rdf_agent: bool | None = Field(None, alias="rescaleFilesRDFAgent")


class RetryStrategy(APIModel):
    """How often a failed job is retried, 0..10 (HTCRetryStrategy); out of range fails it."""

    _strict_fields: ClassVar[frozenset[str]] = frozenset({"max_retries"})

    max_retries: int | None = Field(None, ge=0, le=10)


class JobDefinitionBase(APIModel):
    """A job definition as a submission echoes it back (HTCJobDefinition; unknown keys kept).

    Limits are checked on the request (``JobDefinition``), not on what comes back.
    """

    image_name: str | None = Field(None, min_length=1, pattern=IMAGE_NAME_PATTERN)
    commands: list[str] | None = None
    working_dir: str | None = None
    envs: list[EnvVar] | None = None
    claims: list[NameValuePair] | None = None
    tags: dict[str, str] | None = None
    architecture: Architecture | None = None
    priority: JobPriority | None = None
    max_vcpus: int | None = Field(None, alias="maxVCpus")
    max_memory: int | None = Field(None, description="MiB")
    max_disk_gib: int | None = Field(None, alias="maxDiskGiB", description="GiB; GCP only")
    max_swap: int | None = Field(None, description="Deprecated: has no effect")
    exec_timeout_seconds: int | None = None


class JobDefinition(JobDefinitionBase, RequestModel):
    """What a job runs and on what (HTCJobDefinition): documented limits checked, typos refused."""

    image_name: str = Field(min_length=1, pattern=IMAGE_NAME_PATTERN)
    max_vcpus: int | None = Field(None, alias="maxVCpus", ge=1, le=64)
    max_memory: int | None = Field(None, ge=4, le=235520, description="MiB")
    max_disk_gib: int | None = Field(
        None, alias="maxDiskGiB", ge=0, le=64000, description="GiB; GCP only"
    )
    max_swap: int | None = Field(None, ge=0, description="Deprecated: has no effect")
    exec_timeout_seconds: int | None = Field(None, ge=60, le=1209600)

    @field_validator("envs", "claims", mode="before")
    @classmethod
    def _complete_pairs(cls, pairs: object, info: ValidationInfo) -> object:
        return check_strictly(_NameValueSpec, pairs, str(info.field_name))

    @field_validator("envs")
    @classmethod
    def _no_reserved_names(cls, envs: list[EnvVar] | None) -> list[EnvVar] | None:
        for index, env in enumerate(envs or ()):
            reason = _reserved_env_reason(env.name or "")
            if reason is not None:
                raise ValueError(
                    f"envs[{index}].name {env.name!r} is a reserved environment variable name "
                    f"({reason}); choose another name"
                )
        return envs


class _JobSubmitFields(APIModel):
    htc_job_definition: JobDefinitionBase | None = None
    batch_size: int | None = None
    job_name: str | None = None
    cloud_provider: CloudProvider | None = None
    retry_strategy: RetryStrategy | None = None
    experimental: ExperimentalFields | None = None
    tags: list[Tag] | None = None
    rescale_project_id: str | None = None


class JobSubmitRequest(_JobSubmitFields, RequestModel):
    """One element of the ``POST .../jobs/batch`` body: ``batch_size`` copies of a job definition
    (HTCJobSubmitRequest without its read-only fields).
    """

    htc_job_definition: JobDefinition
    batch_size: int | None = Field(None, ge=1, le=1000)
    regions: list[Region] | None = None

    @field_validator("regions")
    @classmethod
    def _unique_regions(cls, regions: list[Region] | None) -> list[Region] | None:
        if regions is not None and len(set(regions)) != len(regions):
            raise ValueError(f"regions must not repeat a region, got {[str(r) for r in regions]}")
        return regions


class SubmittedJob(_JobSubmitFields):
    """One submission as the batch call returns it, with its ids filled in (HTCJobSubmitRequest).

    Its jobs are ``{parent_job_id}:{index}`` for index in ``range(batch_size)``; see ``job_ids``.
    """

    parent_job_id: str
    group: str | None = None
    rescale_time_received: UTCDateTime | None = None
    job_definition_name: str | None = None
    project_id: str | None = None
    task_id: str | None = None
    workspace_id: str | None = None
    created_by: str | None = None

    @property
    def job_ids(self) -> list[str]:
        """The ids of the jobs this submission created (a missing batch size means one)."""
        return [f"{self.parent_job_id}:{index}" for index in range(self.batch_size or 1)]


SubmittedJobs: TypeAlias = list[SubmittedJob]
"""The response of ``POST .../jobs/batch`` (HTCJobSubmitRequests)."""
