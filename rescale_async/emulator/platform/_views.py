"""The platform's documents as the service writes them (PLATFORM-V2.md), dates included.

Dates differ by endpoint, as on the service: ``dateInserted`` ends in ``Z`` (microseconds),
job statuses carry ``+00:00``, cluster statuses ``Z`` with milliseconds, file dates a local
offset (``-07:00``, whole seconds), runs ``Z`` without a fraction.
"""

from __future__ import annotations

import getpass
from datetime import datetime, timedelta, timezone
from typing import Any

from ._catalogue import CORETYPES
from ._records import FileRecord, PlatformJob, StatusEntry
from ._state import PlatformState

__all__ = [
    "file_document",
    "instance_documents",
    "job_document",
    "job_summary",
    "run_document",
    "status_documents",
]

_FILE_ZONE = timezone(timedelta(hours=-7))
_CORETYPES = {core.code: core for core in CORETYPES}
_BUCKET = "rescale-platform-emulator"
_STORAGE = {
    "id": "emuStg",
    "storageType": "S3Storage",
    "encryptionType": "default",
    "connectionSettings": {"region": "us-east-1", "bucket": _BUCKET},
}


def _login() -> str:
    """The host user: SSH to an instance (``publicIp`` 127.0.0.1) would log in as it."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "rescale"


_USERNAME = _login()


def _micro_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _milli_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _second_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def file_document(record: FileRecord, root: str) -> dict[str, Any]:
    """A File; ``root`` is the API root URL its ``downloadUrl`` starts with."""
    path = f"user/{record.owner}/{record.file_id}/{record.name}"
    return {
        "id": record.file_id,
        "name": record.name,
        "typeId": record.type_id,
        "dateUploaded": record.uploaded.astimezone(_FILE_ZONE).isoformat(timespec="seconds"),
        "relativePath": record.relative_path,
        "path": path,
        "pathParts": {"container": _BUCKET, "path": path},
        "downloadUrl": f"{root}/files/{record.file_id}/contents/",
        "decryptedSize": record.size,
        "isUploaded": True,
        "isDeleted": record.deleted,
        "owner": record.owner,
        "fileChecksums": [{"hashFunction": "sha512", "fileHash": record.sha512}],
        "encodedEncryptionKey": record.encryption_key,
        "storage": _STORAGE,
        "sharedWith": [],
        "viewInBrowser": False,
    }


def _analysis_view(analysis: dict[str, Any], state: PlatformState, root: str) -> dict[str, Any]:
    inputs = []
    for item in analysis["inputFiles"]:
        record = state.files.get(item["id"])
        document = file_document(record, root) if record is not None else {"id": item["id"]}
        inputs.append({**document, "decompress": item["decompress"]})
    return {
        **analysis,
        "inputFiles": inputs,
        "preProcessScript": None,
        "postProcessScript": None,
        "templateTasks": [],
    }


def job_document(job: PlatformJob, state: PlatformState, root: str) -> dict[str, Any]:
    """A Job (``GET jobs/{id}/``): the definition as saved; no ``jobStatus`` (that is in
    ``statuses/``).
    """
    definition = job.definition
    return {
        "id": job.job_id,
        "name": definition["name"],
        "description": definition["description"],
        "owner": job.owner,
        "dateInserted": _micro_z(job.inserted),
        "projectId": definition["projectId"],
        "isLowPriority": definition["isLowPriority"],
        "jobanalyses": [_analysis_view(a, state, root) for a in definition["jobanalyses"]],
        "jobvariables": [],
        "paramFile": None,
        "caseFile": None,
        "isTemplateDryRun": False,
        "includeNominalRun": False,
        "monteCarloIterations": None,
        "archiveFilters": [],
        "resourceFilters": [],
        "cidrRule": "0.0.0.0/0",
        "publicKey": None,
        "sshPort": 22,
    }


def job_summary(job: PlatformJob, state: PlatformState) -> dict[str, Any]:
    """A JobSummary (``GET jobs/``): ``jobStatus.content`` is ``""`` before submission."""
    latest = job.statuses[-1] if job.statuses else None
    storage = sum(
        state.files[file_id].size
        for file_id in job.outputs
        if file_id in state.files and not state.files[file_id].deleted
    )
    return {
        "id": job.job_id,
        "name": job.name,
        "description": job.definition["description"],
        "dateInserted": _micro_z(job.inserted),
        "owner": job.owner,
        "projectId": job.definition["projectId"],
        "isLowPriority": job.definition["isLowPriority"],
        "jobStatus": {
            "content": job.status,
            "statusReason": latest.reason if latest else None,
            "statusDate": latest.date.isoformat() if latest else None,
        },
        "clusterStatusDisplay": {"content": job.cluster_status},
        "storage": storage,
        "analysisNames": [a["analysis"]["name"] for a in job.analyses],
        "isShared": False,
    }


def status_documents(entries: list[StatusEntry], *, cluster: bool) -> list[dict[str, Any]]:
    """Status entries newest first (as the service lists them)."""
    render = _milli_z if cluster else datetime.isoformat
    return [
        {"status": entry.status, "statusDate": render(entry.date), "statusReason": entry.reason}
        for entry in reversed(entries)
    ]


def instance_documents(job: PlatformJob) -> list[dict[str, Any]]:
    """The cluster's nodes while it is up (none before, none after): all on this host."""
    if not job.instances_up:
        return []
    hardware = job.analyses[0]["hardware"]
    core = _CORETYPES[hardware["coreType"]]
    nodes = core.nodes_per_slot(int(hardware["coresPerSlot"])) * int(hardware["slots"])
    return [
        {
            "id": f"{job.job_id}-{index}",
            "role": "MPI_MASTER" if index == 0 else "MPI_SLAVE",
            "publicIp": "127.0.0.1",
            "privateIp": "127.0.0.1",
            "publicHostname": "localhost",
            "sshPort": job.ssh_port or 22,
            "username": _USERNAME,
            "coreType": core.code,
            "cores": min(core.node_cores, int(hardware["coresPerSlot"])),
            "status": "running",
        }
        for index in range(nodes)
    ]


def run_document(job: PlatformJob, state: PlatformState) -> dict[str, Any]:
    """The job's run, with its output count and size."""
    assert job.run is not None
    outputs = [state.files[f] for f in job.outputs if f in state.files]
    return {
        "id": job.run.run_id,
        "dateStarted": _second_z(job.run.started),
        "dateCompleted": None if job.run.completed is None else _second_z(job.run.completed),
        "outputFileCount": len(outputs),
        "outputFileSize": sum(record.size for record in outputs),
        "type": "run",
        "variables": [],
        "isOptimization": False,
    }
