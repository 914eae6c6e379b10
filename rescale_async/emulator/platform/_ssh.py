"""The SSH side of the platform emulator: each executing job's "cluster" answers on SSH.

The runner opens a server for a job when it starts executing (127.0.0.1, a port of its own, a
host key generated for it) and closes it when the job's commands end (a stop included). The
servers are asyncssh, which runs on asyncio only: under trio they run on the bridge's own loop
thread. Without asyncssh installed (the ``ssh`` extra) nothing is opened and the instances
report port 22, as a cluster nobody can log in to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from ..._core.asyncio_bridge import AsyncioBridge

if TYPE_CHECKING:
    from ._ssh_server import JobServer

__all__ = ["ClusterHosts"]

logger = logging.getLogger("rescale_async.emulator")


def _asyncssh_installed() -> bool:
    try:
        import asyncssh  # noqa: F401, PLC0415 - only probing
    except ImportError:
        return False
    return True


class ClusterHosts:
    """The SSH servers of the executing jobs, by job id. ``public_key()`` is the OpenSSH
    public key line registered in the user profile (None: nobody can log in).
    """

    def __init__(self, public_key: Callable[[], str | None]) -> None:
        self._public_key = public_key
        self._bridge = AsyncioBridge("rescale-emulator-ssh")
        self._servers: dict[str, JobServer] = {}
        self.available = _asyncssh_installed()
        """Whether asyncssh is installed, so jobs get SSH servers."""
        self.opened = 0
        """Servers opened so far."""

    def port(self, job_id: str) -> int | None:
        """The port of the job's server, while it is open."""
        server = self._servers.get(job_id)
        return server.port if server is not None else None

    @property
    def open_count(self) -> int:
        """Servers open now."""
        return len(self._servers)

    async def open(self, job_id: str, work: Path, environment: Mapping[str, str]) -> int | None:
        """Start the job's server (its commands run in ``work`` with ``environment``); its
        port, or None without asyncssh.
        """
        if not self.available:
            logger.warning("asyncssh is not installed: job %s answers no SSH", job_id)
            return None
        from ._ssh_server import open_job_server  # noqa: PLC0415 - needs asyncssh

        async def start() -> JobServer:
            return await open_job_server(
                work=work, environment=environment, public_key=self._public_key
            )

        server = await self._bridge.run(start)
        self._servers[job_id] = server
        self.opened += 1
        logger.info("job %s answers SSH on 127.0.0.1:%d", job_id, server.port)
        return server.port

    async def close(self, job_id: str) -> None:
        """Close the job's server and its connections (shielded: it is cleanup)."""
        server = self._servers.pop(job_id, None)
        if server is None:
            return
        with anyio.CancelScope(shield=True):
            await self._bridge.run(server.close)

    async def aclose(self) -> None:
        """Close every server, then the bridge."""
        with anyio.CancelScope(shield=True):
            for job_id in list(self._servers):
                await self.close(job_id)
            await self._bridge.aclose()
