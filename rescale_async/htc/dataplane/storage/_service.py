"""What every view of a client shares for storage: each area's credentials, the engine's
session and (under trio) its thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from ._bridge import AsyncioRunner, CallerLoop
from ._credentials import StorageCredentials, TokenFetcher
from ._engine import EngineSettings, S3Session, new_session, require_engine, with_session
from ._target import TargetArea

if TYPE_CHECKING:
    from aiobotocore.session import AioSession

__all__ = ["StorageService", "Work"]

T = TypeVar("T")

Work = Callable[[S3Session, CallerLoop], Awaitable[T]]
"""A storage call's work: given the area's S3 session and the caller's loop."""

MAX_AREAS = 1024
"""Areas (task or project, region) whose credentials are kept; the least recent go first."""


class StorageService:
    """The credentials of each area, and the engine that runs the work of storage calls."""

    def __init__(self, *, max_retries: int = 3, timeout: float = 60.0) -> None:
        self._runner = AsyncioRunner()
        self._session: AioSession | None = None
        self._areas: OrderedDict[tuple[TargetArea, str | None], StorageCredentials] = OrderedDict()
        self._max_retries = max_retries
        self._timeout = timeout

    def credentials(
        self, area: TargetArea, region: str | None, fetch: TokenFetcher
    ) -> StorageCredentials:
        """The credentials holder of ``area`` in ``region`` (None: the default region)."""
        key = (area, region)
        held = self._areas.get(key)
        if held is None:
            held = self._areas[key] = StorageCredentials(area, fetch)
            while len(self._areas) > MAX_AREAS:
                self._areas.popitem(last=False)
        self._areas.move_to_end(key)
        return held

    async def run(
        self, credentials: StorageCredentials, work: Work[T], *, concurrency: int = 16
    ) -> T:
        """Run ``work`` on the engine with an S3 session for ``credentials``' area."""
        require_engine()
        settings = EngineSettings(
            max_retries=self._max_retries, timeout=self._timeout, pool_size=concurrency + 4
        )

        async def on_engine(caller: CallerLoop) -> T:
            if self._session is None:
                self._session = new_session()

            async def with_s3(s3: S3Session) -> T:
                return await work(s3, caller)

            return await with_session(credentials, caller, self._session, settings, with_s3)

        return await self._runner.run(on_engine)

    async def aclose(self) -> None:
        """Stop the engine's thread, if it has one."""
        await self._runner.aclose()
