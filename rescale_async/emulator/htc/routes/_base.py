"""What a route is: a table entry (method, path, handler, auth kind) and the call it handles.

The dispatcher authenticates a request as its entry declares, then hands the handler a
``Call``: the request, the verified claims and the emulator parts, so handlers hold only
their own logic.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..._config import EmulatorConfig
from ..._faults import Counters, Faults
from ..._tokens import TokenIssuer
from .._auth import AuthKind
from .._records import ProjectRecord, TaskRecord
from .._runner import Runner
from .._state import State

__all__ = ["PROJECT", "TASK", "Call", "Handler", "Parts", "RouteSpec"]

PROJECT = "/htc/projects/{projectId}"
"""The path template of one project; most routes hang below it."""
TASK = PROJECT + "/tasks/{taskId}"
"""The path template of one task."""


@dataclass(frozen=True)
class Parts:
    """The emulator parts the handlers work on (one set per emulator)."""

    config: EmulatorConfig
    state: State
    runner: Runner
    issuer: TokenIssuer
    faults: Faults
    counters: Counters
    rng: random.Random


@dataclass(frozen=True)
class Call:
    """One request, already authenticated as its route declares, with the emulator parts."""

    request: Request
    claims: dict[str, Any]
    """The verified claims of the caller (``{}`` on routes without auth)."""
    parts: Parts

    @property
    def config(self) -> EmulatorConfig:
        return self.parts.config

    @property
    def state(self) -> State:
        return self.parts.state

    @property
    def runner(self) -> Runner:
        return self.parts.runner

    def path(self, name: str) -> str:
        """The path parameter ``name``."""
        return str(self.request.path_params[name])

    def project(self) -> ProjectRecord:
        """The project the path names, or 404."""
        return self.state.project(self.path("projectId"))

    def task(self, *, request_error: bool = False) -> TaskRecord:
        """The task the path names, or 404 (HTCRequestError body when ``request_error``)."""
        return self.state.task(
            self.path("projectId"), self.path("taskId"), request_error=request_error
        )


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class RouteSpec:
    """One row of the route table: who may call ``method template`` and what handles it."""

    method: str
    template: str
    handler: Handler
    auth: AuthKind
