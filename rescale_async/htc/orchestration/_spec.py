"""``JobSpec``: a friendly description of one job, checked by the API's own request models."""

from __future__ import annotations

import shlex
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ..types import Architecture, JobPriority, JobSubmitRequest, Region

__all__ = ["JobSpec"]

# Where each JobSpec field lands in the request, for error messages in JobSpec's own terms.
_REQUEST_FIELDS = {
    ("htc_job_definition", "image_name"): "image",
    ("htc_job_definition", "commands"): "commands",
    ("htc_job_definition", "envs"): "env",
    ("htc_job_definition", "max_vcpus"): "vcpus",
    ("htc_job_definition", "max_memory"): "memory_mib",
    ("htc_job_definition", "max_disk_gib"): "disk_gib",
    ("htc_job_definition", "exec_timeout_seconds"): "timeout",
    ("htc_job_definition", "architecture"): "architecture",
    ("htc_job_definition", "priority"): "priority",
    ("htc_job_definition", "tags"): "tags",
    ("htc_job_definition", "claims"): "claims",
    ("htc_job_definition", "working_dir"): "working_dir",
    ("retry_strategy", "max_retries"): "retries",
    ("regions",): "region",
    ("batch_size",): "count",
}


class JobSpec(BaseModel):
    """One job: what runs (``image``, ``commands``, ``env``) and on what resources.

    ``commands`` is an argv list (a string is split like a shell would, but never run by
    one); ``timeout`` is seconds or a ``timedelta``; ``claims`` end up in the job's JWT as
    ``userDefined_<name>``; ``retries`` is the service's retry strategy (0..10). Every limit
    of the API (vCPUs 1..64, memory 4..235520 MiB, timeout 60 s..14 days, reserved variable
    names, ...) is checked when the spec is made, with the message naming this spec's field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    image: str
    commands: list[str] | str | None = None
    """An argv list; a string is split like a shell would (and never run by one)."""
    env: dict[str, str] = {}
    vcpus: int | None = None
    memory_mib: int | None = None
    disk_gib: int | None = None
    timeout: float | timedelta | None = None
    """Seconds, or a timedelta (stored as seconds)."""
    architecture: Architecture | None = None
    priority: JobPriority | None = None
    tags: dict[str, str] = {}
    claims: dict[str, str] = {}
    retries: int | None = None
    region: Region | list[Region] | None = None
    working_dir: str | None = None

    @field_validator("commands", mode="before")
    @classmethod
    def _split_command_line(cls, value: Any) -> Any:
        return shlex.split(value) if isinstance(value, str) else value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout_seconds(cls, value: Any) -> Any:
        return value.total_seconds() if isinstance(value, timedelta) else value

    @model_validator(mode="after")
    def _valid_for_the_api(self) -> JobSpec:
        try:
            self.to_request()
        except ValidationError as exc:
            problems = []
            for error in exc.errors(include_url=False):
                loc = tuple(str(part) for part in error["loc"])
                field = next(
                    (name for path, name in _REQUEST_FIELDS.items() if loc[: len(path)] == path),
                    ".".join(loc),
                )
                message = error["msg"].removeprefix("Value error, ")
                if error["type"] == "string_pattern_mismatch" and field == "image":
                    message = f"{self.image!r} is not an image reference like repo/name:tag"
                problems.append(f"{field}: {message}")
            raise ValueError("; ".join(problems)) from None
        return self

    def to_request(self, count: int = 1) -> JobSubmitRequest:
        """The ``POST .../jobs/batch`` element that runs ``count`` copies of this job."""
        timeout = (
            self.timeout.total_seconds() if isinstance(self.timeout, timedelta) else self.timeout
        )
        if timeout is not None and timeout != int(timeout):
            raise ValueError(f"timeout must be whole seconds, got {timeout}")
        regions = [self.region] if isinstance(self.region, str) else self.region
        definition: dict[str, Any] = {
            "image_name": self.image,
            "commands": self.commands,
            "envs": [{"name": k, "value": v} for k, v in self.env.items()] or None,
            "max_vcpus": self.vcpus,
            "max_memory": self.memory_mib,
            "max_disk_gib": self.disk_gib,
            "exec_timeout_seconds": None if timeout is None else int(timeout),
            "architecture": self.architecture,
            "priority": self.priority,
            "tags": self.tags or None,
            "claims": [{"name": k, "value": v} for k, v in self.claims.items()] or None,
            "working_dir": self.working_dir,
        }
        request: dict[str, Any] = {
            "htc_job_definition": {k: v for k, v in definition.items() if v is not None},
            "batch_size": count,
        }
        if self.retries is not None:
            request["retry_strategy"] = {"max_retries": self.retries}
        if regions:
            request["regions"] = regions
        return JobSubmitRequest.model_validate(request)
