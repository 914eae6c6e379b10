"""Jobs: the requests that define one (strict) and the job as the API returns it (tolerant).

``JobCreate`` fails before any request when a required part is missing (a name, an analysis
with its ``version``, a ``command``, the hardware's ``coreType`` and ``coresPerSlot``), and
``check_hardware(coretypes)`` when a ``coresPerSlot`` is not one its coretype allows.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..._core.models import APIModel, OpenEnum, RequestModel, UTCDateTime
from ._common import IdText, StatusDisplay
from .coretypes import CoreType
from .files import File

__all__ = [
    "AnalysisInfo",
    "AnalysisRef",
    "FileTail",
    "Hardware",
    "HardwareInfo",
    "InputFile",
    "InputFileInfo",
    "InstanceRole",
    "Job",
    "JobAnalysis",
    "JobAnalysisInfo",
    "JobCreate",
    "JobInstance",
    "JobLike",
    "JobState",
    "JobSummary",
    "JobUpdate",
    "Run",
    "RunLike",
]

_NOT_A_COMMAND = re.compile(r"\A(\s*(#[^\n]*)?\n?)*\Z")
"""A command of blanks and ``#`` comments only: the placeholder of an analysis whose software
another analysis' command drives."""

JobState = Literal["completed", "not_completed"]
"""The ``state`` filter of ``GET jobs/``."""


# --- requests ---------------------------------------------------------------------------------


class AnalysisRef(RequestModel):
    """The software of a JobAnalysis: an analysis ``code`` and a version's ``versionCode``
    (``{"code": "user_included", "version": "0"}`` to bring your own software).
    """

    code: str = Field(min_length=1)
    version: str = Field(min_length=1)


class Hardware(RequestModel):
    """The cluster of a JobAnalysis: ``cores_per_slot`` must be one of the coretype's
    ``cores``; ``walltime`` is in hours.
    """

    core_type: str = Field(min_length=1)
    cores_per_slot: int = Field(ge=1)
    slots: int | None = Field(default=None, ge=1)
    walltime: int | None = Field(default=None, ge=1)


class InputFile(RequestModel):
    """An uploaded file the job starts with; zips are extracted unless ``decompress`` is
    False.
    """

    id: str = Field(min_length=1)
    decompress: bool | None = None


def _as_input_file(value: object) -> object:
    """An id or a File as the ``{"id": ...}`` an InputFile is."""
    if isinstance(value, str):
        return {"id": value}
    if isinstance(value, File):
        return {"id": value.id}
    return value


