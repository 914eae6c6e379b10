"""A real OCI registry on loopback for the emulator: Debian's ``docker-registry`` (the CNCF
distribution registry), in-memory storage, HTTP Basic auth like ECR's (user ``AWS``).

``async with local_registry() as registry: Emulator(registry_address=registry.address,
registry_password=registry.password)``. Needs ``docker-registry`` (or upstream ``registry``)
and ``htpasswd`` (``apt-get install docker-registry apache2-utils``).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio
import anyio.abc
from anyio.streams.text import TextReceiveStream

__all__ = [
    "LocalRegistry",
    "RegistryNotInstalledError",
    "local_registry",
    "registry_binary",
    "registry_missing",
]

logger = logging.getLogger("rescale_async.emulator")

USER = "AWS"
_LISTENING = re.compile(r'listening on (\S+?)"?(?:\s|$)')
_INSTALL = "apt-get install docker-registry apache2-utils"


class RegistryNotInstalledError(RuntimeError):
    """``docker-registry`` or ``htpasswd`` is not installed."""


@dataclass
class LocalRegistry:
    """A running registry: ``address`` (``127.0.0.1:<port>``), user ``AWS``, ``password``."""

    address: str
    directory: Path
    """Its private directory (mode 0700): configuration and the htpasswd file (0600)."""
    password: str = field(repr=False)

    async def set_password(self, password: str) -> None:
        """Replace the password (the registry rereads its htpasswd file on the next request)."""
        await _write_htpasswd(self.directory / "htpasswd", password)
        self.password = password


def registry_binary() -> str | None:
    """The registry program on PATH: Debian's ``docker-registry``, or upstream ``registry``."""
    return shutil.which("docker-registry") or shutil.which("registry")


def registry_missing() -> str | None:
    """What is missing to run a local registry, with how to install it; None: nothing."""
    if registry_binary() is None:
        return f"docker-registry is not installed: {_INSTALL}"
    if shutil.which("htpasswd") is None:
        return f"htpasswd (apache2-utils) is not installed: {_INSTALL}"
    return None


@asynccontextmanager
async def local_registry(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    password: str | None = None,
    storage: Literal["filesystem", "memory"] = "filesystem",
    startup_seconds: float = 15.0,
) -> AsyncIterator[LocalRegistry]:
    """Run a registry on ``host:port`` (0: a free port) while in the block, keeping blobs in
    its private directory (removed at the end), or in memory (quick to start, but the
    registry's memory driver slows down quadratically past a few tens of MiB per blob).
    """
    missing = registry_missing()
    if missing is not None:
        raise RegistryNotInstalledError(missing)
    binary = registry_binary()
    assert binary is not None
    secret = password or secrets.token_urlsafe(24)
    directory = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, "", "htc-registry-"))
    try:
        await _write_htpasswd(directory / "htpasswd", secret)
        config = directory / "config.yml"
        text = _config(directory, host, port, storage)
        await anyio.to_thread.run_sync(_write_private, config, text)
        process = await anyio.open_process(
            [binary, "serve", str(config)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        try:
            async with anyio.create_task_group() as group:
                address = await group.start(_watch_log, process, startup_seconds)
                yield LocalRegistry(address, directory, secret)
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(process)
    finally:
        await anyio.to_thread.run_sync(shutil.rmtree, directory, True)


def _config(directory: Path, host: str, port: int, storage: str) -> str:
    where = (
        "inmemory: {}"
        if storage == "memory"
        else f"filesystem:\n    rootdirectory: {directory / 'blobs'}"
    )
    return f"""\
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  {where}
  delete:
    enabled: true
http:
  addr: {"[" + host + "]" if ":" in host else host}:{port}
  secret: {secrets.token_hex(16)}
auth:
  htpasswd:
    realm: rescale-emulator-registry
    path: {directory / "htpasswd"}
"""


async def _write_htpasswd(path: Path, password: str) -> None:
    """``AWS:<bcrypt of password>`` into ``path`` (0600), written whole then renamed."""
    result = await anyio.run_process(
        ["htpasswd", "-niB", USER], input=password.encode(), check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"htpasswd failed: {result.stderr.decode(errors='replace').strip()}")
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")  # concurrent writers
    await anyio.to_thread.run_sync(_write_private, partial, result.stdout.decode())
    await anyio.to_thread.run_sync(os.replace, partial, path)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


async def _watch_log(
    process: anyio.abc.Process,
    startup_seconds: float,
    *,
    task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Read the registry's log: report the address it listens on, then pass lines to the
    logger (the pipe must be drained, or the registry would block on a full one).
    """
    assert process.stderr is not None
    lines = _lines(TextReceiveStream(process.stderr, errors="replace"))
    seen: list[str] = []
    with anyio.move_on_after(startup_seconds) as waiting:
        async for line in lines:
            seen.append(line)
            found = _LISTENING.search(line)
            if found:
                task_status.started(found[1])
                break
        else:
            raise RuntimeError(f"docker-registry exited at start: {' | '.join(seen[-5:])}")
    if waiting.cancelled_caught:
        raise RuntimeError(f"docker-registry did not start within {startup_seconds} s")
    async for line in lines:
        logger.debug("docker-registry: %s", line)


async def _lines(stream: TextReceiveStream) -> AsyncIterator[str]:
    pending = ""
    async for text in stream:
        pending += text
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line
    if pending:
        yield pending


async def _stop(process: anyio.abc.Process) -> None:
    if process.returncode is None:
        process.terminate()
        with anyio.move_on_after(5):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
    await process.aclose()
