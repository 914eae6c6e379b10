"""``platform cluster start|run|put|get|stop``: a quasi-persistent cluster driven from a shell.

A CLI process cannot hold ``clusters.start``'s block open across commands, so ``start``
creates and submits the job, waits (as ``clusters.attach``) until its head node answers on
SSH, and leaves it running; if it never does, the job is stopped before the command fails.
``run``, ``put`` and ``get`` attach to the running job without stopping it; ``stop`` ends it.
A fresh cluster's host key cannot be known in advance: ``start --trust-on-first-use`` records
it in the known_hosts file (by default next to the apiconfig file), which the later commands
check it against.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any, cast

import anyio

from ..._core.config import apiconfig_path
from ...platform.client import PlatformClient
from ...platform.orchestration import (
    PERSISTENT_COMMAND,
    Cluster,
    ClusterAuthenticationError,
    ClusterNotReadyError,
    CommandError,
    HostKeyError,
)
from ...platform.types import JobInstance
from ...platform.types.clusters import Transfer
from .._errors import EXIT_API, EXIT_AUTH, EXIT_OK, CLIError
from .._output import dump
from ._context import PlatformContext
from ._definition import AnalysisSpec, JobDefinition, LoadedDefinition
from ._errors import describe_platform
from ._render import emit_json, size_text

__all__ = ["get", "put", "run", "start", "stop"]

logger = logging.getLogger("rescale_async")

EXIT_SIGNALLED = 255
"""The exit code of ``run`` when the command was killed by a signal (as ``ssh`` exits)."""

_STOP_GRACE = 60.0
"""Seconds a failed ``start`` may spend stopping the job it created."""


def default_known_hosts() -> Path:
    """``~/.config/rescale/known_hosts``: the host keys the cluster commands trust."""
    return apiconfig_path().parent / "known_hosts"


def _known_hosts(ctx: PlatformContext) -> Path:
    given: str | None = ctx.args.known_hosts
    return Path(given).expanduser() if given else default_known_hosts()


def _login(ctx: PlatformContext) -> dict[str, Any]:
    """``clusters.attach``'s login and waiting arguments, from the command's options."""
    args = ctx.args
    return {
        "private_key": _key_path(ctx),
        "known_hosts": _known_hosts(ctx),
        "trust_on_first_use": args.trust_on_first_use,
        "ready_timeout": args.ready_timeout,
        "interval": args.interval,
    }


def _host_key_hint(ctx: PlatformContext, known: Path) -> str:
    """How to trust a cluster's host key, from ``start`` or from a later command."""
    fresh = "A fresh cluster's key cannot be known before it boots"
    if ctx.args.platform_handler == "platform.cluster.start":
        return (
            f"{fresh}: pass --trust-on-first-use to accept the key it offers and record it in "
            f"{known} for the commands that follow"
        )
    return (
        f"{fresh}: start the cluster with 'platform cluster start --trust-on-first-use', which "
        f"records its key in {known}, or pass --trust-on-first-use here to accept the key it "
        "offers now (or --known-hosts PATH for a file that holds it)"
    )


def _cluster_failure(ctx: PlatformContext, exc: Exception) -> CLIError | None:
    """A cluster error as the CLI explains it (its options, not the SDK's arguments)."""
    if isinstance(exc, HostKeyError):
        known = _known_hosts(ctx)
        return CLIError(
            f"the host key of {exc.host}:{exc.port} ({exc.fingerprint or 'unreadable'}) is not "
            f"trusted: it is not in {known}. {_host_key_hint(ctx, known)}",
            EXIT_AUTH,
        )
    if isinstance(exc, ClusterAuthenticationError):
        return CLIError(
            f"{exc}; pass --private-key with the key whose public half is in your profile",
            EXIT_AUTH,
        )
    if isinstance(exc, ClusterNotReadyError):
        return CLIError(str(exc), EXIT_API)
    return None


