"""``client.clusters``: quasi-persistent clusters, whose lifetime is an ``async with`` block.

``start`` creates and submits a job whose command never exits (``sleep inf``), waits until it
is Executing and its head node answers on SSH, hands out a Cluster, and on the way out (normal,
exception or cancellation; shielded, bounded) closes the connections and stops the job, so it
never burns money until its walltime. ``attach`` does the same for a job already running,
without stopping it unless asked. SSH is asyncssh (the ``ssh`` extra); under trio it runs on an
asyncio loop thread of the cluster's own (``_core.asyncio_bridge``).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from ..._core.asyncio_bridge import AsyncioBridge
from ..._core.exceptions import (
    ClusterAuthenticationError,
    ClusterNotReadyError,
    ConfigurationError,
    HostKeyError,
)
from ..resources._ids import job_id as id_of
from ..types import JobCreate, JobInstance, JobLike, JobStatus
from ._cluster_nodes import Cluster, Node

if TYPE_CHECKING:
    import asyncssh

    from ._jobs import Jobs
    from ._ssh_host_keys import HostKeyPolicy
    from ._ssh_node import NodeConnection

__all__ = ["PERSISTENT_COMMAND", "Clusters"]

logger = logging.getLogger("rescale_async")

PERSISTENT_COMMAND = "sleep inf"
"""The command of a quasi-persistent cluster's job: it never exits."""
_EXIT_TIMEOUT = 60.0
"""Seconds the way out of a cluster block may take (closing, stopping), at most."""