class JobAnalysis(RequestModel):
    """One software tile of a job, run by ``command`` on ``hardware``. With several, the
    commands run in order, and only one needs to be real (``"# "`` for the others).
    """

    analysis: AnalysisRef
    command: str
    hardware: Hardware
    input_files: list[InputFile] | None = None
    """Ids, Files or InputFiles."""
    env_vars: dict[str, str] | None = None
    flags: dict[str, Any] | None = None
    use_rescale_license: bool | None = None
    on_demand_license_seller: Any = None
    user_defined_license_settings: Any = None

    @field_validator("input_files", mode="before")
    @classmethod
    def _input_files_from_ids(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return [_as_input_file(item) for item in value]
        return value

    @property
    def has_command(self) -> bool:
        """Whether ``command`` does something (not only blanks and ``#`` comments)."""
        return not _NOT_A_COMMAND.match(self.command)


class JobCreate(RequestModel):
    """The body of ``POST jobs/``: a ``name`` and at least one JobAnalysis, one of which has a
    real command. ``project_id`` is sent as ``projectId``; ``is_low_priority`` asks for spot.
    """

    name: str = Field(min_length=1)
    description: str | None = None
    project_id: str | None = None
    is_low_priority: bool | None = None
    jobanalyses: list[JobAnalysis] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_real_command(self) -> JobCreate:
        if not any(analysis.has_command for analysis in self.jobanalyses):
            raise ValueError(
                "no analysis has a command to run: give jobanalyses[0].command the command "
                "line (only the other analyses may hold a placeholder such as '# ')"
            )
        return self

    def check_hardware(self, coretypes: Iterable[CoreType] | Mapping[str, CoreType]) -> None:
        """Check each analysis' hardware against a coretype catalogue (``coretypes.list()``):
        a ValueError naming each unknown coretype or ``coresPerSlot`` it does not allow, and
        what is allowed instead.
        """
        catalogue = (
            dict(coretypes)
            if isinstance(coretypes, Mapping)
            else {coretype.code: coretype for coretype in coretypes}
        )
        problems = [
            problem
            for index, analysis in enumerate(self.jobanalyses)
            if (problem := _hardware_problem(index, analysis.hardware, catalogue))
        ]
        if problems:
            raise ValueError("; ".join(problems))


def _hardware_problem(index: int, hardware: Hardware, catalogue: Mapping[str, CoreType]) -> str:
    """What is wrong with ``hardware`` for the catalogue ("" when nothing is)."""
    where = f"jobanalyses[{index}].hardware"
    coretype = catalogue.get(hardware.core_type)
    if coretype is None:
        close = difflib.get_close_matches(hardware.core_type, list(catalogue), n=5)
        hint = f"did you mean {', '.join(close)}?" if close else f"{len(catalogue)} are known"
        return f"{where}.coreType: no coretype {hardware.core_type!r} ({hint})"
    if not coretype.allows(hardware.cores_per_slot):
        allowed = ", ".join(map(str, coretype.cores or ()))
        return (
            f"{where}.coresPerSlot: coretype {coretype.code!r} does not offer "
            f"{hardware.cores_per_slot} cores per slot; allowed: {allowed}"
        )
    return ""


class JobUpdate(RequestModel):
    """The body of ``PATCH jobs/{id}/``: only the fields given are changed (a Completed job
    answers 200 and changes nothing).
    """

    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    project_id: str | None = None
    is_low_priority: bool | None = None
    jobanalyses: list[JobAnalysis] | None = Field(default=None, min_length=1)


# --- responses --------------------------------------------------------------------------------


class AnalysisInfo(APIModel):
    """The software of a job's analysis, as the API returns it."""

    code: str | None = None
    version: str | None = None
    name: str | None = None


class HardwareInfo(APIModel):
    """The hardware of a job's analysis, as the API returns it."""

    core_type: str | None = None
    cores_per_slot: int | None = None
    slots: int | None = None
    walltime: float | None = None


class InputFileInfo(APIModel):
    """An input file of a job's analysis, as the API returns it."""

    id: IdText | None = None
    name: str | None = None
    decompress: bool | None = None


class JobAnalysisInfo(APIModel):
    """One software tile of a job, as the API returns it."""

    analysis: AnalysisInfo | None = None
    command: str | None = None
    hardware: HardwareInfo | None = None
    input_files: list[InputFileInfo] | None = None
    env_vars: dict[str, Any] | None = None
    flags: dict[str, Any] | None = None
    use_rescale_license: bool | None = None


class Job(APIModel):
    """A job (``GET jobs/{id}/``): its definition; its status is in ``jobs.statuses()``."""

    id: IdText
    name: str | None = None
    description: str | None = None
    project_id: str | None = None
    is_low_priority: bool | None = None
    jobanalyses: list[JobAnalysisInfo] | None = None
    date_inserted: UTCDateTime | None = None
    owner: str | None = None


class JobSummary(APIModel):
    """A job in ``GET jobs/``: ``job_status.content`` is its display status (``""`` before
    it is submitted).
    """

    id: IdText
    name: str | None = None
    date_inserted: UTCDateTime | None = None
    owner: str | None = None
    job_status: StatusDisplay | None = None
    cluster_status_display: StatusDisplay | None = None
    storage: float | None = None
    analysis_names: list[str] | None = None
    is_low_priority: bool | None = None

    @property
    def status(self) -> str | None:
        """The display status (None before submission)."""
        return (self.job_status.content if self.job_status else None) or None


JobLike = str | Job | JobSummary
"""A job id, or a job model."""


class InstanceRole(OpenEnum):
    """A cluster node's role."""

    MPI_MASTER = "MPI_MASTER"
    """The head node."""
    MPI_SLAVE = "MPI_SLAVE"


class JobInstance(APIModel):
    """A node of a running job's cluster (``GET jobs/{id}/instances/``)."""

    public_ip: str | None = None
    public_hostname: str | None = None
    private_ip: str | None = None
    ssh_port: int | None = None
    username: str | None = None
    role: InstanceRole | None = None


class Run(APIModel):
    """A run of a job (``GET jobs/{id}/runs/``); ids are ``"1"``, ``"2"``..."""

    id: IdText
    date_started: UTCDateTime | None = None
    date_completed: UTCDateTime | None = None
    output_file_count: int | None = None
    output_file_size: int | None = None


RunLike = str | int | Run
"""A run id (``"1"`` or ``1``), or a Run."""


class FileTail(APIModel):
    """The last lines of a running job's file (``GET jobs/{id}/runs/{r}/tail/{path}/``)."""

    file_type: str | None = None
    lines: list[str] = Field(default_factory=list)
