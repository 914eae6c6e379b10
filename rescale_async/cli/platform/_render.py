"""How the platform commands show jobs, outcomes and files (tables and JSON alike)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.filesize import decimal
from rich.text import Text

from ...platform.orchestration import DownloadedFile
from ...platform.types import (
    File,
    Job,
    JobAnalysisInfo,
    JobOutcome,
    JobStatus,
    is_success_reason,
)
from .._output import Output, dump

__all__ = [
    "downloaded_json",
    "emit_json",
    "file_table",
    "job_details",
    "outcome_json",
    "outcome_text",
    "show_downloads",
    "size_text",
    "status_text",
]

_SECRET_KEYS = frozenset({"encodedEncryptionKey"})
"""Keys whose values are secrets (a file's encryption key), masked in every JSON output."""
_MASK = "**********"

_RUNNING = {JobStatus.STARTED.value, JobStatus.VALIDATED.value, JobStatus.EXECUTING.value}


def status_text(status: str | None, reason: str | None = None) -> Text:
    """A job status, coloured by what it means: a Completed job by its reason."""
    if not status:
        return Text("")
    if status == JobStatus.COMPLETED.value:
        return Text(status, style="green" if is_success_reason(reason) else "red")
    return Text(status, style="cyan" if status in _RUNNING else "")


def outcome_text(outcome: JobOutcome) -> str:
    """``Completed (Completed successfully)``, or ``no status yet`` (not submitted)."""
    if outcome.status is None:
        return "no status yet"
    reason = f" ({outcome.reason})" if outcome.reason else ""
    return f"{outcome.status.value}{reason}"


def outcome_json(job_id: str, outcome: JobOutcome) -> dict[str, Any]:
    """A job's outcome for programs: the latest status, its reason, whether it succeeded."""
    return {
        "jobId": job_id,
        "status": None if outcome.status is None else outcome.status.value,
        "statusReason": outcome.reason,
        "statusDate": outcome.date,
        "completed": outcome.is_terminal,
        "succeeded": outcome.succeeded,
        "failureReason": outcome.failure_reason,
        "statuses": dump(list(outcome.history)),
    }


def size_text(size: int | None) -> str:
    return "" if size is None else decimal(size)


def file_table(out: Output, files: Iterable[File], *, empty: str) -> None:
    """Files as a table: id, name, path below the job's directory, size, upload date."""
    out.table(
        ["FILE ID", "NAME", "PATH", "SIZE", "UPLOADED"],
        ((f.id, f.name, f.relative_path, size_text(f.size), f.date_uploaded) for f in files),
        empty=empty,
    )


def downloaded_json(done: DownloadedFile) -> dict[str, Any]:
    return {
        "fileId": done.file.id,
        "name": done.file.name,
        "path": str(done.path),
        "size": done.size,
        "hashFunction": done.hash_function,
        "digest": done.digest,
        "verified": done.verified,
    }


def show_downloads(out: Output, files: list[DownloadedFile], *, where: str) -> None:
    """A line per downloaded file (its path and size, whether verified), then the total."""
    for done in files:
        check = f"{done.hash_function} verified" if done.verified else "no checksum to verify"
        out.line(f"  {done.path}  {size_text(done.size)}  {check}")
    total = sum(done.size for done in files)
    plural = "" if len(files) == 1 else "s"
    out.line(f"downloaded {len(files)} file{plural} ({size_text(total)}) to {where}")


def _masked(data: Any) -> Any:
    """``data`` (JSON-ready) with the values of secret keys masked, however deep."""
    if isinstance(data, dict):
        return {k: _MASK if k in _SECRET_KEYS else _masked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked(item) for item in data]
    return data


def emit_json(out: Output, data: Any) -> None:
    """``data`` as one JSON document, secrets (files' encryption keys) masked."""
    out.emit_json(_masked(dump(data)))


def _hardware(analysis: JobAnalysisInfo) -> str:
    hardware = analysis.hardware
    if hardware is None:
        return ""
    parts = [hardware.core_type or "?", f"{hardware.cores_per_slot or '?'} cores per slot"]
    if hardware.slots and hardware.slots > 1:
        parts.append(f"{hardware.slots} slots")
    if hardware.walltime:
        parts.append(f"walltime {hardware.walltime:g} h")
    return ", ".join(parts)


def job_details(job: Job, outcome: JobOutcome) -> dict[str, object]:
    """A job for people: what runs where, on which inputs, and where it stands."""
    fields: dict[str, object] = {
        "id": job.id,
        "name": job.name,
        "status": outcome_text(outcome),
        "description": job.description or None,
        "project": job.project_id,
        "created": job.date_inserted,
        "owner": job.owner,
    }
    analyses = job.jobanalyses or []
    for index, analysis in enumerate(analyses):
        prefix = f"[{index}] " if len(analyses) > 1 else ""
        software = analysis.analysis
        name = f"{software.code} {software.version}" if software else None
        inputs = ", ".join(item.name or str(item.id) for item in analysis.input_files or ())
        fields[f"{prefix}analysis"] = name
        fields[f"{prefix}command"] = analysis.command
        fields[f"{prefix}hardware"] = _hardware(analysis)
        fields[f"{prefix}inputs"] = inputs or None
    return fields
