"""``storage upload|download|ls|rm PROJECT [TASK] ...``: a task's storage, or with no TASK the
project's shared storage.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from ..htc.dataplane import TransferProgress, TransferResult
from ..htc.resources.storage import StorageTarget
from ..htc.types import TaskRef
from ._context import Context
from ._errors import EXIT_OK, CLIError
from ._output import Output, when

__all__ = ["download", "list_objects", "remove", "upload"]

T = TypeVar("T")

USAGE = {
    "upload": "PROJECT [TASK] SOURCE",
    "download": "PROJECT [TASK] KEY DEST",
    "ls": "PROJECT [TASK]",
    "rm": "PROJECT [TASK] KEY",
}
"""Each command's operands: a TASK names the task's storage, none the project's shared one."""
REDRAW_SECONDS = 0.1


def operands(args: argparse.Namespace, command: str, after: int) -> tuple[StorageTarget, list[str]]:
    """The storage the operands name (``PROJECT [TASK]``) and the ``after`` operands that
    follow it; a usage error when their number does not fit.
    """
    given: list[str] = args.operands
    if not after + 1 <= len(given) <= after + 2:
        raise CLIError(f"storage {command} takes {USAGE[command]}, got {len(given)} operands")
    if len(given) == after + 2:
        return TaskRef(given[0], given[1]), given[2:]
    return given[0], given[1:]


def where(target: StorageTarget) -> str:
    return (
        f"task {target.task_id}" if isinstance(target, TaskRef) else "the project's shared storage"
    )


class _Bar:
    """A progress bar of bytes and files, redrawn at most every ``REDRAW_SECONDS``."""

    def __init__(self, out: Output, description: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[files]}", markup=False),
            TimeElapsedColumn(),
            console=out.console,
            auto_refresh=False,
            transient=True,
        )
        self.task = self.progress.add_task(description, total=None, files="")
        self.drawn = -REDRAW_SECONDS

    def __call__(self, event: TransferProgress) -> None:
        self.progress.update(
            self.task,
            total=event.bytes_total,
            completed=event.bytes_done,
            files=f"{event.files_done}/{event.files_total} files",
        )
        now = anyio.current_time()
        if now - self.drawn >= REDRAW_SECONDS or event.files_done == event.files_total:
            self.drawn = now
            self.progress.refresh()


async def _transfer(
    ctx: Context,
    description: str,
    run: Callable[[Callable[[TransferProgress], None] | None], Awaitable[T]],
) -> T:
    """``run(progress)``, with a bar on a terminal (none for JSON or a pipe)."""
    out = ctx.output
    if not out.is_terminal or out.json:
        return await run(None)
    bar = _Bar(out, description)
    with bar.progress:
        return await run(bar)


def _report(out: Output, verb: str, result: TransferResult) -> int:
    if out.json:
        out.emit_json(
            {
                "transferred": [vars(o) for o in result.transferred],
                "skipped": [vars(o) for o in result.skipped],
                "bytes": result.bytes,
            }
        )
        return EXIT_OK
    skipped = f", {len(result.skipped)} already there" if result.skipped else ""
    out.line(f"{verb} {len(result.transferred)} files ({result.bytes} bytes){skipped}")
    return EXIT_OK


async def upload(ctx: Context) -> int:
    args = ctx.args
    target, (source,) = operands(args, "upload", 1)

    async def run(progress: Callable[[TransferProgress], None] | None) -> TransferResult:
        async with ctx.client() as client:
            return await client.storage.upload(
                target,
                source,
                args.dest,
                region=args.region,
                progress=progress,
                concurrency=args.concurrency,
            )

    try:
        result = await _transfer(ctx, f"uploading to {where(target)}", run)
    except OSError as exc:  # the local side: a usage error
        raise CLIError(f"cannot upload {source}: {exc.strerror or exc}") from None
    return _report(ctx.output, "uploaded", result)


async def download(ctx: Context) -> int:
    args = ctx.args
    target, (key, dest) = operands(args, "download", 2)

    async def run(progress: Callable[[TransferProgress], None] | None) -> TransferResult:
        async with ctx.client() as client:
            return await client.storage.download(
                target,
                key,
                dest,
                region=args.region,
                progress=progress,
                concurrency=args.concurrency,
            )

    try:
        result = await _transfer(ctx, f"downloading from {where(target)}", run)
    except OSError as exc:
        raise CLIError(f"cannot write {dest}: {exc.strerror or exc}") from None
    return _report(ctx.output, "downloaded", result)


async def list_objects(ctx: Context) -> int:
    args = ctx.args
    target, _ = operands(args, "ls", 0)
    out = ctx.output
    async with ctx.client() as client:
        found = [o async for o in client.storage.list(target, args.prefix, region=args.region)]
    if out.json:
        out.emit_json([vars(o) for o in found])
        return EXIT_OK
    rows: list[tuple[Any, ...]] = [
        (o.key, o.size, when(o.modified), o.checksum or "") for o in found
    ]
    out.table(["KEY", "SIZE", "MODIFIED", "CHECKSUM"], rows, empty="no objects")
    return EXIT_OK


async def remove(ctx: Context) -> int:
    args = ctx.args
    target, (key,) = operands(args, "rm", 1)
    async with ctx.client() as client:
        deleted = await client.storage.delete(target, key, region=args.region)
    if ctx.output.json:
        ctx.output.emit_json({"deleted": deleted})
    else:
        ctx.output.line(f"deleted {deleted} objects")
    return EXIT_OK
