"""Copies between this machine and a node over SFTP: files and trees, several files at a time,
each verified. The size always; the SHA-256 too, hashed on the node with ``sha256sum`` (one
command per batch of files) when it has one. A download lands under a temporary name and is
renamed only once verified; nothing is left of one that fails.
"""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import anyio
import asyncssh

from ..._core.concurrency import run_all
from ..._core.exceptions import TransferError
from ..types.clusters import Transfer
from ._hooks import ByteProgressHook
from ._ssh_node import NodeConnection

__all__ = ["download", "upload"]

_HASH_BATCH = 64
"""Files hashed by one ``sha256sum`` command."""
_PART = ".part"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _local_tree(root: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """The directories and files (relative POSIX paths, sizes) under ``root``."""
    directories: list[str] = []
    files: list[tuple[str, int]] = []
    for directory, subdirectories, names in os.walk(root):
        base = Path(directory)
        subdirectories.sort()
        for sub in subdirectories:
            directories.append((base / sub).relative_to(root).as_posix())
        for name in sorted(names):
            path = base / name
            if path.is_file():
                files.append((path.relative_to(root).as_posix(), path.stat().st_size))
    return directories, files


class _Progress:
    """Bytes done over the total, reported as each file completes."""

    def __init__(self, total: int, hook: ByteProgressHook | None) -> None:
        self.total = total
        self.done = 0
        self._hook = hook

    def add(self, size: int) -> None:
        self.done += size
        if self._hook is not None:
            self._hook(self.done, self.total)


async def remote_hashes(node: NodeConnection, paths: Sequence[str]) -> dict[str, str] | None:
    """The SHA-256 of each remote file, by path; None when the node has no ``sha256sum``."""
    found: dict[str, str] = {}
    for start in range(0, len(paths), _HASH_BATCH):
        batch = paths[start : start + _HASH_BATCH]
        command = "sha256sum -- " + " ".join(shlex.quote(p) for p in batch)
        result = await node.run(command, check=False, timeout=None, env=None)
        if result.exit_status == 127:
            return None
        for line in result.stdout.splitlines():
            digest, _, name = line.partition("  ")
            if len(digest) == 64:
                found[name] = digest.lower()
    return found


async def upload(
    node: NodeConnection,
    local: Path,
    remote: str,
    *,
    concurrency: int,
    progress: ByteProgressHook | None,
) -> Transfer:
    """Copy a file or a tree to ``remote`` on the node, verified."""
    sftp = await node.sftp()
    if await anyio.Path(local).is_dir():
        directories, files = await anyio.to_thread.run_sync(_local_tree, local)
        pairs = [(local / rel, posixpath.join(remote, rel), size) for rel, size in files]
        for directory in ["", *directories]:
            target = posixpath.join(remote, directory) if directory else remote

            async def makedirs(target: str = target) -> None:
                await sftp.makedirs(target, exist_ok=True)

            await node.call(makedirs)
    elif await anyio.Path(local).is_file():
        size = (await anyio.Path(local).stat()).st_size
        pairs = [(local, remote, size)]
    else:
        raise TransferError(f"cannot upload {local}: no such file or directory")
    meter = _Progress(sum(size for _, _, size in pairs), progress)
    limiter = anyio.CapacityLimiter(concurrency)

    async def put_one(source: Path, target: str, size: int) -> None:
        async with limiter:

            async def put() -> None:
                await sftp.put(str(source), target)

            await node.call(put)
        meter.add(size)

    await run_all([functools.partial(put_one, s, t, z) for s, t, z in pairs])
    verified = await _verify_upload(node, sftp, pairs)
    return Transfer(
        source=str(local),
        destination=remote,
        files=tuple(target for _, target, _ in pairs),
        bytes=meter.total,
        verified=verified,
    )


async def _verify_upload(
    node: NodeConnection, sftp: asyncssh.SFTPClient, pairs: list[tuple[Path, str, int]]
) -> Literal["sha256", "size"]:
    for _, target, size in pairs:
        got = await _remote_size(node, sftp, target)
        if got != size:
            raise TransferError(f"uploaded {target} has {got} bytes on the node, not {size}")
    hashes = await remote_hashes(node, [target for _, target, _ in pairs])
    if hashes is None:
        return "size"
    for source, target, _ in pairs:
        expected = await anyio.to_thread.run_sync(_sha256, source)
        if hashes.get(target) != expected:
            raise TransferError(
                f"uploaded {target} does not hash to the SHA-256 of {source} on the node "
                f"(node: {hashes.get(target)}, local: {expected})"
            )
    return "sha256"


async def _remote_size(node: NodeConnection, sftp: asyncssh.SFTPClient, path: str) -> int | None:
    async def stat() -> int | None:
        attrs = await sftp.stat(path)
        return attrs.size

    result: int | None = await node.call(stat)
    return result


async def _remote_tree(
    node: NodeConnection, sftp: asyncssh.SFTPClient, root: str
) -> list[tuple[str, int]] | None:
    """The files (relative paths, sizes) under ``root`` on the node; None when it is a file."""

    async def walk() -> list[tuple[str, int]] | None:
        if not await sftp.isdir(root):
            return None
        found: list[tuple[str, int]] = []
        pending = [""]
        while pending:
            relative = pending.pop()
            directory = posixpath.join(root, relative) if relative else root
            for entry in await sftp.readdir(directory):
                name = str(entry.filename)
                if name in (".", ".."):
                    continue
                path = posixpath.join(relative, name) if relative else name
                kind = entry.attrs.type
                if kind == asyncssh.FILEXFER_TYPE_DIRECTORY:
                    pending.append(path)
                elif kind == asyncssh.FILEXFER_TYPE_REGULAR:
                    found.append((path, entry.attrs.size or 0))
        return sorted(found)

    result: list[tuple[str, int]] | None = await node.call(walk)
    return result


async def download(
    node: NodeConnection,
    remote: str,
    local: Path,
    *,
    concurrency: int,
    progress: ByteProgressHook | None,
) -> Transfer:
    """Copy a file or a tree from ``remote`` on the node to ``local``, verified."""
    sftp = await node.sftp()
    try:
        tree = await _remote_tree(node, sftp, remote)
        if tree is None:
            size = await _remote_size(node, sftp, remote)
            pairs = [(remote, local, size or 0)]
        else:
            pairs = [(posixpath.join(remote, rel), local / rel, size) for rel, size in tree]
    except asyncssh.SFTPNoSuchFile:
        raise TransferError(f"cannot download {remote}: no such file on the node") from None
    hashes = await remote_hashes(node, [source for source, _, _ in pairs])
    meter = _Progress(sum(size for _, _, size in pairs), progress)
    limiter = anyio.CapacityLimiter(concurrency)

    async def get_one(source: str, target: Path, size: int) -> None:
        async with limiter:
            await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True)
            part = target.with_name(target.name + _PART)

            async def get() -> None:
                await sftp.get(source, str(part))

            try:
                await node.call(get)
                await _verify_download(part, source, size, None if hashes is None else hashes)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await anyio.Path(part).unlink(missing_ok=True)
                raise
            await anyio.Path(part).replace(target)
        meter.add(size)

    await run_all([functools.partial(get_one, s, t, z) for s, t, z in pairs])
    return Transfer(
        source=remote,
        destination=str(local),
        files=tuple(str(target) for _, target, _ in pairs),
        bytes=meter.total,
        verified="size" if hashes is None else "sha256",
    )


async def _verify_download(
    part: Path, source: str, size: int, hashes: dict[str, str] | None
) -> None:
    got = (await anyio.Path(part).stat()).st_size
    if got != size:
        raise TransferError(f"downloaded {source} has {got} bytes, the node has {size}")
    if hashes is None:
        return
    actual = await anyio.to_thread.run_sync(_sha256, part)
    if hashes.get(source) != actual:
        raise TransferError(
            f"downloaded {source} does not hash to its SHA-256 on the node "
            f"(node: {hashes.get(source)}, here: {actual}); nothing was kept"
        )
