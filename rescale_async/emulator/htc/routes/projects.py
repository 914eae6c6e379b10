"""Project routes: projects, and each project's dimensions, vCPU limits and task retention."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ....htc.types import (
    ComputeEnvironmentSpec,
    LimitCreate,
    LimitUpdate,
    ProjectCreate,
    ProjectUpdate,
    TaskRetentionPolicy,
)
from .._errors import bad_request, not_found
from .._pages import page_body, paginate
from .._records import ProjectRecord, now
from .._views import dimension as dimension_view
from .._views import limit_view, project_view, workspace_dimensions
from ._base import PROJECT, Call, RouteSpec
from ._common import (
    RetentionUpdate,
    choice,
    json_response,
    lenient,
    read_body,
    requested_page,
    validate,
    validate_items,
)

__all__ = ["routes"]

_ProjectCreate = lenient(ProjectCreate)
_ProjectUpdate = lenient(ProjectUpdate)
_LimitCreate = lenient(LimitCreate)
_LimitUpdate = lenient(LimitUpdate)
_EnvironmentSpec = lenient(ComputeEnvironmentSpec)


def routes() -> list[RouteSpec]:
    """The project routes."""
    return [
        RouteSpec("GET", "/htc/projects", list_projects, "bearer"),
        RouteSpec("POST", "/htc/projects", create_project, "bearer"),
        RouteSpec("GET", PROJECT, get_project, "bearer"),
        RouteSpec("PATCH", PROJECT, update_project, "bearer"),
        RouteSpec("GET", PROJECT + "/dimensions", get_dimensions, "bearer"),
        RouteSpec("PUT", PROJECT + "/dimensions", put_dimensions, "bearer"),
        RouteSpec("GET", PROJECT + "/limits", list_limits, "bearer"),
        RouteSpec("POST", PROJECT + "/limits", create_limit, "bearer"),
        RouteSpec("DELETE", PROJECT + "/limits", delete_limits, "bearer"),
        RouteSpec("GET", PROJECT + "/limits/{id}", get_limit, "bearer"),
        RouteSpec("PATCH", PROJECT + "/limits/{id}", update_limit, "bearer"),
        RouteSpec("DELETE", PROJECT + "/limits/{id}", delete_limit, "bearer"),
        RouteSpec("GET", PROJECT + "/task-retention-policy", get_retention, "bearer"),
        RouteSpec("PUT", PROJECT + "/task-retention-policy", put_retention, "bearer"),
        RouteSpec("DELETE", PROJECT + "/task-retention-policy", delete_retention, "bearer"),
    ]


def _view(call: Call, project: ProjectRecord) -> dict[str, Any]:
    return project_view(project, call.state.registry_url(project.project_id), call.config)


# ---------------------------------------------------------------------- projects


async def list_projects(call: Call) -> Response:
    request = call.request
    only_mine = choice(request, "onlyMyProjects", ("true", "false", "True", "False"), "false")
    page = requested_page(call, "projects")
    state = call.state
    user_id = call.claims.get("userId")

    def keep(project_id: str) -> bool:
        return only_mine not in ("true", "True") or state.projects[project_id].created_by == user_id

    chosen, link = paginate(request, state.project_order, page, keep=keep)
    items = [_view(call, state.projects[pid]) for pid in chosen]
    return json_response(page_body(items, link))


async def create_project(call: Call) -> Response:
    spec = validate(_ProjectCreate, await read_body(call.request), "project")
    config = call.config
    regions = [str(r) for r in spec.regions] if spec.regions else list(config.regions)
    if not regions:
        raise bad_request("INVALID_REGION", "A project needs at least one region")
    call.state.check_regions(regions, config.regions, "Region")
    project = call.state.add_project(spec.project_name, spec.project_description, regions)
    return json_response(_view(call, project))


async def get_project(call: Call) -> Response:
    return json_response(_view(call, call.project()))


async def update_project(call: Call) -> Response:
    project = call.project()
    update = validate(_ProjectUpdate, await read_body(call.request), "project update")
    if update.regions is not None:
        regions = [str(r) for r in update.regions]
        if not regions:
            raise bad_request("INVALID_REGION", "A project needs at least one region")
        call.state.check_regions(regions, call.config.regions, "Region")
        project.regions = list(dict.fromkeys(regions))
        call.state.touch_project(project)
    return json_response(_view(call, project))


# ---------------------------------------------------------------------- dimensions


async def get_dimensions(call: Call) -> Response:
    project = call.project()
    if project.dimensions is None:
        return json_response(workspace_dimensions(project.regions))
    return json_response(project.dimensions)


async def put_dimensions(call: Call) -> Response:
    project = call.project()
    body = await read_body(call.request)
    specs = validate_items(_EnvironmentSpec, body, "compute environment")
    for spec in specs:
        if spec.region is not None:
            call.state.check_regions([str(spec.region)], project.regions, "Region")
    environments = [dimension_view(spec.to_api()) for spec in specs]
    project.dimensions = environments
    call.state.touch_project(project)
    return json_response(environments, 201)


# ---------------------------------------------------------------------- limits


async def list_limits(call: Call) -> Response:
    project = call.project()
    limits = call.state.project_limits(project.project_id)
    return json_response([limit_view(limit, call.config) for limit in limits])


async def create_limit(call: Call) -> Response:
    project = call.project()
    spec = validate(_LimitCreate, await read_body(call.request), "limit")
    limit = call.state.add_limit(project.project_id, spec.v_cpus, str(spec.modifier_role))
    call.runner.wake()
    return json_response(limit_view(limit, call.config), 201)


async def delete_limits(call: Call) -> Response:
    project = call.project()
    for limit in call.state.project_limits(project.project_id):
        call.state.delete_limit(limit)
    call.runner.wake()
    return Response(status_code=204)


async def get_limit(call: Call) -> Response:
    project = call.project()
    limit = call.state.limit(project.project_id, call.path("id"))
    return json_response(limit_view(limit, call.config))


async def update_limit(call: Call) -> Response:
    project = call.project()
    limit = call.state.limit(project.project_id, call.path("id"))
    update = validate(_LimitUpdate, await read_body(call.request), "limit update")
    call.state.update_limit(limit, update.v_cpus)
    call.runner.wake()
    return json_response(limit_view(limit, call.config))


async def delete_limit(call: Call) -> Response:
    project = call.project()
    limit = call.state.limit(project.project_id, call.path("id"))
    call.state.delete_limit(limit)
    call.runner.wake()
    return Response(status_code=204)


# ---------------------------------------------------------------------- task retention


async def get_retention(call: Call) -> Response:
    project = call.project()
    if project.retention is None:
        raise not_found(f"No task retention policy set for project {project.project_id}")
    return json_response(project.retention)


async def put_retention(call: Call) -> Response:
    project = call.project()
    update = validate(RetentionUpdate, await read_body(call.request), "task retention policy")
    policy = TaskRetentionPolicy(
        archive_after=update.archive_after,
        delete_after=update.delete_after,
        project_id=project.project_id,
        created_at=now(),
    )
    project.retention = policy.to_api()
    call.state.touch_project(project)
    return json_response(project.retention, 201)


async def delete_retention(call: Call) -> Response:
    project = call.project()
    project.retention = None
    call.state.touch_project(project)
    return Response(status_code=204)
