"""The storage calls' work, run on the engine's side: one function per call of the facade."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import anyio

from ...._core.exceptions import StorageNotFoundError
from ._bridge import CallerLoop
from ._download import DownloadItem, download_all
from ._engine import S3Session
from ._listing import Page, delete_keys, list_page, named_objects
from ._models import StoredObject, TransferProgressHook, TransferResult
from ._plan import UploadItem, local_path
from ._progress import Reporter
from ._upload import upload_all

__all__ = ["delete", "download", "list_objects", "plan_download", "upload"]

logger = logging.getLogger("rescale_async")


async def upload(
    s3: S3Session,
    caller: CallerLoop,
    items: Sequence[UploadItem],
    *,
    part_size: int,
    concurrency: int,
    progress: TransferProgressHook | None,
) -> TransferResult:
    reporter = Reporter(
        "upload",
        progress,
        caller,
        files_total=len(items),
        bytes_total=sum(item.size for item in items),
    )
    done = await upload_all(
        s3, items, part_size=part_size, concurrency=concurrency, reporter=reporter
    )
    return TransferResult(tuple(done), (), reporter.bytes_moved)


def plan_download(
    key_or_prefix: str, objects: Sequence[StoredObject], dest: Path, *, dest_is_dir: bool
) -> list[DownloadItem]:
    """Where each object goes: the one object ``key_or_prefix`` names goes to ``dest`` (or
    into it, when it is a directory); the objects under it, taken as a folder, go under
    ``dest`` by their keys relative to it.
    """
    if len(objects) == 1 and objects[0].key == key_or_prefix:
        name = key_or_prefix.rsplit("/", 1)[-1]
        return [DownloadItem(objects[0], local_path(dest, name) if dest_is_dir else dest)]
    folder = (
        key_or_prefix if not key_or_prefix or key_or_prefix.endswith("/") else key_or_prefix + "/"
    )
    items = []
    for stored in objects:
        if not stored.key.startswith(folder):
            logger.warning(
                "not downloading %r: an object named like the folder %r it is beside",
                stored.key,
                folder,
            )
            continue
        items.append(DownloadItem(stored, local_path(dest, stored.key[len(folder) :])))
    return items


async def download(
    s3: S3Session,
    caller: CallerLoop,
    key_or_prefix: str,
    dest: Path,
    *,
    concurrency: int,
    progress: TransferProgressHook | None,
) -> TransferResult:
    objects = await named_objects(s3, key_or_prefix)
    if not objects:
        raise StorageNotFoundError(
            f"no object {key_or_prefix!r}, and none under it, in {s3.area_name}",
            key=key_or_prefix,
        )
    dest_is_dir = await anyio.to_thread.run_sync(dest.is_dir)
    items = plan_download(key_or_prefix, objects, dest, dest_is_dir=dest_is_dir)
    reporter = Reporter(
        "download",
        progress,
        caller,
        files_total=len(items),
        bytes_total=sum(item.stored.size for item in items),
    )
    transferred, skipped = await download_all(s3, items, concurrency=concurrency, reporter=reporter)
    return TransferResult(tuple(transferred), tuple(skipped), reporter.bytes_moved)


async def list_objects(s3: S3Session, caller: CallerLoop, prefix: str, token: str | None) -> Page:
    return await list_page(s3, prefix, token)


async def delete(s3: S3Session, caller: CallerLoop, key_or_prefix: str) -> int:
    objects = await named_objects(s3, key_or_prefix)
    return await delete_keys(s3, [stored.key for stored in objects])
