"""``client.storage``: the storage resource's calls, and moving files through them: upload,
download, list and delete the objects of a task's storage or a project's shared storage.
Each method is thin; the work is in ``dataplane.storage``.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import anyio

from ..resources.regions import RegionLike
from ..resources.storage import Storage as StorageResource
from ..resources.storage import StorageTarget
from ..types import (
    PresignedPutUrl,
    RegionalStorage,
    RegionStorageOption,
    StorageAccessToken,
    StorageAccessTokens,
    TaskLike,
    TaskRef,
)
from .storage import DEFAULT_PART_SIZE, StorageService, StoredObject, TransferResult
from .storage._credentials import StorageCredentials
from .storage._models import TransferProgressHook
from .storage._plan import check_concurrency, check_key, check_part_size, plan_upload
from .storage._target import area_of
from .storage._transfers import delete, download, list_objects, upload

__all__ = ["Storage"]

DEFAULT_CONCURRENCY = 16


class Storage:
    """Storage: the API's calls (``token``, ``tokens``, ``presigned_url``, ``regional``,
    ``options``, ``region``), plus ``upload``/``download``/``list``/``delete`` of the files of
    a task (``Task``, ``TaskRef``, ``SubmittedJob``: its storage) or a project (id or
    ``Project``: its shared storage), with the credentials those calls hand out.

    Transfers need the ``storage`` extra (``pip install 'rescale-async[storage]'``). Keys are
    relative to the area (``results/out.csv``). ``region`` picks a region's store (each has
    its own bucket; None: the project's default region; inside a job, its files are in its
    region: ``current_region()``).
    """

    __slots__ = ("_resource", "_service")

    def __init__(self, resource: StorageResource, service: StorageService) -> None:
        self._resource = resource
        self._service = service

    # ------------------------------------------------------------------ the API's calls

    async def token(
        self, target: StorageTarget, *, region: RegionLike | None = None
    ) -> StorageAccessToken:
        """Temporary credentials for the storage of a project or task (default region or one).

        ``GET /htc/projects/{projectId}[/tasks/{taskId}]/storage/token[/{region}]``
        """
        return await self._resource.token(target, region=region)

    async def tokens(self, target: StorageTarget) -> StorageAccessTokens:
        """Temporary credentials for the storage of a project or task in every region.

        ``GET /htc/projects/{projectId}[/tasks/{taskId}]/storage/tokens``
        """
        return await self._resource.tokens(target)

    async def presigned_url(self, target: StorageTarget, file_path: str) -> PresignedPutUrl:
        """A URL to upload one file to a project's or task's storage with a plain HTTP PUT.

        ``GET /htc/projects/{projectId}[/tasks/{taskId}]/storage/presigned-url?filePath=``
        """
        return await self._resource.presigned_url(target, file_path)

    async def regional(self, task: TaskLike) -> RegionalStorage:
        """A task's storage paths and credentials in every region.

        ``GET /htc/projects/{projectId}/tasks/{taskId}/storage/regional-storage``
        """
        return await self._resource.regional(task)

    async def options(self) -> builtins.list[RegionStorageOption]:
        """The storage locations available to the workspace, one per region. ``GET /htc/storage``"""
        return await self._resource.options()

    async def region(self, region: RegionLike) -> RegionStorageOption:
        """The storage location of one region. ``GET /htc/storage/region/{region}``"""
        return await self._resource.region(region)

    # ------------------------------------------------------------------ moving files

    def _credentials(self, target: StorageTarget, region: RegionLike | None) -> StorageCredentials:
        area = area_of(target)
        named: StorageTarget = (
            area.project_id if area.task_id is None else TaskRef(area.project_id, area.task_id)
        )
        resource = self._resource

        async def fetch() -> StorageAccessToken:
            return await resource.token(named, region=region)

        return self._service.credentials(area, None if region is None else str(region), fetch)

    async def upload(
        self,
        target: StorageTarget,
        source: str | os.PathLike[str],
        dest: str | None = None,
        *,
        region: RegionLike | None = None,
        progress: TransferProgressHook | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> TransferResult:
        """Upload a file, or a directory tree, to the target's storage; each object verified.

        A file goes to key ``dest`` (default: its name; ``dest`` ending in ``/``: a folder
        for it); a directory's files keep their relative paths, under ``dest`` when given.
        Files larger than ``part_size`` go multipart, parts and files ``concurrency`` at a
        time. ``progress`` is called after each file and part.
        """
        check_concurrency(concurrency)
        check_part_size(part_size)
        items = await anyio.to_thread.run_sync(plan_upload, Path(source), dest)
        work = partial(
            upload, items=items, part_size=part_size, concurrency=concurrency, progress=progress
        )
        return await self._service.run(
            self._credentials(target, region), work, concurrency=concurrency
        )

    async def download(
        self,
        target: StorageTarget,
        key_or_prefix: str,
        dest: str | os.PathLike[str],
        *,
        region: RegionLike | None = None,
        progress: TransferProgressHook | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> TransferResult:
        """Download an object, or every object under a folder, from the target's storage.

        ``key_or_prefix`` names an object (saved as ``dest``, or into ``dest`` when that is
        a directory) or a folder (``results`` or ``results/``: its objects saved under
        ``dest`` by their paths within it; ``""``: the whole area). Files already complete
        at the destination are not downloaded again; an interrupted download continues where
        it stopped; each file is verified against the store's checksum and appears only then.
        """
        check_concurrency(concurrency)
        if key_or_prefix:
            check_key(key_or_prefix.rstrip("/") or key_or_prefix)
        work = partial(
            download,
            key_or_prefix=key_or_prefix,
            dest=Path(dest),
            concurrency=concurrency,
            progress=progress,
        )
        return await self._service.run(
            self._credentials(target, region), work, concurrency=concurrency
        )

    async def list(
        self, target: StorageTarget, prefix: str = "", *, region: RegionLike | None = None
    ) -> AsyncIterator[StoredObject]:
        """The target's objects whose keys start with ``prefix``, a page at a time:
        ``async for stored in client.storage.list(task): ...``
        """
        credentials = self._credentials(target, region)
        token: str | None = None
        while True:
            work = partial(list_objects, prefix=prefix, token=token)
            page = await self._service.run(credentials, work)
            for stored in page.objects:
                yield stored
            if page.next_token is None:
                return
            token = page.next_token

    async def delete(
        self, target: StorageTarget, key_or_prefix: str, *, region: RegionLike | None = None
    ) -> int:
        """Delete an object, or every object under a folder (``results``: ``results`` and
        ``results/...``); how many were deleted. An empty ``key_or_prefix`` is refused (it
        would empty the whole area).
        """
        if not key_or_prefix.strip("/"):
            raise ValueError(
                "key_or_prefix is empty: that would delete every object of the area; name a "
                "key or a folder"
            )
        check_key(key_or_prefix.rstrip("/"))
        work = partial(delete, key_or_prefix=key_or_prefix)
        return await self._service.run(self._credentials(target, region), work)
