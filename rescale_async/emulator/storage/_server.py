"""Starting the storage server (moto behind the gate) in a child process, and its control API.

``with storage_server() as storage: Emulator(**storage.config())`` gives an emulator whose
storage tokens reach a real S3 API; ``python -m rescale_async.emulator --with-storage`` does
the same for the served emulator.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import anyio
import httpx

from ._gate import CONTROL_ROOT, SECRET_HEADER, Fault

__all__ = [
    "StorageControl",
    "StorageServer",
    "StorageUnavailableError",
    "aws_region_of",
    "bucket_for",
    "moto_installed",
    "serving_storage",
    "storage_server",
]

ENV_SECRET = "RESCALE_EMULATOR_STORAGE_SECRET"  # noqa: S105 - a variable's name, not a secret
"""The environment variable handing the gate its secret (never the command line)."""
START_TIMEOUT = 60.0
"""Seconds the child gets to import moto and listen."""


class StorageUnavailableError(RuntimeError):
    """The storage server cannot start: moto[server] is not installed, or it failed."""


def bucket_for(region: str) -> str:
    """The emulator's bucket for a Rescale region (``AWS_US_EAST_2`` -> ``emulator-storage-
    aws-us-east-2``): one per region, as the service has.
    """
    return f"emulator-storage-{region.lower().replace('_', '-')}"


def aws_region_of(region: str) -> str:
    """The AWS region of a Rescale region (``AWS_US_EAST_2`` -> ``us-east-2``); other
    providers' regions get ``us-east-1`` (the emulator's S3 serves every region).
    """
    if region.startswith("AWS_"):
        return region[len("AWS_") :].lower().replace("_", "-")
    return "us-east-1"


@dataclass(frozen=True)
class StorageServer:
    """A running storage server: its S3 ``endpoint`` and the ``secret`` shared with it."""

    endpoint: str
    secret: str = field(repr=False)

    def config(self) -> dict[str, Any]:
        """The ``EmulatorConfig`` fields pointing an emulator at this server."""
        return {"storage_endpoint": self.endpoint, "storage_secret": self.secret}

    def control(self) -> StorageControl:
        """A client of the server's control API."""
        return StorageControl(self.endpoint, self.secret)


class StorageControl:
    """The gate's control API: buckets, faults, the request log, token revocation."""

    def __init__(self, endpoint: str, secret: str) -> None:
        self._root = endpoint.rstrip("/") + CONTROL_ROOT
        self._headers = {SECRET_HEADER: secret}

    def __repr__(self) -> str:
        return f"StorageControl({self._root!r})"

    async def _call(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(timeout=30.0) as http:
            response = await http.request(
                method, self._root + name, json=body, headers=self._headers
            )
        if response.status_code != 200:
            raise StorageUnavailableError(
                f"storage control {method} {name}: {response.status_code} {response.text[:300]}"
            )
        return response.json()

    async def create_buckets(self, regions: Iterable[str]) -> None:
        """Create the bucket of each Rescale region (existing ones are kept)."""
        buckets = [{"name": bucket_for(r), "region": aws_region_of(r)} for r in regions]
        await self._call("POST", "buckets", {"buckets": buckets})

    async def add_faults(self, *faults: Fault) -> None:
        """Inject ``faults`` (see ``Fault``) into the S3 requests that match them."""
        await self._call("POST", "faults", {"faults": [asdict(fault) for fault in faults]})

    async def clear_faults(self) -> None:
        await self._call("DELETE", "faults")

    async def requests(self) -> list[dict[str, Any]]:
        """The S3 requests seen since the last ``clear_requests``: method, bucket, key,
        query parameter names, Range header, status.
        """
        answer: dict[str, Any] = await self._call("GET", "requests")
        requests: list[dict[str, Any]] = answer["requests"]
        return requests

    async def clear_requests(self) -> None:
        await self._call("DELETE", "requests")

    async def expire_tokens(self, *, after_requests: int = 0) -> None:
        """Make every session token issued so far expire now, or once ``after_requests``
        more S3 requests have been let through (tokens issued later stay good).
        """
        await self._call("POST", "expire", {"after_requests": after_requests})


def moto_installed() -> bool:
    """Whether moto's server (``moto[server]``: moto, flask, werkzeug) can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("moto", "flask", "werkzeug"))


@contextmanager
def storage_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[StorageServer]:
    """Run the storage server in a child process while in the block (for sync and async code
    alike: starting it blocks for as long as moto takes to import, about a second).
    """
    if not moto_installed():
        raise StorageUnavailableError(
            "the emulator's storage needs moto's S3 server: pip install 'moto[server]'"
        )
    secret = secrets.token_urlsafe(32)
    process = subprocess.Popen(  # noqa: S603 - our own module, no shell
        [
            sys.executable,
            "-m",
            "rescale_async.emulator.storage",
            "--host",
            host,
            "--port",
            str(port),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, ENV_SECRET: secret},
    )
    try:
        endpoint = _endpoint_from(process)
        yield StorageServer(endpoint, secret)
    finally:
        _stop(process)


@asynccontextmanager
async def serving_storage(host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[StorageServer]:
    """``storage_server`` for async code: started and stopped in a worker thread."""
    manager = storage_server(host, port)
    server = await anyio.to_thread.run_sync(manager.__enter__)
    try:
        yield server
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(manager.__exit__, None, None, None)


def _endpoint_from(process: subprocess.Popen[bytes]) -> str:
    """The endpoint the child announces on its first line (an error if it dies first)."""
    stdout = process.stdout
    assert stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    try:
        return str(json.loads(lines[0])["endpoint"])
    except (IndexError, ValueError, KeyError, TypeError):
        code = process.poll()
        raise StorageUnavailableError(
            "the storage server did not start"
            + (f" (exit code {code})" if code is not None else f" within {START_TIMEOUT:.0f} s")
        ) from None


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        process.stdin.close()  # the child stops when its stdin closes
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
