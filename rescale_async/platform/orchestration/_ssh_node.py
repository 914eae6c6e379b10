"""One node of a cluster over SSH (asyncssh, through the cluster's asyncio bridge): connecting
with the profile's key and the cluster's host-key policy, running commands (whole or streamed
line by line), and an SFTP session for copies.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import asyncssh

from ..._core.asyncio_bridge import AsyncioBridge
from ..._core.exceptions import (
    ClusterAuthenticationError,
    CommandError,
    CommandTimeoutError,
    HostKeyError,
)
from ..types.clusters import Result
from ._ssh_host_keys import HostKeyPolicy, TrustingClient

__all__ = ["NodeConnection", "connect_node", "with_environment"]

logger = logging.getLogger("rescale_async")

_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_CLOSE_GRACE = 5.0


def with_environment(command: str, env: Mapping[str, str] | None) -> str:
    """``command`` preceded by ``export NAME=value`` for each variable (quoted): any server
    runs it, whatever its ``AcceptEnv``. A ValueError names a variable that is not a name.
    """
    if not env:
        return command
    bad = sorted(name for name in env if not _NAME.match(name))
    if bad:
        raise ValueError(f"env names must be shell variable names (letters, digits, _), got {bad}")
    exports = " ".join(f"{name}={shlex.quote(str(value))}" for name, value in env.items())
    return f"export {exports}; {command}"


class NodeConnection:
    """An open SSH connection to one node; every asyncssh call crosses ``bridge``."""

    def __init__(
        self,
        connection: asyncssh.SSHClientConnection,
        bridge: AsyncioBridge,
        *,
        host: str,
        port: int,
        username: str,
    ) -> None:
        self._connection = connection
        self._bridge = bridge
        self._sftp: asyncssh.SFTPClient | None = None
        self._sftp_lock = anyio.Lock()
        self.host = host
        self.port = port
        self.username = username

    def __repr__(self) -> str:
        return f"NodeConnection({self.username}@{self.host}:{self.port})"

    async def run(
        self,
        command: str,
        *,
        check: bool,
        timeout: float | None,  # noqa: ASYNC109 - asyncssh closes the channel on it
        env: Mapping[str, str] | None,
    ) -> Result:
        full = with_environment(command, env)
        connection = self._connection

        async def call() -> asyncssh.SSHCompletedProcess:
            return await connection.run(full, check=False, timeout=timeout)

        try:
            done = await self._bridge.run(call)
        except asyncssh.TimeoutError:
            raise CommandTimeoutError(
                f"{command!r} on {self.host}:{self.port} did not end within {timeout} s"
            ) from None
        result = Result(
            command=command,
            exit_status=done.exit_status if done.exit_signal is None else None,
            stdout=_text(done.stdout),
            stderr=_text(done.stderr),
        )
        if check and not result.ok:
            raise command_error(result, self.host, self.port)
        return result

    async def stream(
        self, command: str, *, check: bool, env: Mapping[str, str] | None
    ) -> AsyncIterator[str]:
        """The lines ``command`` prints (stdout and stderr together), each as it comes."""
        full = with_environment(command, env)
        connection = self._connection
        bridge = self._bridge

        async def start() -> asyncssh.SSHClientProcess[str]:
            return await connection.create_process(full, stderr=asyncssh.STDOUT)

        process = await bridge.run(start)
        tail: list[str] = []
        try:
            while True:
                line = await bridge.run(process.stdout.readline)
                if not line:
                    break
                tail = [*tail[-9:], line]
                yield line.rstrip("\n")

            async def finish() -> asyncssh.SSHCompletedProcess:
                return await process.wait()

            done = await bridge.run(finish)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_GRACE):

                async def close() -> None:
                    process.close()
                    await process.wait_closed()

                await bridge.run(close)
        status = done.exit_status if done.exit_signal is None else None
        if check and status != 0:
            result = Result(command=command, exit_status=status, stderr="".join(tail))
            raise command_error(result, self.host, self.port)

    async def sftp(self) -> asyncssh.SFTPClient:
        """The node's SFTP session (opened at the first copy, kept)."""
        async with self._sftp_lock:
            if self._sftp is None:
                connection = self._connection

                async def start() -> asyncssh.SFTPClient:
                    return await connection.start_sftp_client()

                self._sftp = await self._bridge.run(start)
            return self._sftp

    async def call(self, factory: Any) -> Any:
        """Run an asyncssh coroutine for this node (through its bridge)."""
        return await self._bridge.run(factory)

    async def aclose(self) -> None:
        """Close the SFTP session and the connection (shielded, bounded)."""
        connection, sftp = self._connection, self._sftp
        self._sftp = None

        async def close() -> None:
            if sftp is not None:
                sftp.exit()
            connection.close()
            await connection.wait_closed()

        with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_GRACE):
            await self._bridge.run(close)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def command_error(result: Result, host: str, port: int) -> CommandError:
    tail = result.stderr_tail()
    status = (
        f"exited with status {result.exit_status}"
        if result.exit_status is not None
        else "was killed by a signal"
    )
    told = f"; its stderr ends with:\n{tail}" if tail else " (nothing on stderr)"
    return CommandError(f"{result.command!r} on {host}:{port} {status}{told}", result=result)


