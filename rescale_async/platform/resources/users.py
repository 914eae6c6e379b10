"""``client.users`` and ``client.projects``: the caller and the projects it may charge jobs to."""

from __future__ import annotations

from ..._core.pagination import AsyncPaginator
from ..types import Project, User
from ._base import PlatformResource

__all__ = ["Projects", "Users"]


class Users(PlatformResource):
    """The caller's user."""

    async def me(self) -> User:
        """The user the API key belongs to. ``GET users/me/``"""
        return await self._call("GET", "users/me/", User)


class Projects(PlatformResource):
    """The projects a job may be submitted against (``JobCreate.project_id``)."""

    def list(
        self, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[Project]:
        """Every project available to the caller. ``GET users/me/projects/``"""
        return self._list("users/me/projects/", Project, page_size=page_size, limit=limit)
