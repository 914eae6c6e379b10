"""``platform files upload|download|ls|rm``: your files, transferred with progress bars."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import anyio

from ..._core.concurrency import run_all
from ...platform.client import PlatformClient
from ...platform.types import File
from .._errors import EXIT_OK
from ._context import PlatformContext
from ._progress import Reporter
from ._render import downloaded_json, emit_json, file_table, show_downloads, size_text

__all__ = ["download", "list_files", "remove", "upload", "upload_files"]

_UPLOADS_AT_ONCE = 4


async def upload_files(
    client: PlatformClient, progress: Reporter, paths: Sequence[Path]
) -> list[File]:
    """Upload ``paths`` (a few at a time, a bar each), in order; a line per file uploaded."""
    slots = anyio.CapacityLimiter(_UPLOADS_AT_ONCE)

    async def one(path: Path) -> File:
        async with slots:
            uploaded = await client.files.upload(path, progress=progress.transfer(path.name))
        progress.note(f"uploaded {path} as file {uploaded.id} ({size_text(uploaded.size)})")
        return uploaded

    async with progress.live():
        return await run_all([partial(one, path) for path in paths])


async def upload(ctx: PlatformContext) -> int:
    out = ctx.output
    paths = [Path(path) for path in ctx.args.paths]
    async with ctx.client() as client:
        files = await upload_files(client, ctx.progress, paths)
    if out.json:
        emit_json(out, files)
        return EXIT_OK
    out.table(
        ["FILE ID", "NAME", "SIZE", "FROM"],
        ((f.id, f.name, size_text(f.size), path) for f, path in zip(files, paths, strict=True)),
    )
    return EXIT_OK


async def download(ctx: PlatformContext) -> int:
    """One file, in concurrent ranges, verified; into ``dest`` (a directory: by its name)."""
    out = ctx.output
    args = ctx.args
    async with ctx.client() as client:
        hook = ctx.progress.transfer(f"file {args.file}")
        async with ctx.progress.live():
            done = await client.files.download(
                args.file, args.dest or ".", progress=hook, connections=args.connections
            )
    if out.json:
        emit_json(out, downloaded_json(done))
    else:
        show_downloads(out, [done], where=str(done.path.parent))
    return EXIT_OK


async def list_files(ctx: PlatformContext) -> int:
    out = ctx.output
    args = ctx.args
    async with ctx.client() as client:
        files = await client.files.list(search=args.search, limit=args.limit).to_list()
    if out.json:
        emit_json(out, files)
    else:
        file_table(out, files, empty="no files match")
    return EXIT_OK


async def remove(ctx: PlatformContext) -> int:
    out = ctx.output
    file_ids: list[str] = list(dict.fromkeys(ctx.args.files))
    async with ctx.client() as client:
        for file_id in file_ids:
            await client.files.delete(file_id)
            if not out.json:
                out.line(f"deleted file {file_id}")
    if out.json:
        emit_json(out, {"deleted": file_ids})
    return EXIT_OK
