"""``platform jobs list|get|wait|stop|delete|files|download`` (``submit`` is in ``_launch``)."""

from __future__ import annotations

from pathlib import Path

from ..._core.exceptions import BadRequestError
from ...platform.client import PlatformClient
from ...platform.orchestration import DownloadedFile
from ...platform.types import JobOutcome, JobSummary
from .._errors import EXIT_API, EXIT_JOBS_FAILED, EXIT_OK, CLIError, one_line
from .._output import dump
from ._context import PlatformContext
from ._progress import Reporter
from ._render import (
    downloaded_json,
    emit_json,
    file_table,
    job_details,
    outcome_json,
    outcome_text,
    show_downloads,
    status_text,
)

__all__ = [
    "delete",
    "download",
    "download_outputs",
    "get",
    "list_files",
    "list_jobs",
    "stop",
    "wait",
    "wait_for",
]


def _summary_row(job: JobSummary) -> tuple[object, ...]:
    display = job.job_status
    reason = (display.model_extra or {}).get("statusReason") if display else None
    cluster = job.cluster_status_display.content if job.cluster_status_display else None
    return (
        job.id,
        job.name,
        status_text(job.status, reason if isinstance(reason, str) else None),
        cluster,
        job.date_inserted,
        ", ".join(job.analysis_names or ()),
    )


async def list_jobs(ctx: PlatformContext) -> int:
    out = ctx.output
    args = ctx.args
    async with ctx.client() as client:
        jobs = await client.jobs.list(
            state=args.state, job_status=args.status, limit=args.limit
        ).to_list()
    if out.json:
        emit_json(out, jobs)
        return EXIT_OK
    out.table(
        ["JOB ID", "NAME", "STATUS", "CLUSTER", "CREATED", "ANALYSES"],
        (_summary_row(job) for job in jobs),
        empty="no jobs match",
    )
    return EXIT_OK


async def get(ctx: PlatformContext) -> int:
    """One job's definition and where its status history stands."""
    out = ctx.output
    async with ctx.client() as client:
        job = await client.jobs.get(ctx.args.job)
        outcome = await client.jobs.outcome(job)
    if out.json:
        emit_json(out, {**dump(job), "outcome": outcome_json(job.id, outcome)})
    else:
        out.details(job_details(job, outcome))
    return EXIT_OK


async def wait_for(
    client: PlatformClient,
    progress: Reporter,
    job_id: str,
    *,
    until: str | None,
    timeout: float | None,
    interval: float,
) -> JobOutcome:
    """Wait for the job (as ``client.jobs.wait``) with a row showing its status."""
    row = progress.status(f"job {job_id}", "waiting for its first status")

    def seen(outcome: JobOutcome) -> None:
        row.show(outcome_text(outcome))

    async with progress.live():
        outcome = await client.jobs.wait(
            job_id,
            until=until or "Completed",
            timeout=timeout,
            interval=interval,
            progress=seen,
        )
        row.finish(outcome_text(outcome))
    return outcome


async def wait(ctx: PlatformContext) -> int:
    """Wait until the job has completed (or reached ``--until``); exit code 5 if it failed."""
    out = ctx.output
    args = ctx.args
    async with ctx.client() as client:
        outcome = await wait_for(
            client,
            ctx.progress,
            args.job,
            until=args.until,
            timeout=args.timeout,
            interval=args.interval,
        )
    if out.json:
        emit_json(out, outcome_json(args.job, outcome))
    else:
        out.line(f"job {args.job}: {outcome_text(outcome)}")
    if outcome.failed:
        out.note(f"job {args.job} failed: {outcome.failure_reason}")
        return EXIT_JOBS_FAILED
    return EXIT_OK


async def stop(ctx: PlatformContext) -> int:
    out = ctx.output
    job_id: str = ctx.args.job
    async with ctx.client() as client:
        await client.jobs.stop(job_id)
    if out.json:
        emit_json(out, {"jobId": job_id, "stopRequested": True})
    else:
        out.line(f"asked job {job_id} to stop (gracefully: SIGTERM, its files kept)")
    return EXIT_OK


async def delete(ctx: PlatformContext) -> int:
    """Delete the job; with ``--wait-for-cluster`` once its cluster has stopped."""
    out = ctx.output
    args = ctx.args
    job_id: str = args.job
    waiting = args.wait_for_cluster
    row = (
        ctx.progress.status(f"job {job_id}", "waiting for its cluster to stop") if waiting else None
    )
    async with ctx.client() as client, ctx.progress.live():
        try:
            await client.jobs.delete(
                job_id,
                wait_for_cluster=waiting,
                delete_input_files=args.delete_input_files,
                timeout=args.timeout,
                interval=args.interval,
            )
        except BadRequestError as exc:
            raise CLIError(
                f"the service refused to delete job {job_id} ({one_line(str(exc))}); a job is "
                "deleted only once its cluster has stopped: stop the job first if it runs, "
                "and add --wait-for-cluster",
                EXIT_API,
            ) from None
        if row is not None:
            row.finish("deleted")
    if out.json:
        emit_json(out, {"jobId": job_id, "deleted": True})
    else:
        out.line(f"deleted job {job_id}")
    return EXIT_OK


async def list_files(ctx: PlatformContext) -> int:
    """The job's output files."""
    out = ctx.output
    args = ctx.args
    async with ctx.client() as client:
        files = await client.jobs.files(args.job, search=args.search, limit=args.limit).to_list()
    if out.json:
        emit_json(out, files)
    else:
        file_table(out, files, empty="no output files (yet)")
    return EXIT_OK


async def download_outputs(
    client: PlatformClient,
    progress: Reporter,
    job_id: str,
    directory: Path,
    *,
    search: str | None,
    connections: int,
) -> list[DownloadedFile]:
    """Every output of the job (``search``: those matching) into ``directory``, verified,
    with a bar of the bytes of all.
    """
    hook = progress.transfer(f"outputs of job {job_id}")
    async with progress.live():
        return await client.jobs.download_outputs(
            job_id, directory, search=search, connections=connections, progress=hook
        )


async def download(ctx: PlatformContext) -> int:
    out = ctx.output
    args = ctx.args
    job_id: str = args.job
    directory = Path(args.directory or job_id)
    async with ctx.client() as client:
        files = await download_outputs(
            client,
            ctx.progress,
            job_id,
            directory,
            search=args.search,
            connections=args.connections,
        )
    if out.json:
        emit_json(
            out,
            {
                "jobId": job_id,
                "directory": str(directory),
                "files": [downloaded_json(done) for done in files],
            },
        )
    else:
        show_downloads(out, files, where=str(directory))
    return EXIT_OK
