"""Records as the API shows them, built with the SDK's models (``.to_api()``: camelCase JSON).

Nullable fields the service sends as ``null`` are passed explicitly; fields the schema does
not allow to be null are left out when empty.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ...htc.types import (
    Architecture,
    ComputeEnvironment,
    ContainerDetails,
    DerivedComputeAttributes,
    EnvVar,
    InstanceLabels,
    Job,
    JobStatus,
    LifecycleStatus,
    Project,
    ProjectLimit,
    Region,
    RegionComputeSettings,
    RegionSettings,
    RegionStorageSettings,
    StorageAccessToken,
    Tag,
    Task,
)
from .._config import EmulatorConfig
from ._records import JobRecord, LimitRecord, LogLine, ProjectRecord, TaskRecord, now
from ._state import ALWAYS_COUNTED

__all__ = [
    "MACHINE_TYPES",
    "dimension",
    "job_view",
    "limit_view",
    "log_page",
    "project_view",
    "provider_of",
    "status_counts",
    "storage_token",
    "task_view",
    "workspace_dimensions",
]

MACHINE_TYPES: dict[str, tuple[str, int, float]] = {
    "c5.2xlarge": ("X86", 8, 16384.0),
    "c5.9xlarge": ("X86", 36, 73728.0),
    "c6g.2xlarge": ("AARCH64", 8, 16384.0),
    "p4d.24xlarge": ("A100", 96, 1179648.0),
    "t2d-standard-16": ("X86", 16, 65536.0),
    "t2a-standard-16": ("AARCH64", 16, 65536.0),
    "a2-highgpu-1g": ("A100", 12, 87040.0),
}
"""Machine types the emulator knows: architecture, vCPUs, memory (MiB)."""


def provider_of(region: str) -> str:
    """The cloud provider of a region name (``AWS_US_EAST_2`` -> ``AWS``)."""
    prefix = region.split("_", 1)[0]
    return prefix if prefix in {"AWS", "GCP", "AZURE", "NGC", "RC", "COREWEAVE"} else "UNASSIGNED"


def project_view(
    project: ProjectRecord, registry_url: str, config: EmulatorConfig
) -> dict[str, Any]:
    settings = [
        RegionSettings(
            compute_settings=RegionComputeSettings(compute_region=Region(region)),
            storage_settings=RegionStorageSettings(storage_region=Region(region)),
        )
        for region in project.regions
    ]
    model = Project(
        project_id=project.project_id,
        project_name=project.name,
        project_description=project.description,
        regions=[Region(region) for region in project.regions],
        region_settings=settings,
        workspace_id=config.workspace_id,
        organization_code=config.organization_code,
        container_registry=registry_url,
        project_folder_path=f"projects/{project.project_id}/",
        repositories=list(project.repositories),
        created_at=project.created_at,
        created_by=project.created_by,
    )
    return model.to_api()


def task_view(
    task: TaskRecord, config: EmulatorConfig, *, deletion: bool = False
) -> dict[str, Any]:
    """A task (HTCTask). The DELETE response's schema does not allow null timestamps, so
    ``deletion`` leaves unset ones out.
    """
    fields: dict[str, Any] = {
        "task_id": task.task_id,
        "project_id": task.project_id,
        "task_name": task.name,
        "task_description": task.description,
        "workspace_id": config.workspace_id,
        "lifecycle_status": LifecycleStatus(task.lifecycle),
        "task_folder_path": f"projects/{task.project_id}/tasks/{task.task_id}",
        "created_at": task.created_at,
        "created_by": task.created_by,
        "last_active_at": task.last_active_at,
        "archived_at": task.archived_at,
        "deleted_at": task.deleted_at,
    }
    if deletion:
        fields = {k: v for k, v in fields.items() if v is not None}
    return Task.model_validate(fields).to_api()


def job_view(job: JobRecord, *, full: bool = True) -> dict[str, Any]:
    """A job as the API shows it now (its published view). ``full=False``: viewType SIMPLE."""
    view = job.visible
    definition = job.definition
    fields: dict[str, Any] = {
        "job_uuid": job.job_id,
        "project_id": job.project_id,
        "task_id": job.task_id,
        "workspace_id": job.workspace_id,
        "group": job.group,
        "status": JobStatus(view.status),
        "status_reason": view.status_reason,
        "created_at": job.created_at,
        "created_by": job.created_by,
        "updated_at": view.updated_at,
        "started_at": view.started_at,
        "completed_at": view.completed_at,
        "region": job.region,
    }
    if view.failure_code is not None:
        fields["failure_code"] = view.failure_code
    if view.exit_code is not None or view.container_reason is not None:
        container = ContainerDetails()
        if view.exit_code is not None:
            container.exit_code = view.exit_code
        if view.container_reason is not None:
            container.reason = view.container_reason
        fields["container"] = container
    if full:
        architecture = str(definition.architecture) if definition.architecture else "X86"
        fields.update(
            image_name=definition.image_name,
            commands=list(definition.commands or []),
            envs=[EnvVar(name=e.name, value=e.value) for e in definition.envs or ()],
            tags=[Tag(key=k, value=v) for k, v in (definition.tags or {}).items()],
            architecture=architecture,
            max_vcpus=job.vcpus,
            min_vcpus=job.vcpus,
            max_memory=definition.max_memory if definition.max_memory is not None else 4000,
            max_disk_gib=definition.max_disk_gib if definition.max_disk_gib is not None else 0,
            max_swap=definition.max_swap,
            max_gpus=1 if architecture == Architecture.A100 else None,
            exec_timeout_seconds=definition.exec_timeout_seconds,
            instance_id=view.instance_id,
        )
        if fields["exec_timeout_seconds"] is None:
            del fields["exec_timeout_seconds"]
        if view.provider_job_id is not None:
            fields["provider_job_id"] = view.provider_job_id
        if view.instance_id is not None:
            fields["instance_labels"] = InstanceLabels(
                account_id="000000000000",
                csp=provider_of(job.region),
                instance_architecture=architecture,
                instance_type="emulator.local",
                priority=job.priority or "ON_DEMAND_PRIORITY",
                region=job.region,
            )
    return Job.model_validate(fields).to_api()


def log_page(lines: Sequence[LogLine], positions: range, next_link: str | None) -> bytes:
    """A page of log lines as JSON (``page_body`` of their ``LogEvent.to_api()``), joined from
    the lines' pre-rendered JSON: a page holds up to 10,000 of them.
    """
    items = b",".join(lines[i].rendered for i in positions)
    link = b"" if next_link is None else b',"next":' + json.dumps(next_link).encode()
    return b'{"items":[' + items + b"]" + link + b"}"


def status_counts(jobs: Iterable[JobRecord]) -> dict[str, int]:
    """``jobStatuses`` of a summary: published status -> count, the usual ones always listed."""
    counts = Counter(job.visible.status for job in jobs)
    result = {str(status): 0 for status in ALWAYS_COUNTED}
    for status, count in counts.items():
        result[status] = count
    return result


def limit_view(limit: LimitRecord, config: EmulatorConfig) -> dict[str, Any]:
    return ProjectLimit.model_validate(
        {
            "id": limit.id,
            "project_id": limit.project_id,
            "workspace_id": config.workspace_id,
            "v_cpus": limit.vcpus,
            "modifier_role": limit.modifier_role,
            "created_at": limit.created_at,
            "created_by": limit.created_by,
            "updated_at": limit.updated_at,
            "updated_by": limit.updated_by,
        }
    ).to_api()


def dimension(spec: dict[str, Any]) -> dict[str, Any]:
    """A compute environment with its ``derived`` attributes filled from the machine type."""
    environment = ComputeEnvironment.model_validate(spec)
    known = MACHINE_TYPES.get(environment.machine_type or "")
    if known is not None:
        architecture, vcpus, memory = known
        environment.derived = DerivedComputeAttributes(
            architecture=Architecture(architecture),
            v_cpus=vcpus,
            memory=memory,
            swap=False,
        )
    return environment.to_api()


def workspace_dimensions(regions: Iterable[str]) -> list[dict[str, Any]]:
    """The compute environments the workspace offers in its regions."""
    result: list[dict[str, Any]] = []
    for region in regions:
        machines = (
            ("t2d-standard-16", "t2a-standard-16")
            if region.startswith("GCP")
            else ("c5.2xlarge", "c6g.2xlarge")
        )
        for machine in machines:
            for priority in ("ON_DEMAND_PRIORITY", "ON_DEMAND_ECONOMY"):
                result.append(
                    dimension(
                        {
                            "machineType": machine,
                            "region": region,
                            "priority": priority,
                            "hyperthreading": True,
                            "computeScalingPolicy": "BALANCED",
                        }
                    )
                )
    return result


def storage_token(
    project: ProjectRecord, region: str, config: EmulatorConfig, task_id: str | None = None
) -> dict[str, Any]:
    """Temporary (fictitious) storage credentials for a project or task in ``region``."""
    bucket = f"emulator-storage-{region.lower().replace('_', '-')}"
    path = f"s3://{bucket}/projects/{project.project_id}/shared/"
    if task_id is not None:
        path = f"s3://{bucket}/projects/{project.project_id}/tasks/{task_id}/"
    return StorageAccessToken.model_validate(
        {
            "provider": provider_of(region),
            "region": region,
            "storage_name": bucket,
            "project_id": project.project_id,
            "project_shared_storage_path": path,
            "user": f"000000000000:{config.user_id}",
            "credentials": {
                "AWS_ACCESS_KEY_ID": "EMULATORACCESSKEY",
                "AWS_SECRET_ACCESS_KEY": "emulator-secret-access-key",
                "AWS_SESSION_TOKEN": "emulator-session-token",
            },
            "expiration": now() + timedelta(hours=1),
        }
    ).to_api()


def expires(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)
