"""One push, start to end: read the source, create the repository, fetch the registry token,
push the plan, wait for READY. The collaborators are passed in (the client composes them).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio
import httpx
from pydantic import SecretStr

from ...._core.exceptions import RegistryError
from ...._core.options import ClientOptions, Clock, Sleep
from ...resources.images import Images as ImagesResource
from ...resources.projects import Projects
from ._auth import RegistryAuth, RegistryPassword
from ._http import RegistryHTTP, registry_origin
from ._push import push_plan
from ._results import PlatformManifest, PushedImage, PushProgressHook
from ._retry import RetryRules
from ._session import RegistrySession
from ._source import load_image
from ._upload import Transfers

__all__ = ["Pusher", "ReadyWait"]

logger = logging.getLogger("rescale_async")

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DERIVED_TAG_LENGTH = 12


class ReadyWait(Protocol):
    """Waits until an image is READY (the client's ``ReadyImages``, shared with submit)."""

    def forget(self, project_id: str, image: str) -> None:
        """``image`` was just pushed: READY seen before was another image's under its tag."""

    async def wait(
        self,
        images: ImagesResource,
        project_id: str,
        image: str,
        *,
        image_timeout: float,
        sleep: Sleep,
        clock: Clock,
    ) -> None: ...


@dataclass(frozen=True)
class Pusher:
    """What a push needs from the client: the API resources, the registry pool and limits."""

    images: ImagesResource
    projects: Projects
    http: RegistryHTTP
    options: ClientOptions
    ready: ReadyWait

    async def push(
        self,
        project_id: str,
        source: str | os.PathLike[str],
        *,
        repository: str,
        tag: str | None,
        progress: PushProgressHook | None,
        wait: bool,
        image_timeout: float,
        chunk_size: int | None,
    ) -> PushedImage:
        if tag is not None and (not isinstance(tag, str) or not _TAG.fullmatch(tag)):
            raise ValueError(
                f"{tag!r} is not a valid tag (letters, digits, '_', '.', '-'; at most 128, not "
                "starting with '.' or '-'); leave it out for one derived from the content"
            )
        if chunk_size is not None and (isinstance(chunk_size, bool) or chunk_size < 1):
            raise ValueError(f"chunk_size must be a number of bytes >= 1, got {chunk_size!r}")
        if not image_timeout >= 0:
            raise ValueError(f"image_timeout must be >= 0 seconds, got {image_timeout!r}")
        plan = await anyio.to_thread.run_sync(load_image, Path(source))
        tag = tag or plan.top.digest.removeprefix("sha256:")[:_DERIVED_TAG_LENGTH]
        await self.images.create_repo(project_id, repository)  # ECR refuses pushes without it
        address, namespace = _registry_of(
            (await self.projects.get(project_id)).container_registry, project_id
        )
        http = self.http.client()

        async def token() -> SecretStr:
            return await self.images.registry_token(project_id)

        name = f"{namespace}/{repository}".strip("/")
        auth = RegistryAuth(http, RegistryPassword(token), name)
        session = RegistrySession(http, registry_origin(address), name, auth)
        transfers = Transfers(
            session,
            RetryRules(self.options),
            chunk_size=chunk_size,
            hook=progress,
            blobs_total=len(plan.blobs),
        )
        logger.info(
            "pushing %s (%s, %d blobs, %d bytes) to %s/%s:%s",
            plan.source,
            plan.kind,
            len(plan.blobs),
            plan.size,
            address,
            name,
            tag,
        )
        outcome = await push_plan(plan, transfers, tag, self.http.limiter)
        image = f"{repository}:{tag}"
        self.ready.forget(project_id, image)
        if wait:
            await self.ready.wait(
                self.images,
                project_id,
                image,
                image_timeout=image_timeout,
                sleep=self.options.sleep,
                clock=self.options.clock,
            )
        return PushedImage(
            image=image,
            repository=repository,
            tag=tag,
            digest=plan.top.digest,
            media_type=plan.top.media_type,
            registry=f"{address}/{namespace}".rstrip("/"),
            bytes_sent=outcome.bytes_sent,
            blobs_uploaded=len(outcome.uploaded),
            blobs_skipped=len(outcome.skipped),
            platforms=tuple(
                PlatformManifest(m.digest, m.media_type, m.platform) for m in plan.manifests
            ),
            ready=wait,
        )


def _registry_of(container_registry: str | None, project_id: str) -> tuple[str, str]:
    """``(host[:port], namespace)`` of a project's ``containerRegistry``
    (``<host>/rescale/<project path>/``).
    """
    if not container_registry or not container_registry.strip("/ "):
        raise RegistryError(
            f"project {project_id} names no containerRegistry, so there is nowhere to push"
        )
    text = container_registry.strip().removeprefix("https://").removeprefix("http://")
    address, _, namespace = text.strip("/").partition("/")
    httpx.URL(f"//{address}")  # a malformed host fails here, before any request
    return address, namespace.strip("/")
