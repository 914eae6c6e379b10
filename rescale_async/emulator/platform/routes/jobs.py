"""Jobs: list, create, get, update, delete, submit, stop."""

from __future__ import annotations

import shutil

import anyio
from starlette.responses import Response

from .._errors import bad_request, detail
from .._records import CLUSTER_STOPPED, PlatformJob
from .._validation import check_create, check_update
from .._views import job_document, job_summary
from ._base import JOB, Call, RouteSpec, json_response

__all__ = ["JOB_STATUS_FILTERS", "routes"]

JOB_STATUS_FILTERS = {
    "PENDING": "Pending",
    "QUEUED": "Queued",
    "STARTED": "Started",
    "VALIDATED": "Validated",
    "EXECUTING": "Executing",
    "COMPLETED": "Completed",
    "STOPPING": "Stopping",
    "WAITING_FOR_CLUSTER": "Waiting for Cluster",
    "FORCE_STOP": "Force Stop",
    "WAITING_FOR_QUEUE": "Waiting for Queue",
}
"""``job_status=`` values and the display status each selects."""
_STATES = ("completed", "not_completed")
_TRUE = ("true", "True", "1")


def routes() -> list[RouteSpec]:
    return [
        RouteSpec("GET", "/jobs/", list_jobs, "jobs-usage"),
        RouteSpec("POST", "/jobs/", create_job),
        RouteSpec("GET", JOB, get_job, "jobs-usage"),
        RouteSpec("PATCH", JOB, update_job),
        RouteSpec("DELETE", JOB, delete_job),
        RouteSpec("POST", JOB + "submit/", submit_job, "job-submission"),
        RouteSpec("POST", JOB + "stop/", stop_job),
    ]


def _choice(call: Call, name: str, allowed: tuple[str, ...]) -> str | None:
    value = call.request.query_params.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise bad_request(
            {name: [f"Select a valid choice. {value} is not one of the available choices."]}
        )
    return value


async def list_jobs(call: Call) -> Response:
    """The user's jobs, newest first; ``state`` and ``job_status`` filter them."""
    state = _choice(call, "state", _STATES)
    status = _choice(call, "job_status", tuple(JOB_STATUS_FILTERS))

    def keep(job: PlatformJob) -> bool:
        if state is not None and job.completed != (state == "completed"):
            return False
        return status is None or job.status == JOB_STATUS_FILTERS[status]

    jobs = [job for job in reversed(call.state.jobs.values()) if keep(job)]
    return call.page(jobs, lambda job: job_summary(job, call.state))


async def create_job(call: Call) -> Response:
    """Save a job (it runs once submitted); 400 with field errors when the body is invalid."""
    state = call.state
    definition = check_create(await call.body(), projects=state.project_ids(), files=state.files)
    job = state.add_job(definition)
    return json_response(job_document(job, state, call.root), 201)


async def get_job(call: Call) -> Response:
    return json_response(job_document(call.state.job(call.path("jobId")), call.state, call.root))


async def update_job(call: Call) -> Response:
    """Change a saved job; a submitted job stays as it is (200 all the same, as the service)."""
    state = call.state
    job = state.job(call.path("jobId"))
    body = await call.body()
    if not job.submitted:
        job.definition = check_update(
            body, job.definition, projects=state.project_ids(), files=state.files
        )
    return json_response(job_document(job, state, call.root))


async def delete_job(call: Call) -> Response:
    """Delete a job and its outputs (``deleteInputFiles=true``: its inputs too); 400 while its
    cluster is not Stopped.
    """
    state = call.state
    job = state.job(call.path("jobId"))
    if job.submitted and (
        not job.completed or (job.cluster is not None and job.cluster_status != CLUSTER_STOPPED)
    ):
        raise detail(
            400,
            "The job cannot be deleted until its cluster is stopped "
            f"(job status: {job.status}, cluster status: {job.cluster_status or 'Not Started'}).",
        )
    del state.jobs[job.job_id]
    doomed = list(job.outputs)
    if call.request.query_params.get("deleteInputFiles") in _TRUE:
        doomed += [item["id"] for analysis in job.analyses for item in analysis["inputFiles"]]
    for file_id in doomed:
        record = state.files.get(file_id)
        if record is not None and not record.deleted:
            record.deleted = True
            if record.job_id is None:
                await state.store.remove(file_id)
    if job.directory is not None:
        await anyio.to_thread.run_sync(shutil.rmtree, job.directory, True)
    return Response(status_code=204)


async def submit_job(call: Call) -> Response:
    """Start a saved job: 200 without a body. A job already submitted stays as it is."""
    job = call.state.job(call.path("jobId"))
    if job.submitted:
        call.state.duplicate_submissions += 1
    else:
        call.runner.submit(job)
    return Response(status_code=200)


async def stop_job(call: Call) -> Response:
    """Stop a submitted job gracefully (202): SIGTERM to its command, its files kept."""
    job = call.state.job(call.path("jobId"))
    if not job.submitted:
        raise detail(400, "The job has not been submitted.")
    call.runner.stop(job)
    return Response(status_code=202)
