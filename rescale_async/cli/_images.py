"""``images list|status|create-repo|push``: the project's container registry."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import anyio
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from ..htc.dataplane import ImageSourceError, PushedImage, PushProgress
from ._context import Context
from ._errors import EXIT_OK, CLIError
from ._output import Output

__all__ = ["create_repo", "list_images", "push", "status"]

_REDRAW_EVERY = 0.1
"""Seconds between redraws of the progress bar (a push reports every MiB sent)."""


async def list_images(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        images = await client.images.list(ctx.args.project)
    if out.json:
        out.emit_json(images)
        return EXIT_OK
    if images.container_registry:
        out.line(f"registry: {images.container_registry}")
    out.table(["IMAGE"], ((name,) for name in images.images or []), empty="no images")
    return EXIT_OK


async def status(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        image = await client.images.status(ctx.args.project, ctx.args.image)
    if out.json:
        out.emit_json({"image": ctx.args.image, **image.model_dump(mode="json")})
    else:
        out.line(f"{ctx.args.image}: {image.status or 'unknown'}")
    return EXIT_OK


async def create_repo(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        repository = await client.images.create_repo(ctx.args.project, ctx.args.name)
    if out.json:
        out.emit_json(repository)
    else:
        out.details(repository)
    return EXIT_OK


async def push(ctx: Context) -> int:
    out = ctx.output
    args = ctx.args

    async def pushing(progress: Callable[[PushProgress], None] | None) -> PushedImage:
        async with ctx.client() as client:
            return await client.images.push(
                args.project,
                args.source,
                repository=args.repository,
                tag=args.tag,
                progress=progress,
                wait=not args.no_wait,
            )

    try:
        if out.is_terminal and not out.json:
            pushed = await _with_bar(out, f"pushing {args.repository}", pushing)
        else:
            pushed = await pushing(None)
    except ImageSourceError as exc:  # the input, not the service: a usage error
        raise CLIError(str(exc)) from None
    if out.json:
        out.emit_json({**dataclasses.asdict(pushed), "reference": pushed.reference})
        return EXIT_OK
    out.line(f"pushed {pushed.image}")
    out.line(
        f"  {pushed.reference}: {pushed.blobs_uploaded} blobs uploaded ({pushed.bytes_sent} "
        f"bytes), {pushed.blobs_skipped} already there"
        + ("; READY for jobs" if pushed.ready else "")
    )
    return EXIT_OK


async def _with_bar(
    out: Output,
    description: str,
    pushing: Callable[[Callable[[PushProgress], None]], Awaitable[PushedImage]],
) -> PushedImage:
    """Run ``pushing`` with a progress bar of bytes and blobs on the terminal."""
    bar = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[blobs]}", markup=False),
        TimeElapsedColumn(),
        console=out.console,
        auto_refresh=False,
    )
    task = bar.add_task(description, total=None, blobs="")
    drawn = -_REDRAW_EVERY

    def show(progress: PushProgress) -> None:
        nonlocal drawn
        bar.update(
            task,
            total=progress.bytes_total or None,
            completed=progress.bytes_sent,
            blobs=f"{progress.blobs_done}/{progress.blobs_total} blobs",
        )
        now = anyio.current_time()
        if now - drawn >= _REDRAW_EVERY or progress.blobs_done == progress.blobs_total:
            drawn = now
            bar.refresh()

    with bar:
        return await pushing(show)
