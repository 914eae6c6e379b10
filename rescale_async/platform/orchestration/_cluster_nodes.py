"""A running cluster and its nodes, as ``clusters.start``/``attach`` hand them out: commands,
streams and verified copies on the head node, on one node, or on every node at once.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio

from ..._core.concurrency import run_all
from ..types import InstanceRole, JobInstance
from ..types.clusters import Result, Transfer
from ._hooks import ByteProgressHook

if TYPE_CHECKING:
    from ._ssh_node import NodeConnection

__all__ = ["Cluster", "Node"]

T = TypeVar("T")

DEFAULT_TRANSFERS = 4
"""Files copied at a time to or from one node."""


class Node:
    """One node of the cluster (``cluster.nodes``), logged in over SSH."""

    def __init__(self, instance: JobInstance, connect: Callable[[], Awaitable[NodeConnection]]):
        self.instance = instance
        """The node as ``jobs/{id}/instances/`` describes it."""
        self._connect = connect
        self._connection: NodeConnection | None = None
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        i = self.instance
        role = i.role.value if i.role is not None else "?"
        return f"Node({i.username}@{i.public_ip}:{i.ssh_port}, {role})"

    @property
    def is_head(self) -> bool:
        return self.instance.role is InstanceRole.MPI_MASTER

    async def connection(self) -> NodeConnection:
        """The node's SSH connection, opened at the first use."""
        async with self._lock:
            if self._connection is None:
                self._connection = await self._connect()
            return self._connection

    def adopt(self, connection: NodeConnection) -> None:
        """Use an already open connection (the head's, opened to check the cluster is up)."""
        self._connection = connection

    async def run(
        self,
        command: str,
        *,
        check: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 - the command's own time limit
        env: Mapping[str, str] | None = None,
    ) -> Result:
        """Run ``command`` (a shell command line) on the node to its end: its exit status and
        output. With ``check``, a non-zero status raises CommandError ending with the tail of
        its stderr; after ``timeout`` seconds CommandTimeoutError. ``env`` is exported first.
        """
        connection = await self.connection()
        return await connection.run(command, check=check, timeout=timeout, env=env)

    async def stream(
        self, command: str, *, check: bool = True, env: Mapping[str, str] | None = None
    ) -> AsyncIterator[str]:
        """The lines ``command`` prints (stdout and stderr merged, without line breaks), each
        as it comes; with ``check``, CommandError at the end when its status is not 0.
        """
        connection = await self.connection()
        async for line in connection.stream(command, check=check, env=env):
            yield line

    async def put(
        self,
        local: str | os.PathLike[str],
        remote: str,
        *,
        progress: ByteProgressHook | None = None,
        concurrency: int = DEFAULT_TRANSFERS,
    ) -> Transfer:
        """Copy a local file or tree to ``remote`` on the node (relative to its login
        directory), ``concurrency`` files at a time, verified (size, and SHA-256 hashed on the
        node when it has ``sha256sum``); ``progress(done, total)`` after each file.
        """
        from ._ssh_transfer import upload  # noqa: PLC0415 - needs asyncssh (the ssh extra)

        _check_concurrency(concurrency)
        connection = await self.connection()
        return await upload(
            connection, Path(local), remote, concurrency=concurrency, progress=progress
        )

    async def get(
        self,
        remote: str,
        local: str | os.PathLike[str],
        *,
        progress: ByteProgressHook | None = None,
        concurrency: int = DEFAULT_TRANSFERS,
    ) -> Transfer:
        """Copy a file or tree ``remote`` of the node to ``local``, verified as ``put``; a
        file that fails verification is not kept.
        """
        from ._ssh_transfer import download  # noqa: PLC0415 - needs asyncssh

        _check_concurrency(concurrency)
        connection = await self.connection()
        return await download(
            connection, remote, Path(local), concurrency=concurrency, progress=progress
        )

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.aclose()


def _check_concurrency(concurrency: int) -> None:
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")


class Cluster:
    """A running quasi-persistent cluster: ``run``, ``stream``, ``put`` and ``get`` act on the
    head node; ``nodes`` holds every node (each with the same methods) and ``run_on_all`` /
    ``put_on_all`` act on all of them, ``max_nodes`` at a time.
    """

    def __init__(
        self,
        job_id: str,
        nodes: Sequence[Node],
        *,
        key_path: Path,
        max_nodes: int,
        stop: Callable[[], Awaitable[None]],
    ) -> None:
        if not nodes:
            raise ValueError("a cluster has at least one node")
        self.job_id = job_id
        """The id of the job whose cluster this is."""
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.head: Node = next((n for n in nodes if n.is_head), nodes[0])
        """The head node (role MPI_MASTER), where commands run by default."""
        self.key_path = key_path
        self._max_nodes = max_nodes
        self._stop = stop

    def __repr__(self) -> str:
        return (
            f"Cluster(job={self.job_id!r}, head={self.head!r}, nodes={len(self.nodes)}, "
            f"key={str(self.key_path)!r})"
        )

    async def run(
        self,
        command: str,
        *,
        check: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 - the command's own time limit
        env: Mapping[str, str] | None = None,
    ) -> Result:
        """``Node.run`` on the head node."""
        return await self.head.run(command, check=check, timeout=timeout, env=env)

    def stream(
        self, command: str, *, check: bool = True, env: Mapping[str, str] | None = None
    ) -> AsyncIterator[str]:
        """``Node.stream`` on the head node: ``async for line in cluster.stream(cmd)``."""
        return self.head.stream(command, check=check, env=env)

    async def put(
        self,
        local: str | os.PathLike[str],
        remote: str,
        *,
        progress: ByteProgressHook | None = None,
        concurrency: int = DEFAULT_TRANSFERS,
    ) -> Transfer:
        """``Node.put`` to the head node."""
        return await self.head.put(local, remote, progress=progress, concurrency=concurrency)

    async def get(
        self,
        remote: str,
        local: str | os.PathLike[str],
        *,
        progress: ByteProgressHook | None = None,
        concurrency: int = DEFAULT_TRANSFERS,
    ) -> Transfer:
        """``Node.get`` from the head node."""
        return await self.head.get(remote, local, progress=progress, concurrency=concurrency)

    async def run_on_all(
        self,
        command: str,
        *,
        check: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 - each command's own time limit
        env: Mapping[str, str] | None = None,
    ) -> list[Result]:
        """``Node.run`` on every node, ``max_nodes`` at a time; the results in node order
        (every node runs to its end, then the first error is raised).
        """
        return await self._on_all(
            lambda node: node.run(command, check=check, timeout=timeout, env=env)
        )

    async def put_on_all(
        self,
        local: str | os.PathLike[str],
        remote: str,
        *,
        concurrency: int = DEFAULT_TRANSFERS,
    ) -> list[Transfer]:
        """``Node.put`` to every node, ``max_nodes`` at a time; the transfers in node order."""
        return await self._on_all(lambda node: node.put(local, remote, concurrency=concurrency))

    async def _on_all(self, call: Callable[[Node], Awaitable[T]]) -> list[T]:
        limiter = anyio.CapacityLimiter(self._max_nodes)

        async def one(node: Node) -> T:
            async with limiter:
                return await call(node)

        return await run_all([functools.partial(one, node) for node in self.nodes])

    async def stop(self) -> None:
        """Stop the cluster's job now (``POST jobs/{id}/stop/``) and close the connections."""
        await self._stop()
