"""Task routes: tasks, and each task's status summaries and job groups."""

from __future__ import annotations

from starlette.responses import Response

from ....htc.types import JobStatusSummary, LifecycleStatus, TaskCreate, TaskUpdate
from .._pages import page_body, paginate
from .._views import status_counts, task_view
from ._base import PROJECT, TASK, Call, RouteSpec
from ._common import json_response, lenient, read_body, requested_page, validate

__all__ = ["routes"]

_TaskCreate = lenient(TaskCreate)
_TaskUpdate = lenient(TaskUpdate)


def routes() -> list[RouteSpec]:
    """The task routes."""
    return [
        RouteSpec("GET", PROJECT + "/tasks", list_tasks, "bearer"),
        RouteSpec("POST", PROJECT + "/tasks", create_task, "bearer"),
        RouteSpec("GET", TASK, get_task, "bearer"),
        RouteSpec("PATCH", TASK, update_task, "bearer"),
        RouteSpec("DELETE", TASK, delete_task, "bearer"),
        RouteSpec("GET", TASK + "/group-summary-statistics", group_summaries, "bearer"),
        RouteSpec("GET", TASK + "/groups", groups, "bearer"),
        RouteSpec("GET", TASK + "/summary-statistics", summary, "bearer"),
    ]


async def list_tasks(call: Call) -> Response:
    project = call.project()
    page = requested_page(call, f"tasks:{project.project_id}")
    state = call.state
    order = state.task_order.get(project.project_id, [])
    chosen, link = paginate(call.request, order, page)
    items = [task_view(state.tasks[tid], call.config) for tid in chosen]
    return json_response(page_body(items, link))


async def create_task(call: Call) -> Response:
    project = call.project()
    spec = validate(_TaskCreate, await read_body(call.request), "task")
    task = call.state.add_task(project, spec.task_name, spec.task_description)
    return json_response(task_view(task, call.config))


async def get_task(call: Call) -> Response:
    return json_response(task_view(call.task(), call.config))


async def update_task(call: Call) -> Response:
    task = call.task()
    update = validate(_TaskUpdate, await read_body(call.request), "task update")
    call.state.set_lifecycle(task, str(update.lifecycle_status))
    return json_response(task_view(task, call.config))


async def delete_task(call: Call) -> Response:
    """Delete the task, cancelling its jobs (deleting a deleted task changes nothing)."""
    task = call.task()
    if task.lifecycle != LifecycleStatus.DELETED:
        call.runner.cancel(list(call.state.task_job_records(task.task_id)))
        call.state.delete_task(task)
    return json_response(task_view(task, call.config, deletion=True))


async def summary(call: Call) -> Response:
    task = call.task()
    counts = status_counts(call.state.task_job_records(task.task_id))
    body = JobStatusSummary.model_validate({"group": None, "job_statuses": counts})
    return json_response(body.to_api())


async def group_summaries(call: Call) -> Response:
    request = call.request
    task = call.task()
    state = call.state
    wanted = set(request.query_params.getlist("group")) or None
    page = requested_page(call, f"groups:{task.task_id}")
    names = list(state.task_groups.get(task.task_id, {}))
    chosen, link = paginate(request, names, page, keep=lambda g: wanted is None or g in wanted)
    items = []
    for group in chosen:
        jobs = (j for j in state.task_job_records(task.task_id) if j.group == group)
        body = JobStatusSummary.model_validate(
            {"group": group, "job_statuses": status_counts(jobs)}
        )
        items.append(body.to_api())
    return json_response(page_body(items, link))


async def groups(call: Call) -> Response:
    """The task's group names, in order of first use (a bare list: no ``next``)."""
    task = call.task()
    page = requested_page(call, f"group-names:{task.task_id}")
    names = list(call.state.task_groups.get(task.task_id, {}))
    chosen, _ = paginate(call.request, names, page)
    return json_response(chosen)
