"""The platform API v2 as Starlette routes over the platform state, under ``/api/v2``.

Each request is authenticated (``Authorization: Token <key>``, or ``Bearer`` with the same
key), admitted by its rate-limit scope's bucket, then handled; errors are DRF bodies. As in
Django, every path ends with ``/``: a GET without it is redirected (301), other methods get
404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router

from .._config import EmulatorConfig
from .._faults import Counters
from .._routing import RouteTemplates, by_template, route_table
from ._errors import NOT_FOUND, ApiError, throttled, unauthorized
from ._runner import PlatformRunner
from ._state import PlatformState
from .routes import catalogue, files, job_details, jobs, users
from .routes._base import Call, Parts, RouteSpec

__all__ = ["PLATFORM_ROOT", "PlatformApi"]

PLATFORM_ROOT = "/api/v2"

_GROUPS = (users, catalogue, jobs, job_details, files)
"""The route modules, each with a ``routes()`` table."""


def _table() -> list[RouteSpec]:
    """Every group's routes, those of one path template together."""
    return route_table(group.routes() for group in _GROUPS)


class PlatformApi:
    """The platform routes, bound to one emulator's platform state."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        state: PlatformState,
        runner: PlatformRunner,
        counters: Counters,
    ) -> None:
        self.state = state
        self.counters = counters
        self.parts = Parts(config, state, runner, counters, PLATFORM_ROOT)
        self.specs = _table()
        self._templates = RouteTemplates(self.specs)

    def resolve(self, method: str, path: str) -> str:
        """The path template a request is for (``<unmatched>`` when none)."""
        return self._templates.resolve(method, path)

    def app(self) -> Starlette:
        """The Starlette application serving the API under ``/api/v2``."""
        routes: list[BaseRoute] = [
            Route(template, self._endpoint(specs), methods=list(specs))
            for template, specs in by_template(self.specs).items()
        ]
        return Starlette(
            routes=[Mount(PLATFORM_ROOT, app=Router(routes=routes, redirect_slashes=False))],
            exception_handlers={ApiError: _api_error, HTTPException: self._http_error},
        )

    def _authenticate(self, request: Request) -> None:
        """DRF's token authentication: ``Token <key>`` (``Bearer`` too); else 401."""
        scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() not in ("token", "bearer") or not key.strip():
            raise unauthorized("Authentication credentials were not provided.")
        if not self.state.accepts(key.strip()):
            raise unauthorized("Invalid token.")

    def _endpoint(self, specs: dict[str, RouteSpec]) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of one path: authenticate, admit by scope, then handle."""
        parts = self.parts

        async def endpoint(request: Request) -> Response:
            spec = specs["GET" if request.method == "HEAD" else request.method]
            self._authenticate(request)
            wait = self.state.throttles.check(spec.scope)
            if wait is not None:
                self.counters.count_fault("throttled", f"{spec.method} {spec.template}")
                raise throttled(wait)
            return await spec.handler(Call(request, parts))

        return endpoint

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        """Django's answers for unknown paths (a GET missing its slash is redirected) and
        DRF's for a method a path does not allow.
        """
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            body = {"detail": f'Method "{request.method}" not allowed.'}
            return JSONResponse(body, status_code=405, headers=exc.headers)
        path = request.url.path
        relative = path[len(PLATFORM_ROOT) :]
        if (
            exc.status_code == 404
            and request.method in ("GET", "HEAD")
            and not path.endswith("/")
            and self.resolve("GET", relative + "/") != "<unmatched>"
        ):
            return RedirectResponse(str(request.url.replace(path=path + "/")), status_code=301)
        if exc.status_code == 404:
            return JSONResponse({"detail": NOT_FOUND}, status_code=404)
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.body is None:
        return Response(status_code=exc.status, headers=exc.headers)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)
