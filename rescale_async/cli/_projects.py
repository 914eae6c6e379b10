"""``projects list`` and ``projects get ID``."""

from __future__ import annotations

from ._context import Context
from ._errors import EXIT_OK

__all__ = ["get", "list_projects"]


async def list_projects(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        projects = await client.projects.list(limit=ctx.args.limit).to_list()
    if out.json:
        out.emit_json(projects)
        return EXIT_OK
    out.table(
        ["PROJECT ID", "NAME", "DESCRIPTION", "REGIONS", "CREATED"],
        (
            (
                p.project_id,
                p.project_name,
                p.project_description,
                ", ".join(str(r) for r in p.regions or []),
                p.created_at,
            )
            for p in projects
        ),
        empty="no projects",
    )
    return EXIT_OK


async def get(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        project = await client.projects.get(ctx.args.project)
    if out.json:
        out.emit_json(project)
    else:
        out.details(project)
    return EXIT_OK