async def _load_key(path: Path, passphrase: str | None) -> asyncssh.SSHKey:
    """The private key at ``path`` (read in a thread); a ConfigurationError naming the path
    only, never the key.
    """
    try:
        import asyncssh  # noqa: PLC0415 - the ssh extra
    except ImportError:
        raise ConfigurationError(
            "clusters need asyncssh: pip install 'rescale-async[ssh]'"
        ) from None
    try:
        return await anyio.to_thread.run_sync(asyncssh.read_private_key, str(path), passphrase)
    except (OSError, asyncssh.KeyImportError, ValueError) as exc:
        kind = type(exc).__name__
        raise ConfigurationError(
            f"cannot read the private key {path} ({kind}); give the path of an OpenSSH "
            "private key file (and passphrase= when it is encrypted)"
        ) from None


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that are not None (the API refuses nulls)."""
    return {name: value for name, value in fields.items() if value is not None}


def _head_first(instances: list[JobInstance]) -> list[JobInstance]:
    usable = [i for i in instances if i.public_ip and i.ssh_port]
    return sorted(
        usable, key=lambda i: 0 if i.role is not None and i.role.value == "MPI_MASTER" else 1
    )


class Clusters:
    """Quasi-persistent clusters: ``start`` one for the length of a block, or ``attach`` to a
    running job's. Thin over the jobs facade.
    """

    __slots__ = ("_jobs",)

    def __init__(self, jobs: Jobs) -> None:
        self._jobs = jobs

    @asynccontextmanager
    async def start(
        self,
        *,
        coretype: str,
        cores: int,
        private_key: str | os.PathLike[str],
        walltime: int = 1,
        analysis: str = "user_included",
        version: str = "0",
        slots: int | None = None,
        name: str = "rescale-async cluster",
        project_id: str | None = None,
        low_priority: bool | None = None,
        env_vars: Mapping[str, str] | None = None,
        known_hosts: str | os.PathLike[str] | None = None,
        trust_on_first_use: bool = False,
        passphrase: str | None = None,
        ready_timeout: float = 1800.0,
        interval: float = 10.0,
        wait_for_stop: bool = False,
        stop_timeout: float | None = None,
        max_nodes: int = 8,
    ) -> AsyncIterator[Cluster]:
        """``async with client.clusters.start(coretype=..., cores=..., private_key=...) as
        cluster:`` a job running ``sleep inf`` on ``cores`` cores per slot of ``coretype``
        (``walltime`` hours at most), with ``analysis``/``version``; waits (``ready_timeout``
        seconds, polling every ``interval``) until it is Executing and its head node answers
        on SSH with ``private_key`` (whose public key is in the user profile), then the block
        runs. On the way out, whatever the reason, the job is stopped (and with
        ``wait_for_stop`` its cluster waited for, ``stop_timeout`` seconds at most).

        Host keys: only those of ``known_hosts`` (a file) are trusted, unless
        ``trust_on_first_use``: then the first key each node offers is accepted and pinned for
        the cluster's lifetime (and appended to ``known_hosts`` when given).
        """
        key_path = _local_path(private_key)
        key = await _load_key(key_path, passphrase)
        hardware = _given(core_type=coretype, cores_per_slot=cores, slots=slots, walltime=walltime)
        analysis_part = _given(
            analysis={"code": analysis, "version": version},
            command=PERSISTENT_COMMAND,
            hardware=hardware,
            env_vars=dict(env_vars) if env_vars else None,
        )
        definition = JobCreate.model_validate(
            _given(
                name=name,
                project_id=project_id,
                is_low_priority=low_priority,
                jobanalyses=[analysis_part],
            )
        )
        job = await self._jobs.create(definition)
        logger.info("cluster job %s created; submitting", job.id)
        async with self._running(
            job.id,
            key,
            key_path,
            submit=True,
            stop_on_exit=True,
            known_hosts=known_hosts,
            trust_on_first_use=trust_on_first_use,
            ready_timeout=ready_timeout,
            interval=interval,
            wait_for_stop=wait_for_stop,
            stop_timeout=stop_timeout,
            max_nodes=max_nodes,
        ) as cluster:
            yield cluster

    @asynccontextmanager
    async def attach(
        self,
        job: JobLike,
        *,
        private_key: str | os.PathLike[str],
        stop_on_exit: bool = False,
        known_hosts: str | os.PathLike[str] | None = None,
        trust_on_first_use: bool = False,
        passphrase: str | None = None,
        ready_timeout: float = 1800.0,
        interval: float = 10.0,
        wait_for_stop: bool = False,
        stop_timeout: float | None = None,
        max_nodes: int = 8,
    ) -> AsyncIterator[Cluster]:
        """``async with client.clusters.attach(job, private_key=...) as cluster:`` the cluster
        of a job already submitted (waited for as ``start`` does); left running on the way out
        unless ``stop_on_exit``.
        """
        key_path = _local_path(private_key)
        key = await _load_key(key_path, passphrase)
        async with self._running(
            id_of(job),
            key,
            key_path,
            submit=False,
            stop_on_exit=stop_on_exit,
            known_hosts=known_hosts,
            trust_on_first_use=trust_on_first_use,
            ready_timeout=ready_timeout,
            interval=interval,
            wait_for_stop=wait_for_stop,
            stop_timeout=stop_timeout,
            max_nodes=max_nodes,
        ) as cluster:
            yield cluster

    @asynccontextmanager
    async def _running(
        self,
        the_id: str,
        key: asyncssh.SSHKey,
        key_path: Path,
        *,
        submit: bool,
        stop_on_exit: bool,
        known_hosts: str | os.PathLike[str] | None,
        trust_on_first_use: bool,
        ready_timeout: float,
        interval: float,
        wait_for_stop: bool,
        stop_timeout: float | None,
        max_nodes: int,
    ) -> AsyncIterator[Cluster]:
        from ._ssh_host_keys import HostKeyPolicy  # noqa: PLC0415 - needs asyncssh

        if max_nodes < 1:
            raise ValueError(f"max_nodes must be >= 1, got {max_nodes!r}")
        policy = HostKeyPolicy(
            known_hosts=_local_path(known_hosts) if known_hosts is not None else None,
            trust_on_first_use=trust_on_first_use,
        )
        bridge = AsyncioBridge(f"rescale-async-cluster-{the_id}")
        nodes: list[Node] = []
        stopped = False

        async def stop() -> None:
            nonlocal stopped
            with anyio.CancelScope(shield=True), anyio.move_on_after(_EXIT_TIMEOUT):
                for node in nodes:
                    await node.aclose()
                if not stopped:
                    stopped = True
                    await self._jobs.stop(the_id)
                    logger.info("cluster job %s stopped", the_id)

        try:
            if submit:
                await self._jobs.submit(the_id)
            with anyio.fail_after(ready_timeout):
                login = _Login(bridge, key, key_path, policy, max(interval, 10.0))
                nodes = await self._bring_up(the_id, login, interval)
            cluster = Cluster(the_id, nodes, key_path=key_path, max_nodes=max_nodes, stop=stop)
            yield cluster
        except TimeoutError as exc:
            if isinstance(exc, ClusterNotReadyError) or nodes:
                raise
            fate = "it is stopped" if submit or stop_on_exit else "it is left as it is"
            raise ClusterNotReadyError(
                f"the cluster of job {the_id} was not up (Executing, its head node answering "
                f"on SSH) within {ready_timeout} s; {fate}",
                job_id=the_id,
            ) from exc
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_EXIT_TIMEOUT):
                for node in nodes:
                    await node.aclose()
                if (submit or stop_on_exit) and not stopped:
                    stopped = True
                    await _stop_quietly(self._jobs, the_id)
                if stopped and wait_for_stop:
                    await self._jobs.wait_for_cluster(
                        the_id, timeout=stop_timeout, interval=interval
                    )
                await bridge.aclose()

    async def _bring_up(self, the_id: str, login: _Login, interval: float) -> list[Node]:
        """Wait until the job is Executing and its head node logs in; its nodes."""
        outcome = await self._jobs.wait(the_id, until=JobStatus.EXECUTING, interval=interval)
        if outcome.is_terminal:
            raise ClusterNotReadyError(
                f"job {the_id} completed before its cluster was up: {outcome.reason}",
                job_id=the_id,
            )
        last_error = "no instances listed yet"
        while True:
            instances = _head_first(await self._jobs.instances(the_id).to_list())
            if instances:
                head = instances[0]
                try:
                    connection = await login.connect(head)
                except (HostKeyError, ClusterAuthenticationError):
                    raise
                except Exception as exc:  # not answering yet (refused, reset, timed out)
                    last_error = f"{type(exc).__name__}: {exc}"
                    logger.info("head of job %s not answering yet (%s)", the_id, last_error)
                else:
                    nodes = [login.node(i) for i in instances]
                    nodes[0].adopt(connection)
                    return nodes
            logger.debug("cluster of job %s not up yet: %s", the_id, last_error)
            await anyio.sleep(interval)


async def _stop_quietly(jobs: Jobs, the_id: str) -> None:
    """Stop the job; a failure is logged, never raised over the block's own outcome."""
    try:
        await jobs.stop(the_id)
        logger.info("cluster job %s stopped", the_id)
    except Exception:
        logger.exception("could not stop cluster job %s: stop it by hand", the_id)


@dataclass(frozen=True)
class _Login:
    """How to log in to the cluster's nodes: the key (never shown) and the host-key policy."""

    bridge: AsyncioBridge
    key: Any = field(repr=False)
    key_path: Path
    policy: HostKeyPolicy
    connect_timeout: float

    async def connect(self, instance: JobInstance) -> NodeConnection:
        from ._ssh_node import connect_node  # noqa: PLC0415 - needs asyncssh

        assert instance.public_ip is not None
        assert instance.ssh_port is not None
        return await connect_node(
            self.bridge,
            host=instance.public_ip,
            port=instance.ssh_port,
            username=instance.username or "rescale",
            key=self.key,
            key_path=self.key_path,
            policy=self.policy,
            connect_timeout=self.connect_timeout,
        )

    def node(self, instance: JobInstance) -> Node:
        return Node(instance, functools.partial(self.connect, instance))


def _local_path(value: str | os.PathLike[str]) -> Path:
    """``value`` as a local path, ``~`` expanded as a shell would (no I/O)."""
    return Path(value).expanduser()
