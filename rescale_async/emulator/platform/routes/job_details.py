"""What a submitted job shows: statuses, cluster statuses, instances, runs, tails, files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from starlette.responses import Response

from .._errors import bad_request, not_found
from .._records import FileRecord, PlatformJob
from .._runner import LOG_NAME
from .._views import (
    file_document,
    instance_documents,
    run_document,
    status_documents,
)
from ._base import JOB, Call, RouteSpec, json_response

__all__ = ["routes"]

TAIL_LINES = 100
"""Lines ``tail/`` returns when the request names no ``lines``."""
_TAIL_BLOCK = 64 * 1024


def routes() -> list[RouteSpec]:
    run = JOB + "runs/{runId}/"
    return [
        RouteSpec("GET", JOB + "statuses/", statuses, "jobs-usage"),
        RouteSpec("GET", JOB + "cluster_statuses/", cluster_statuses, "jobs-usage"),
        RouteSpec("GET", JOB + "instances/", instances, "jobs-usage"),
        RouteSpec("GET", JOB + "runs/", runs, "jobs-usage"),
        RouteSpec("GET", run, get_run, "jobs-usage"),
        RouteSpec("GET", run + "files/", run_files, "jobs-usage"),
        RouteSpec("GET", run + "tail/{path:path}/", tail, "jobs-usage"),
        RouteSpec("GET", JOB + "files/", job_files, "jobs-usage"),
    ]


def _job(call: Call) -> PlatformJob:
    return call.state.job(call.path("jobId"))


def _identity(document: dict[str, Any]) -> dict[str, Any]:
    return document


async def statuses(call: Call) -> Response:
    """The job's statuses, newest first (none before submission)."""
    return call.page(status_documents(_job(call).statuses, cluster=False), _identity)


async def cluster_statuses(call: Call) -> Response:
    """The cluster's statuses, newest first; 404 until the cluster exists."""
    job = _job(call)
    if job.cluster is None:
        raise not_found()
    return call.page(status_documents(job.cluster, cluster=True), _identity)


async def instances(call: Call) -> Response:
    return call.page(instance_documents(_job(call)), _identity)


async def runs(call: Call) -> Response:
    job = _job(call)
    return call.page([job] if job.run is not None else [], lambda j: run_document(j, call.state))


def _run_job(call: Call) -> PlatformJob:
    job = _job(call)
    if job.run is None or call.path("runId") != job.run.run_id:
        raise not_found()
    return job


async def get_run(call: Call) -> Response:
    return json_response(run_document(_run_job(call), call.state))


def _outputs(call: Call, job: PlatformJob) -> list[FileRecord]:
    """The job's output files, those whose name contains ``search`` (any case) when given."""
    search = call.request.query_params.get("search", "").lower()
    records = (call.state.files.get(file_id) for file_id in job.outputs)
    return [
        record
        for record in records
        if record is not None and not record.deleted and search in record.name.lower()
    ]


async def run_files(call: Call) -> Response:
    job = _run_job(call)
    return call.page(_outputs(call, job), lambda record: file_document(record, call.root))


async def job_files(call: Call) -> Response:
    """The job's output files (typeId 5), ``search`` filtering by name."""
    job = _job(call)
    return call.page(_outputs(call, job), lambda record: file_document(record, call.root))


def _last_lines(home: Path, relative: str, count: int) -> list[str]:
    """The last ``count`` lines of a file of the job whose directory is ``home``
    (``process_output.log``, or a path in ``work``), read backwards in blocks (blocking: in a
    thread). FileNotFoundError when there is no such file, or the path leads outside.
    """
    path = home / LOG_NAME if relative == LOG_NAME else home / "work" / relative
    if not path.resolve().is_relative_to(home.resolve()):
        raise FileNotFoundError(relative)
    with path.open("rb") as handle:
        end = handle.seek(0, 2)
        data = b""
        position = end
        while position > 0 and data.count(b"\n") <= count:
            step = min(_TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
    return lines[-count:] if count else []


async def tail(call: Call) -> Response:
    """The last ``lines`` lines of a file of the job's run (``process_output.log`` or a path
    in its working directory).
    """
    job = _run_job(call)
    raw = call.request.query_params.get("lines", str(TAIL_LINES))
    try:
        count = int(raw)
    except ValueError:
        raise bad_request({"lines": ["A valid integer is required."]}) from None
    if count < 0:
        raise bad_request({"lines": ["Ensure this value is greater than or equal to 0."]})
    assert job.directory is not None
    relative = call.path("path").strip("/")
    try:
        lines = await anyio.to_thread.run_sync(_last_lines, job.directory, relative, count)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise not_found() from None
    return json_response({"fileType": "text", "lines": lines})
