"""``client.files``: the files resource's calls, and transfers done right: ``download`` (fast,
resumable, verified) and ``download_outputs`` (every output of a job). Each method is thin;
the work is in the module of its service.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread

from ..._core.multipart import DEFAULT_CHUNK_SIZE
from ..._core.options import Sleep
from ..._core.pagination import AsyncPaginator
from ..resources._content import ByteRange, FileContent
from ..resources.files import Files as FilesResource
from ..resources.jobs import Jobs as JobsResource
from ..types import File, FileLike, FileType, JobLike
from ._download import DEFAULT_CONNECTIONS, DownloadedFile, check_transfer, download_file
from ._hooks import ByteProgressHook
from ._outputs import download_outputs

__all__ = ["Files"]


class Files:
    """Files: the API's calls (``upload``, ``get``, ``list``, ``update``, ``delete``,
    ``lines``, ``contents``), plus ``download`` and ``download_outputs``.
    """

    __slots__ = ("_jobs", "_resource", "_sleep")

    def __init__(self, resource: FilesResource, *, jobs: JobsResource, sleep: Sleep) -> None:
        self._resource = resource
        self._jobs = jobs
        self._sleep = sleep

    # ------------------------------------------------------------------ the API's calls

    async def upload(
        self,
        path: str | os.PathLike[str],
        *,
        progress: ByteProgressHook | None = None,
        type_id: FileType | int | None = None,
        name: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> File:
        """Upload the file at ``path`` as an input file, streamed from disk (never read whole),
        ``progress(sent, size)`` called as it goes; ``name`` replaces the file's own name,
        ``type_id`` another type. ``POST files/contents/``
        """
        return await self._resource.upload(
            path, progress=progress, type_id=type_id, name=name, chunk_size=chunk_size
        )

    async def get(self, file: FileLike) -> File:
        """A file's metadata (size, checksums...). ``GET files/{id}/``"""
        return await self._resource.get(file)

    def list(
        self, *, search: str | None = None, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[File]:
        """The caller's files (``search`` filters by name). ``GET files/``"""
        return self._resource.list(search=search, page_size=page_size, limit=limit)

    async def update(
        self, file: FileLike, *, name: str | None = None, type_id: FileType | int | None = None
    ) -> File:
        """Change a file's name or type. ``PATCH files/{id}/``"""
        return await self._resource.update(file, name=name, type_id=type_id)

    async def delete(self, file: FileLike) -> None:
        """Delete a file. ``DELETE files/{id}/``"""
        await self._resource.delete(file)

    async def lines(self, file: FileLike) -> builtins.list[str]:
        """A text file's lines, each with its line break. ``GET files/{id}/lines/``"""
        return await self._resource.lines(file)

    @asynccontextmanager
    async def contents(
        self, file: FileLike, *, range: ByteRange | None = None
    ) -> AsyncIterator[FileContent]:
        """A file's bytes, streamed (one ``Range`` of them with ``range=(first, last)``); see
        ``download`` for a whole file, fast and verified. ``GET files/{id}/contents/``
        """
        async with self._resource.contents(file, range=range) as content:
            yield content

    # ------------------------------------------------------------------ transfers

    async def download(
        self,
        file: FileLike,
        dest: str | os.PathLike[str],
        *,
        progress: ByteProgressHook | None = None,
        connections: int = DEFAULT_CONNECTIONS,
        chunk_size: int | None = None,
    ) -> DownloadedFile:
        """Download ``file`` to ``dest`` (a directory: the file's name in it), verified.

        ``connections`` concurrent ``Range`` requests of ``chunk_size`` bytes (by default a
        few chunks per connection, 8 to 64 MiB each) when the server honours ranges, else one
        stream; the bytes go to a temporary file beside ``dest``, are hashed in order as they
        land and checked against the file's SHA-512 (``fileChecksums``), then renamed into
        place. A mismatch raises ChecksumMismatchError and leaves nothing at ``dest``; an
        interrupted call leaves what it fetched for the next call to continue. A lost
        connection asks again for the rest of its chunk only. ``progress(done, total)``
        follows the bytes. ``GET files/{id}/`` (unless ``file`` is a File with its size and
        checksums) and ``GET files/{id}/contents/``
        """
        check_transfer(connections, chunk_size)
        meta = file if _described(file) else await self._resource.get(file)
        assert isinstance(meta, File)
        target = await anyio.to_thread.run_sync(_target, Path(dest), meta)
        return await download_file(
            self._resource,
            meta,
            target,
            connections=connections,
            chunk_size=chunk_size,
            progress=progress,
            sleep=self._sleep,
        )

    async def download_outputs(
        self,
        job: JobLike,
        directory: str | os.PathLike[str],
        *,
        search: str | None = None,
        connections: int = DEFAULT_CONNECTIONS,
        chunk_size: int | None = None,
        progress: ByteProgressHook | None = None,
    ) -> builtins.list[DownloadedFile]:
        """Download every output of ``job`` (``search``: those whose name matches) into
        ``directory``, keeping their relative paths, each verified as ``download`` does, at
        most ``connections`` requests in flight across them all. A path escaping
        ``directory`` is refused (DownloadError); two outputs on one path are kept apart (the
        later gets its id in its name). ``progress(done, total)`` follows the bytes of all.
        ``GET jobs/{id}/files/`` and ``GET files/{id}/contents/``
        """
        return await download_outputs(
            self._jobs,
            self._resource,
            job,
            Path(directory),
            search=search,
            connections=connections,
            chunk_size=chunk_size,
            progress=progress,
            sleep=self._sleep,
        )


def _described(file: FileLike) -> bool:
    """Whether ``file`` is a File that says what its checksums are (a listing's does, even
    when there are none): no need to ask for its metadata again.
    """
    return isinstance(file, File) and file.file_checksums is not None


def _target(dest: Path, file: File) -> Path:
    """``dest``, or the file's name in it when it is a directory (blocking)."""
    return dest / (file.name or file.id) if dest.is_dir() else dest
