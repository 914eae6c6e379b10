"""``client.files``: upload, list, read and delete files.

``upload`` streams a multipart body from disk (never reading the file whole) and, being a
POST, is resent only when it provably never left (a connection error) or on a 429.
``contents`` streams a file's bytes, whole or one ``Range`` of them, following a redirect to
storage without the ``Authorization`` header.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..._core.multipart import DEFAULT_CHUNK_SIZE, MultipartFile, UploadProgress
from ..._core.pagination import AsyncPaginator
from ..types import File, FileLike, FileLines, FileType, FileUpdate
from ._base import FILES_PAGE_SIZE, PlatformResource, api_path
from ._content import ByteRange, FileContent, range_header
from ._ids import file_id

__all__ = ["Files"]


class Files(PlatformResource):
    """Files: uploaded inputs and job outputs."""

    async def upload(
        self,
        path: str | os.PathLike[str],
        *,
        progress: UploadProgress | None = None,
        type_id: FileType | int | None = None,
        name: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> File:
        """Upload the file at ``path`` as an input file (typeId 1), streamed from disk in
        ``chunk_size`` chunks, ``progress(sent, size)`` called after each; ``name`` replaces
        the file's own name, ``type_id`` another type (set by a PATCH after the upload).
        ``POST files/contents/`` (one part named ``file``)
        """
        body = await MultipartFile.open(
            path, filename=name, chunk_size=chunk_size, progress=progress
        )
        uploaded = await self._call(
            "POST", "files/contents/", File, content=body, headers=body.headers
        )
        wanted = None if type_id is None else FileType(type_id)
        if wanted is None or wanted == uploaded.type_id:
            return uploaded
        return await self.update(uploaded, type_id=wanted)

    async def get(self, file: FileLike) -> File:
        """A file's metadata (size, checksums...). ``GET files/{id}/``"""
        return await self._call("GET", api_path("files", file_id(file)), File)

    def list(
        self,
        *,
        search: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[File]:
        """The caller's files (``search`` filters by name), 1000 a page. ``GET files/``"""
        return self._list(
            "files/",
            File,
            params={"search": search},
            page_size=page_size,
            limit=limit,
            default_page_size=FILES_PAGE_SIZE,
        )

    async def update(
        self, file: FileLike, *, name: str | None = None, type_id: FileType | int | None = None
    ) -> File:
        """Change a file's name or type (only those given). ``PATCH files/{id}/``"""
        fields = {"name": name, "type_id": type_id}
        body = FileUpdate.model_validate({k: v for k, v in fields.items() if v is not None})
        return await self._call("PATCH", api_path("files", file_id(file)), File, json=body.to_api())

    async def delete(self, file: FileLike) -> None:
        """Delete a file. ``DELETE files/{id}/``"""
        await self._call_no_content("DELETE", api_path("files", file_id(file)))

    async def lines(self, file: FileLike) -> builtins.list[str]:
        """A text file's lines, each with its line break (``process_output.log``...).
        ``GET files/{id}/lines/``
        """
        answer = await self._call("GET", api_path("files", file_id(file), "lines"), FileLines)
        return answer.lines

    @asynccontextmanager
    async def contents(
        self, file: FileLike, *, range: ByteRange | None = None
    ) -> AsyncIterator[FileContent]:
        """A file's bytes, streamed: ``async with client.files.contents(f) as content:
        async for chunk in content.aiter_bytes(): ...``. With ``range=(first, last)`` (both
        included; ``last`` None for the end) it asks for ``Range: bytes=first-last``: a server
        that honours it answers 206 (``content.is_partial``), one that does not the whole file
        (200). Retried like any GET until the body starts; a redirect (to storage) is followed
        without ``Authorization``. ``GET files/{id}/contents/``
        """
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}  # ranges of the raw bytes
        if range is not None:
            headers["Range"] = range_header(range)
        path = api_path("files", file_id(file), "contents")
        async with self._pipeline.stream(
            "GET", path, headers=headers, follow_redirects=True
        ) as response:
            yield FileContent(response)