@asynccontextmanager
async def _explained(ctx: PlatformContext) -> AsyncIterator[None]:
    """Cluster errors inside the block raised as the CLI's one-line explanations."""
    try:
        yield
    except Exception as exc:
        explained = _cluster_failure(ctx, exc)
        if explained is None:
            raise
        raise explained from None


def _key_path(ctx: PlatformContext) -> Path:
    return Path(ctx.args.private_key).expanduser()


async def _checked_key(ctx: PlatformContext) -> None:
    """Refuse a private key path that is not a file, before any request."""
    path = _key_path(ctx)
    if not await anyio.Path(path).is_file():
        raise CLIError(f"--private-key {path}: no such file (give an OpenSSH private key file)")


@asynccontextmanager
async def _attached(ctx: PlatformContext, client: PlatformClient) -> AsyncIterator[Cluster]:
    """The running cluster of the command's job, left running on the way out."""
    await _checked_key(ctx)
    async with (
        _explained(ctx),
        client.clusters.attach(ctx.args.job, stop_on_exit=False, **_login(ctx)) as cluster,
    ):
        yield cluster


def _definition(ctx: PlatformContext) -> LoadedDefinition:
    """The cluster's job as a job definition (checked with the service as ``run``'s are)."""
    args = ctx.args
    spec = JobDefinition(
        name=args.name,
        analysis=AnalysisSpec(code=args.analysis, version=args.version),
        command=PERSISTENT_COMMAND,
        coretype=args.coretype,
        cores=args.cores,
        walltime=args.walltime,
    )
    return LoadedDefinition(
        source="platform cluster start", text="", spec=spec, inputs=(), outputs=None
    )


def _head_json(head: JobInstance) -> dict[str, Any]:
    return {"host": head.public_ip, "port": head.ssh_port, "username": head.username}


