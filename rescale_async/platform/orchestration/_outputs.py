"""Downloading every output of a job into a directory, keeping their relative paths.

Each output goes to ``dir/<relativePath>``; a path that is absolute or climbs out of ``dir``
(``..``, a symlinked parent) is refused before anything is written, and two outputs that would
land on the same path (the same relative path, or one differing only in case) are kept apart:
the later one gets its file id in its name. Files download concurrently, with at most
``connections`` requests in flight across all of them (each file's chunks share them), and at
most that many files open at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from pathlib import Path, PurePosixPath

import anyio

from ..._core.concurrency import run_all
from ..._core.exceptions import DownloadError
from ..._core.options import Sleep
from ..resources.files import Files
from ..resources.jobs import Jobs
from ..types import File, JobLike
from ._download import DownloadedFile, check_transfer, download_file
from ._hooks import ByteProgressHook

__all__ = ["download_all", "download_outputs", "plan_outputs"]

logger = logging.getLogger("rescale_async")


def _relative_parts(file: File) -> tuple[str, ...]:
    """The output's path below the job's directory, as parts; DownloadError if it is not a
    relative path staying inside it.
    """
    text = (file.relative_path or file.name or file.id).replace("\\", "/")
    path = PurePosixPath(text)
    parts = tuple(part for part in path.parts if part not in ("", "."))
    if path.is_absolute() or ".." in parts or not parts or ":" in parts[0]:
        raise DownloadError(
            f"output {file.id} has the path {text!r}, which is not inside the job's directory; "
            "refusing to write it"
        )
    return parts


def plan_outputs(files: Iterable[File], directory: Path) -> list[tuple[File, Path]]:
    """Where each file goes below ``directory``: its relative path, the later of two files
    that would clobber each other renamed ``<stem>.<file id><suffix>``.
    """
    root = directory.resolve()
    taken: set[str] = set()
    planned: list[tuple[File, Path]] = []
    for file in files:
        target = root.joinpath(*_relative_parts(file))
        if str(target).casefold() in taken:
            renamed = target.with_name(f"{target.stem}.{file.id}{target.suffix}")
            logger.warning(
                "outputs %s and another both have the path %s; writing this one to %s",
                file.id,
                target,
                renamed.name,
            )
            target = renamed
        if not target.resolve().is_relative_to(root):
            raise DownloadError(
                f"output {file.id} would be written to {target.resolve()}, outside {root} (a "
                "symbolic link on the way); refusing to write it"
            )
        taken.add(str(target).casefold())
        planned.append((file, target))
    return planned


class _Totals:
    """The bytes of every file downloaded so far, for one progress callback."""

    def __init__(self, planned: Sequence[tuple[File, Path]], progress: ByteProgressHook) -> None:
        self._progress = progress
        self._done = dict.fromkeys(range(len(planned)), 0)
        self._total = sum(file.decrypted_size or 0 for file, _ in planned)

    def hook(self, index: int) -> ByteProgressHook:
        def report(done: int, _total: int) -> None:
            self._done[index] = done
            self._progress(sum(self._done.values()), self._total)

        return report


async def download_all(
    files: Files,
    planned: Sequence[tuple[File, Path]],
    *,
    connections: int,
    chunk_size: int | None,
    progress: ByteProgressHook | None,
    sleep: Sleep,
    on_done: Callable[[DownloadedFile], Awaitable[None]] | None = None,
) -> list[DownloadedFile]:
    """Download each ``(file, path)`` concurrently (see the module), every one to its end;
    the results in order. ``on_done`` is awaited with each file once it is in place.
    """
    requests = anyio.CapacityLimiter(connections)
    open_files = anyio.CapacityLimiter(connections)
    totals = _Totals(planned, progress) if progress is not None else None

    async def fetch(index: int, file: File, path: Path) -> DownloadedFile:
        async with open_files:
            done = await download_file(
                files,
                file,
                path,
                connections=connections,
                chunk_size=chunk_size,
                limiter=requests,
                progress=None if totals is None else totals.hook(index),
                sleep=sleep,
            )
        if on_done is not None:
            await on_done(done)
        return done

    calls = [partial(fetch, i, file, path) for i, (file, path) in enumerate(planned)]
    return await run_all(calls) if calls else []


async def download_outputs(
    jobs: Jobs,
    files: Files,
    job: JobLike,
    directory: Path,
    *,
    search: str | None,
    connections: int,
    chunk_size: int | None,
    progress: ByteProgressHook | None,
    sleep: Sleep,
) -> list[DownloadedFile]:
    """Every output of ``job`` (``search``: those whose name matches) into ``directory``,
    verified, in the listing's order.
    """
    check_transfer(connections, chunk_size)
    listed = await jobs.files(job, search=search).to_list()
    planned = await anyio.to_thread.run_sync(plan_outputs, listed, directory)
    return await download_all(
        files,
        planned,
        connections=connections,
        chunk_size=chunk_size,
        progress=progress,
        sleep=sleep,
    )
