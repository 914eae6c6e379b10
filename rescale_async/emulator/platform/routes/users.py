"""The user and its projects."""

from __future__ import annotations

from starlette.responses import Response

from ._base import Call, RouteSpec, json_response

__all__ = ["routes"]


def routes() -> list[RouteSpec]:
    return [
        RouteSpec("GET", "/users/me/", me),
        RouteSpec("GET", "/users/me/projects/", projects),
    ]


async def me(call: Call) -> Response:
    return json_response(call.state.user_document())


async def projects(call: Call) -> Response:
    return call.page(call.state.projects, dict)
