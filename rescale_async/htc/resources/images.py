"""``client.images``: a project's container registry, its repositories and images."""

from __future__ import annotations

import re

from pydantic import SecretStr

from ..types import IMAGE_NAME_PATTERN, ImageList, ImageStatus, ProjectLike, Repository
from ._base import APIResource, segment
from ._ids import project_path

__all__ = ["Images"]

_REPO_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_IMAGE_NAME = re.compile(IMAGE_NAME_PATTERN)


def _checked(name: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid {what} (must match {pattern.pattern!r})")
    return segment(name)


def _registry(project: ProjectLike) -> str:
    return f"{project_path(project)}/container-registry"


class Images(APIResource):
    """The container registry every project has: push images there, then run them as jobs."""

    async def list(self, project: ProjectLike) -> ImageList:
        """The registry's URL and its ``repo:tag`` images.

        ``GET /htc/projects/{projectId}/container-registry/images``
        """
        return await self._call("GET", f"{_registry(project)}/images", ImageList)

    async def status(self, project: ProjectLike, image_name: str) -> ImageStatus:
        """Whether jobs can use an image yet (READY or PENDING); NotFoundError if it is absent.

        ``GET /htc/projects/{projectId}/container-registry/images/{imageName}``
        """
        image = _checked(image_name, _IMAGE_NAME, "image name ([path/]name[:tag])")
        return await self._call("GET", f"{_registry(project)}/images/{image}", ImageStatus)

    async def create_repo(self, project: ProjectLike, repo_name: str) -> Repository:
        """Create a repository to push images to; idempotent (an existing one is kept).

        ``POST /htc/projects/{projectId}/container-registry/repo/{repoName}``
        """
        repo = _checked(repo_name, _REPO_NAME, "repository name")
        return await self._call("POST", f"{_registry(project)}/repo/{repo}", Repository)

    async def registry_token(self, project: ProjectLike) -> SecretStr:
        """The password for ``docker login`` to the project's registry.

        ``GET /htc/projects/{projectId}/container-registry/token``
        """
        return SecretStr((await self._call_text("GET", f"{_registry(project)}/token")).strip())