async def connect_node(
    bridge: AsyncioBridge,
    *,
    host: str,
    port: int,
    username: str,
    key: asyncssh.SSHKey,
    key_path: Path,
    policy: HostKeyPolicy,
    connect_timeout: float,
) -> NodeConnection:
    """Log in to ``username@host:port`` with ``key`` only (no agent, no ssh config, no other
    key), its host key checked by ``policy``. HostKeyError, ClusterAuthenticationError, or
    OSError/asyncssh errors for a node that does not answer (yet).
    """
    await policy.load()
    trusted = policy.trusted(host, port)

    async def connect() -> asyncssh.SSHClientConnection:
        return await asyncssh.connect(
            host,
            port,
            username=username,
            client_keys=[key],
            known_hosts=trusted,  # asyncssh's 7 lists of matches
            client_factory=lambda: TrustingClient(policy, host, port),
            agent_path=None,
            config=[],
            preferred_auth="publickey",
            connect_timeout=connect_timeout,
            login_timeout=connect_timeout,
            encoding="utf-8",
            errors="replace",
        )

    try:
        connection = await bridge.run(connect)
    except asyncssh.HostKeyNotVerifiable:
        offered = policy.offered.get((host, port))
        fingerprint = offered.get_fingerprint() if offered is not None else None
        where = f" ({policy.known_hosts})" if policy.known_hosts else ""
        if policy.is_pinned(host, port):
            advice = "is not the key it offered first (pinned for this cluster); refusing it"
        elif policy.listed(host, port):
            advice = (
                f"differs from the one the known_hosts file{where} holds for it (a new cluster "
                "on a reused address, or someone in between); if the cluster is new, remove "
                f"that entry (ssh-keygen -R '[{host}]:{port}' -f FILE) and connect again"
            )
        else:
            advice = (
                f"is not known; add it to the known_hosts file you pass{where}, or pass "
                "trust_on_first_use=True to accept the key a fresh cluster offers (it cannot "
                "be known before the cluster boots)"
            )
        raise HostKeyError(
            f"the host key of {host}:{port} ({fingerprint or 'unreadable'}) {advice}",
            host=host,
            port=port,
            fingerprint=fingerprint,
        ) from None
    except asyncssh.PermissionDenied:
        raise ClusterAuthenticationError(
            f"{username}@{host}:{port} refused the private key {key_path}: its public key must "
            "be the one registered in your Rescale user profile (users/me/ publicKey)"
        ) from None
    await policy.record()
    return NodeConnection(connection, bridge, host=host, port=port, username=username)
