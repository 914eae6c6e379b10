"""Job routes: submit, cancel, list and get jobs, and each job's events and logs.

Submission rules live in ``State.submit``; the routes parse requests and render responses.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict
from starlette.responses import Response

from ....htc.types import (
    JobDefinition,
    JobStatus,
    JobSubmitRequest,
    SubmittedJob,
    ViewType,
)
from .._errors import bad_request
from .._pages import LOG_PAGE_SIZE_MAX, Cursor, next_url, page_body, paginate, paginate_keyed
from .._records import TaskRecord
from .._state import SubmittedBatch
from .._views import job_view, log_page
from ._base import TASK, Call, RouteSpec
from ._common import choice, json_response, read_body, requested_page, validate_items

__all__ = ["routes"]

_STATUSES = {str(s) for s in JobStatus}
_JOB = TASK + "/jobs/{jobId}"


# The service ignores fields it does not know (the rescalehtc library sends "region" in job
# submissions); the SDK's request models refuse them, so the emulator validates with lenient
# subclasses that keep every documented check.
class _Definition(JobDefinition):
    model_config = ConfigDict(extra="ignore")


class _Submit(JobSubmitRequest):
    model_config = ConfigDict(extra="ignore")
    htc_job_definition: _Definition


def routes() -> list[RouteSpec]:
    """The job routes."""
    return [
        RouteSpec("GET", TASK + "/jobs", list_jobs, "bearer"),
        RouteSpec("POST", TASK + "/jobs/batch", submit_jobs, "bearer"),
        RouteSpec("POST", TASK + "/jobs/cancel", cancel_jobs, "bearer"),
        RouteSpec("GET", _JOB, get_job, "bearer"),
        RouteSpec("GET", _JOB + "/events", job_events, "bearer"),
        RouteSpec("GET", _JOB + "/logs", job_logs, "bearer"),
    ]


def _submissions(body: Any) -> list[_Submit]:
    """The submit requests of a body: a non-empty JSON array of them; else 400."""
    if not isinstance(body, list) or not body:
        raise bad_request(
            "VALIDATION_ERROR",
            "Invalid job submit request",
            "The body must be a non-empty JSON array of job submit requests",
        )
    return validate_items(_Submit, body, "job submit request")


def _submitted(call: Call, task: TaskRecord, batch: SubmittedBatch) -> dict[str, Any]:
    """The HTCJobSubmitRequest echoed back with what the service adds."""
    echo = batch.request.model_dump(mode="json", by_alias=True, exclude_unset=True)
    echo.pop("regions", None)  # write-only
    echo.update(
        {
            "batchSize": batch.batch_size,
            "parentJobId": batch.parent_id,
            "group": batch.group,
            "rescaleTimeReceived": batch.received,
            "projectId": task.project_id,
            "taskId": task.task_id,
            "workspaceId": call.config.workspace_id,
            "createdBy": call.config.user_id,
            "jobDefinitionName": f"htc-{batch.parent_id}",
        }
    )
    return SubmittedJob.model_validate(echo).to_api()


async def submit_jobs(call: Call) -> Response:
    task = call.task()
    submissions = _submissions(await read_body(call.request))
    batches = call.state.submit(task, submissions, call.request.query_params.get("group"))
    response = [_submitted(call, task, batch) for batch in batches]
    call.runner.enqueue([job for batch in batches for job in batch.jobs])
    return json_response(response)


async def cancel_jobs(call: Call) -> Response:
    """Cancel the task's jobs (of ``group`` only, when given)."""
    task = call.task()
    group = call.request.query_params.get("group")
    jobs = [
        job
        for job in call.state.task_job_records(task.task_id)
        if group is None or job.group == group
    ]
    call.runner.cancel(jobs)
    return Response(status_code=200)


async def list_jobs(call: Call) -> Response:
    """The task's jobs in the configured order, filtered by status, group and ids."""
    request = call.request
    task = call.task(request_error=True)
    status = choice(request, "status", _STATUSES, None)
    view = choice(request, "viewType", (str(v) for v in ViewType), str(ViewType.FULL))
    group = request.query_params.get("group") or None
    wanted = set(request.query_params.getlist("jobId")) or None
    order = call.config.job_order
    kind = f"jobs:{task.task_id}" if order == "created" else f"jobs:{task.task_id}:{order}"
    page = requested_page(call, kind)
    jobs = call.state.jobs

    def keep(job_id: str) -> bool:
        if wanted is not None and job_id not in wanted:
            return False
        job = jobs[job_id]
        if group is not None and job.group != group:
            return False
        return status is None or job.visible.status == status

    keys, ids = call.state.job_listing(task.task_id)
    chosen, link = paginate_keyed(request, keys, ids, page, keep=keep)
    full = view == ViewType.FULL
    return json_response(page_body([job_view(jobs[jid], full=full) for jid in chosen], link))


async def get_job(call: Call) -> Response:
    task = call.task(request_error=True)
    return json_response(job_view(call.state.job(task, call.path("jobId"))))


async def job_events(call: Call) -> Response:
    """The job's status events as of the last refresh."""
    task = call.task(request_error=True)
    job = call.state.job(task, call.path("jobId"))
    page = requested_page(call, f"events:{job.job_id}")
    events = call.state.events.get(job.job_id, [])[: job.visible.events]
    chosen, link = paginate(call.request, events, page)
    return json_response(page_body(chosen, link))


async def job_logs(call: Call) -> Response:
    """The job's log lines, newest first (``sort=desc``, the default) or oldest first; pages
    may come back empty but with ``next``, as the service's eventually consistent store does.
    """
    request = call.request
    config = call.config
    task = call.task(request_error=True)
    job = call.state.job(task, call.path("jobId"))
    sort = choice(request, "sort", ("asc", "desc"), "desc")
    kind = f"logs:{job.job_id}:{sort}"
    page = requested_page(call, kind, maximum=LOG_PAGE_SIZE_MAX)
    lines = call.state.logs.get(job.job_id, [])
    total = len(lines)
    after = page.cursor.after
    if sort == "asc":
        start = after + 1
        end = min(total, start + page.size)
        positions = range(start, end)
        following = Cursor(kind, end - 1) if end < total else None
    else:
        upper = total if after < 0 else min(after, total)
        lower = max(0, upper - page.size)
        positions = range(upper - 1, lower - 1, -1)
        following = Cursor(kind, lower) if lower > 0 else None
    if positions and call.parts.rng.random() < config.log_empty_page_probability:
        # The log store is eventually consistent: an empty page that still has a next.
        return json_response({"items": [], "next": next_url(request, page.cursor)})
    link = next_url(request, following) if following is not None else None
    return Response(log_page(lines, positions, link), media_type="application/json")
