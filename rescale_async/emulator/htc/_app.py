"""The HTC API as Starlette routes over the emulator's state.

Paths, parameters and bodies follow the patched OpenAPI document; error bodies follow the
service (401/404: ``{error, errorDescription}``; 400: ``{errorType, errorDescription,
message}``). The handlers live in ``routes``, one module per resource group; here their
tables are assembled, and each request is authenticated as its route declares before its
handler runs.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from .._config import EmulatorConfig
from .._faults import Counters, Faults
from .._routing import RouteTemplates, by_template, route_table
from .._tokens import TokenIssuer
from ._auth import authenticate
from ._errors import ApiError
from ._runner import Runner
from ._state import State
from .routes import auth, jobs, projects, registry, storage, tasks, workspace
from .routes._base import Call, Parts, RouteSpec

__all__ = ["API_ROOT", "Api"]

API_ROOT = "/api/v1"

_GROUPS = (auth, workspace, projects, registry, storage, tasks, jobs)
"""The route modules, each with a ``routes()`` table."""


class Api:
    """The routes, bound to one emulator's state."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        state: State,
        runner: Runner,
        issuer: TokenIssuer,
        faults: Faults,
        counters: Counters,
        rng: random.Random,
    ) -> None:
        self.config = config
        self.state = state
        self.runner = runner
        self.issuer = issuer
        self.faults = faults
        self.counters = counters
        self.rng = rng
        self.parts = Parts(config, state, runner, issuer, faults, counters, rng)
        self.specs = _table()
        self._templates = RouteTemplates(self.specs)

    def resolve(self, method: str, path: str) -> str:
        """The path template a request is for (``<unmatched>`` when none)."""
        return self._templates.resolve(method, path)

    def app(self) -> Starlette:
        """The Starlette application serving the API under ``/api/v1``."""
        routes: list[BaseRoute] = [
            Route(template, self._endpoint(specs), methods=list(specs))
            for template, specs in by_template(self.specs).items()
        ]
        return Starlette(
            routes=[Mount(API_ROOT, routes=routes)],
            exception_handlers={
                ApiError: _api_error,
                HTTPException: _http_error,
            },
        )

    def _endpoint(self, specs: dict[str, RouteSpec]) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of one path: authenticate as the method's route says, then handle."""
        parts = self.parts

        async def endpoint(request: Request) -> Response:
            spec = specs[request.method]
            claims = authenticate(spec.auth, request, parts.state, parts.issuer)
            return await spec.handler(Call(request, claims, parts))

        return endpoint


def _table() -> list[RouteSpec]:
    """Every group's routes, those of one path template together."""
    return route_table(group.routes() for group in _GROUPS)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.body is None:
        return Response(status_code=exc.status, headers=exc.headers)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = {"error": "not_found", "errorDescription": f"No endpoint {request.url.path}"}
    elif exc.status_code == 405:
        body = {
            "error": "method_not_allowed",
            "errorDescription": f"{request.method} is not supported by {request.url.path}",
        }
    else:
        body = {"error": "http_error", "errorDescription": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