async def _stop_after_failure(client: PlatformClient, job_id: str) -> str:
    """Stop the job a failed ``start`` created (shielded, bounded); what became of it."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(_STOP_GRACE):
        try:
            await client.jobs.stop(job_id)
        except Exception:
            logger.exception("could not stop cluster job %s", job_id)
        else:
            return f"job {job_id} is stopped, nothing is left running"
    return (
        f"job {job_id} could NOT be stopped: stop it with "
        f"'rescale-async platform cluster stop {job_id}'"
    )


async def start(ctx: PlatformContext) -> int:
    """Create and submit the cluster's job, wait until its head node answers on SSH (or
    stop it and fail), print its id and leave it running.
    """
    out = ctx.output
    args = ctx.args
    await _checked_key(ctx)
    definition = _definition(ctx)
    async with ctx.client() as client:
        version = await definition.check(client)
        job = await client.jobs.create(definition.job_create(version), check_coretypes=False)
        try:
            await client.jobs.submit(job)
            row = ctx.progress.status(f"cluster job {job.id}", "submitted")
            async with (
                ctx.progress.live(),
                client.clusters.attach(job.id, stop_on_exit=False, **_login(ctx)) as cluster,
            ):
                head = cluster.head.instance
                nodes = len(cluster.nodes)
                row.finish("answering on SSH")
        except BaseException as exc:
            what = await _stop_after_failure(client, job.id)
            if not isinstance(exc, Exception):  # a cancellation, Ctrl-C
                raise
            failure = _cluster_failure(ctx, exc)
            described = (failure.code, failure.message) if failure else describe_platform(exc)
            if described is None:
                raise
            code, message = described
            raise CLIError(f"{message}; {what}", code) from None
    if out.json:
        emit_json(
            out,
            {
                "jobId": job.id,
                "name": job.name,
                "head": _head_json(head),
                "nodes": nodes,
                "knownHosts": str(_known_hosts(ctx)),
            },
        )
        return EXIT_OK
    out.line(job.id)
    out.note(
        f"cluster job {job.id} is up: head node {head.username}@{head.public_ip}:"
        f"{head.ssh_port}, {nodes} node{'' if nodes == 1 else 's'}. It runs (and bills) until "
        f"'rescale-async platform cluster stop {job.id}' or its walltime ({args.walltime} h)"
    )
    return EXIT_OK


def command_line(words: list[str]) -> str:
    """One word as the shell command line it is; several quoted as given."""
    return words[0] if len(words) == 1 else shlex.join(words)


def _exit_code(ctx: PlatformContext, status: int | None) -> int:
    if status is None:
        ctx.output.note("rescale-async: the command was killed by a signal")
        return EXIT_SIGNALLED
    return status


async def run(ctx: PlatformContext) -> int:
    """Run the command on the head node, its output (stdout and stderr merged, on stdout)
    written as it comes, or with ``--json`` one document at its end; its exit status.
    """
    out = ctx.output
    command = command_line(ctx.args.command)
    async with ctx.client() as client, _attached(ctx, client) as cluster:
        if out.json:
            result = await cluster.run(command, check=False)
            emit_json(out, {"jobId": cluster.job_id, **dump(result)})
            return _exit_code(ctx, result.exit_status)
        try:
            streamed = cast("AsyncGenerator[str, None]", cluster.stream(command, check=True))
            async with aclosing(streamed) as lines:
                async for line in lines:
                    out.out.write(line + "\n")
                    out.out.flush()
        except CommandError as exc:
            return _exit_code(ctx, exc.result.exit_status)
    return EXIT_OK


def _show_transfer(ctx: PlatformContext, job_id: str, transfer: Transfer) -> None:
    out = ctx.output
    if out.json:
        emit_json(out, {"jobId": job_id, **dump(transfer)})
        return
    count = len(transfer.files)
    how = "SHA-256" if transfer.verified == "sha256" else "size"
    out.line(
        f"copied {count} file{'' if count == 1 else 's'} ({size_text(transfer.bytes)}) from "
        f"{transfer.source} to {transfer.destination}, verified by {how}"
    )


async def put(ctx: PlatformContext) -> int:
    """Copy a local file or tree to the head node, with a bar on a terminal."""
    args = ctx.args
    async with ctx.client() as client, _attached(ctx, client) as cluster:
        hook = ctx.progress.transfer(f"{Path(args.local).name} -> {args.remote}")
        async with ctx.progress.live():
            transfer = await cluster.put(args.local, args.remote, progress=hook)
    _show_transfer(ctx, args.job, transfer)
    return EXIT_OK


async def get(ctx: PlatformContext) -> int:
    """Copy a file or tree of the head node here, with a bar on a terminal."""
    args = ctx.args
    async with ctx.client() as client, _attached(ctx, client) as cluster:
        hook = ctx.progress.transfer(f"{args.remote} -> {Path(args.local).name}")
        async with ctx.progress.live():
            transfer = await cluster.get(args.remote, args.local, progress=hook)
    _show_transfer(ctx, args.job, transfer)
    return EXIT_OK


async def stop(ctx: PlatformContext) -> int:
    """Stop the cluster's job; with ``--wait`` until its cluster has stopped."""
    out = ctx.output
    args = ctx.args
    job_id: str = args.job
    async with ctx.client() as client:
        await client.jobs.stop(job_id)
        if args.wait:
            row = ctx.progress.status(f"cluster job {job_id}", "waiting for it to stop")
            async with ctx.progress.live():
                await client.jobs.wait_for_cluster(
                    job_id, timeout=args.timeout, interval=args.interval
                )
                row.finish("Stopped")
    if out.json:
        emit_json(out, {"jobId": job_id, "stopRequested": True, "clusterStopped": args.wait})
    elif args.wait:
        out.line(f"stopped job {job_id}: its cluster has stopped")
    else:
        out.line(f"asked job {job_id} to stop; its cluster stops shortly")
    return EXIT_OK
