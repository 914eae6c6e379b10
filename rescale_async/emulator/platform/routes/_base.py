"""What a platform route is: a table entry (method, path, handler, rate-limit scope) and the
call it handles, with the request bodies and pages every group uses.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..._config import EmulatorConfig
from ..._faults import Counters
from .._config import PlatformConfig
from .._errors import detail
from .._pages import paginate
from .._runner import PlatformRunner
from .._state import PlatformState

__all__ = ["JOB", "Call", "Handler", "Parts", "RouteSpec", "json_response"]

T = TypeVar("T")

JOB = "/jobs/{jobId}/"
"""The path template of one job; the job detail routes hang below it."""


@dataclass(frozen=True)
class Parts:
    """The emulator parts the handlers work on (one set per emulator)."""

    config: EmulatorConfig
    state: PlatformState
    runner: PlatformRunner
    counters: Counters
    root_path: str


@dataclass(frozen=True)
class Call:
    """One authenticated, admitted request, with the emulator parts."""

    request: Request
    parts: Parts

    @property
    def state(self) -> PlatformState:
        return self.parts.state

    @property
    def runner(self) -> PlatformRunner:
        return self.parts.runner

    @property
    def settings(self) -> PlatformConfig:
        return self.parts.config.platform

    @property
    def root(self) -> str:
        """The absolute URL of the API root, as the client reached it."""
        url = self.request.url
        return f"{url.scheme}://{url.netloc}{self.parts.root_path}"

    def path(self, name: str) -> str:
        """The path parameter ``name``."""
        return str(self.request.path_params[name])

    def page(self, items: Sequence[T], render: Callable[[T], dict[str, Any]]) -> Response:
        """The page of ``items`` the request asks for (``page``, ``page_size``)."""
        return json_response(paginate(self.request, items, render, self.settings))

    async def body(self) -> Any:
        """The JSON body (``{}`` when empty, as DRF reads it); 415 or 400 when it is not JSON."""
        raw = await self.request.body()
        if not raw.strip():
            return {}
        content_type = self.request.headers.get("content-type", "")
        if "json" not in content_type.lower():
            raise detail(415, f'Unsupported media type "{content_type}" in request.')
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise detail(400, f"JSON parse error - {exc}") from None


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class RouteSpec:
    """One row of the route table: ``method template``, its handler and its rate-limit scope."""

    method: str
    template: str
    handler: Handler
    scope: str = "user"


def json_response(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)
