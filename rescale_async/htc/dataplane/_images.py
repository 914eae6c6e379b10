"""``client.images``: the images resource's calls, and ``push`` (an image into the project's
registry, without docker). Each method is thin; the push is in ``registry``.
"""

from __future__ import annotations

import os

from pydantic import SecretStr

from ..._core.options import ClientOptions
from ..resources._ids import project_path
from ..resources.images import Images as ImagesResource
from ..resources.projects import Projects
from ..types import ImageList, ImageStatus, ProjectLike, Repository
from .registry import PushedImage, PushProgressHook, RegistryHTTP
from .registry._pusher import Pusher, ReadyWait

__all__ = ["Images"]


class Images:
    """The project's container registry: the API's calls (``list``, ``status``,
    ``create_repo``, ``registry_token``), plus ``push``.
    """

    __slots__ = ("_pusher", "_resource")

    def __init__(
        self,
        resource: ImagesResource,
        *,
        projects: Projects,
        registry_http: RegistryHTTP,
        options: ClientOptions,
        ready: ReadyWait,
    ) -> None:
        self._resource = resource
        self._pusher = Pusher(resource, projects, registry_http, options, ready)

    async def list(self, project: ProjectLike) -> ImageList:
        """The registry's URL and its ``repo:tag`` images.
        ``GET /htc/projects/{projectId}/container-registry/images``
        """
        return await self._resource.list(project)

    async def status(self, project: ProjectLike, image_name: str) -> ImageStatus:
        """Whether jobs can use an image yet (READY or PENDING); NotFoundError if absent.
        ``GET /htc/projects/{projectId}/container-registry/images/{imageName}``
        """
        return await self._resource.status(project, image_name)

    async def create_repo(self, project: ProjectLike, repo_name: str) -> Repository:
        """Create a repository to push images to; idempotent (an existing one is kept).
        ``POST /htc/projects/{projectId}/container-registry/repo/{repoName}``
        """
        return await self._resource.create_repo(project, repo_name)

    async def registry_token(self, project: ProjectLike) -> SecretStr:
        """The registry's password (user ``AWS``), as ``docker login`` would use it.
        ``GET /htc/projects/{projectId}/container-registry/token``
        """
        return await self._resource.registry_token(project)

    async def push(
        self,
        project: ProjectLike,
        source: str | os.PathLike[str],
        *,
        repository: str,
        tag: str | None = None,
        progress: PushProgressHook | None = None,
        wait: bool = True,
        image_timeout: float = 300.0,
        chunk_size: int | None = None,
    ) -> PushedImage:
        """Push the image at ``source`` (an OCI image layout, directory or tar, or a
        ``docker save`` archive, either form) to ``repository`` of the project's registry,
        and return it (``.image`` is the ``repository:tag`` a JobSpec runs).

        The repository is created first (idempotent). Blobs the registry has are skipped;
        the others are streamed from the files, up to ``max_concurrency`` at once, their
        digests checked on the way. ``tag`` defaults to the first 12 hex digits of the
        manifest's digest, so a new image never reuses a tag. With ``wait`` the call
        returns once the image is READY for jobs (ImageNotReadyError after
        ``image_timeout`` seconds). ``progress`` gets a ``PushProgress`` as bytes go.
        ``chunk_size`` sends each blob in PATCHes of that many bytes instead of one PUT
        (for proxies limiting request sizes; ECR wants at least 5 MiB).
        ``POST .../container-registry/repo/{repoName}``, ``GET .../container-registry/token``,
        then the registry's ``/v2/`` API.
        """
        project_path(project)
        project_id = project if isinstance(project, str) else str(project.project_id)
        return await self._pusher.push(
            project_id,
            source,
            repository=repository,
            tag=tag,
            progress=progress,
            wait=wait,
            image_timeout=image_timeout,
            chunk_size=chunk_size,
        )
