"""This SDK's data plane, used the way its guide (docs/data-plane.md) shows: (g) one
``client.images.push``; (h) one ``client.storage.upload`` or ``download`` call.
"""

from __future__ import annotations

import time
from typing import Any

from rescale_async import HTCClient, TaskRef, TransferProgress

__all__ = ["download", "push", "upload"]


def _client(params: dict[str, Any]) -> HTCClient:
    return HTCClient(api_key=params["api_key"], base_url=params["base_url"])


async def push(params: dict[str, Any]) -> dict[str, Any]:
    """(g) ``await client.images.push(project, layout, repository=..., tag=...)``: the
    repository created, the token fetched, blobs HEADed then streamed concurrently, the
    manifest put, READY awaited.
    """
    async with _client(params) as client:
        pushed = await client.images.push(
            params["project_id"],
            params["layout"],
            repository=params["short_repository"],
            tag=params["tag"],
        )
    return {
        "tag": pushed.tag,
        "bytes_sent": pushed.bytes_sent,
        "blobs_uploaded": pushed.blobs_uploaded,
        "blobs_skipped": pushed.blobs_skipped,
        "ready": pushed.ready,
    }


def _task(params: dict[str, Any]) -> TaskRef:
    return TaskRef(params["project_id"], params["task_id"])


async def upload(params: dict[str, Any]) -> dict[str, Any]:
    """(h) ``await client.storage.upload(task, source, dest)``: a file (multipart, parts at
    once) or a tree (files at once), each object verified. Also when the store had
    acknowledged every byte (``last_byte_s``), from the progress hook: for a multipart file,
    what follows is the store assembling the object (CompleteMultipartUpload).
    """
    start = time.perf_counter()
    last_byte: list[float] = []

    def progress(state: TransferProgress) -> None:
        if state.bytes_done == state.bytes_total and not last_byte:
            last_byte.append(time.perf_counter() - start)

    async with _client(params) as client:
        done = await client.storage.upload(
            _task(params), params["source"], params["key"], progress=progress
        )
    result: dict[str, Any] = {"files": len(done.transferred), "bytes": done.bytes}
    if last_byte:
        result["last_byte_s"] = last_byte[0]
        result["after_last_byte_s"] = time.perf_counter() - start - last_byte[0]
    return result


async def download(params: dict[str, Any]) -> dict[str, Any]:
    """(h) ``await client.storage.download(task, key_or_prefix, dest)``: ranged GETs or
    files at once, each verified against the store's checksum, written atomically.
    """
    async with _client(params) as client:
        done = await client.storage.download(_task(params), params["key"], params["dest"])
    return {"files": len(done.transferred) + len(done.skipped), "bytes": done.bytes}
