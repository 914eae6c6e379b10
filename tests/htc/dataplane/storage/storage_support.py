"""Helpers for the storage tests: the real moto S3 server behind the emulator's storage gate,
an emulator whose storage tokens point at it, trees of files, and the gate's request log.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from rescale_async import HTCClient, TaskRef
from rescale_async.emulator import Emulator
from rescale_async.emulator.storage import StorageServer, moto_installed, storage_server

FAST: dict[str, Any] = {"refresh_interval": 0.02, "seed": 11, "kill_grace": 0.5}
MiB = 1024 * 1024


def running_storage() -> Iterator[StorageServer]:
    """moto's S3 behind the gate, in a child process (a module-scoped fixture's body)."""
    if not moto_installed():
        message = (
            "moto[server] is not installed (pip install 'moto[server]'; the test extra has it)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{message}, and CI must run these tests")
        pytest.skip(message)
    with storage_server() as server:
        yield server


@asynccontextmanager
async def storage_emulator(server: StorageServer, **overrides: Any) -> AsyncIterator[Emulator]:
    """An in-process emulator whose storage tokens reach ``server``."""
    async with Emulator(**{**FAST, **server.config(), **overrides}) as emulator:
        yield emulator


async def new_task(client: HTCClient, project_id: str, name: str = "storage") -> TaskRef:
    task = await client.tasks.create(project_id, name=name)
    assert task.task_id is not None
    return TaskRef(project_id, task.task_id)


def make_tree(root: Path, count: int, *, size: int = 64) -> dict[str, bytes]:
    """``count`` small files under ``root`` in a few nested folders; relative path -> bytes."""
    files = {}
    for index in range(count):
        relative = f"d{index % 7}/s{index % 3}/f{index:05d}.bin"
        data = index.to_bytes(4, "big") + os.urandom(size - 4)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[relative] = data
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden partial files included): relative path -> bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def random_file(path: Path, size: int) -> str:
    """A file of ``size`` random bytes (written 1 MiB at a time); its MD5."""
    digest = hashlib.md5(usedforsecurity=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        left = size
        while left:
            chunk = os.urandom(min(MiB, left))
            digest.update(chunk)
            file.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        while chunk := file.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def gets(requests: list[dict[str, Any]], key_part: str = "") -> list[dict[str, Any]]:
    """The GETs of objects in a request log (listings are GETs of the bucket: not counted)."""
    return [
        r
        for r in requests
        if r["method"] == "GET" and r["key"] is not None and key_part in r["key"]
    ]
