"""``platform jobs submit FILE`` and ``platform run FILE``: a job from its YAML definition.

``jobs submit`` uploads the inputs, creates the job and submits it. ``run`` goes on to the end:
it waits for the job and downloads its outputs, verified; a job that failed (a ``Completed``
with a failure reason) exits with code 5, its reason and the last lines of its
``process_output.log`` on stderr. Both check the file, then the analysis version and the
hardware with the service, before anything is uploaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from ..._core.exceptions import NoMatchError
from ...platform.client import PlatformClient
from ...platform.orchestration import PROCESS_OUTPUT, DownloadedFile, JobRun, RunLedger
from ...platform.types import JobOutcome
from .._errors import EXIT_JOBS_FAILED, EXIT_OK
from .._output import Output
from ._context import PlatformContext
from ._definition import LoadedDefinition, load_definition
from ._files import upload_files
from ._jobs import download_outputs
from ._render import downloaded_json, emit_json, outcome_json, outcome_text, show_downloads

__all__ = ["run", "submit"]

_LOG_TAIL = 20
"""Lines of a failed job's process_output.log shown on stderr."""


async def submit(ctx: PlatformContext) -> int:
    """Upload the inputs, create the job, submit it; its id."""
    out = ctx.output
    definition = await load_definition(ctx.args.file)
    async with ctx.client() as client:
        version = await definition.check(client)
        uploaded = await upload_files(client, ctx.progress, definition.inputs)
        inputs = [file.id for file in uploaded]
        job = await client.jobs.create(
            definition.job_create(version, inputs), check_coretypes=False
        )
        await client.jobs.submit(job)
    if out.json:
        emit_json(out, {"jobId": job.id, "name": job.name, "inputs": inputs})
        return EXIT_OK
    plural = "" if len(inputs) == 1 else "s"
    out.line(f"submitted job {job.id} ({job.name}) with {len(inputs)} input file{plural}")
    out.note(f"wait for it: rescale-async platform jobs wait {job.id}")
    return EXIT_OK


async def _start_and_wait(
    ctx: PlatformContext, client: PlatformClient, definition: LoadedDefinition
) -> JobRun:
    """Upload, create, submit and wait (exactly once with ``--ledger``), a row following it.

    ``run_many`` of the one job: its hook names the job as soon as it has a status, so the row
    (and a line in a pipe) say which job it is while it runs, not only once it is over.
    """
    args = ctx.args
    progress = ctx.progress
    version = await definition.check(client)
    row = progress.status(f"job {definition.spec.name!r}", "uploading inputs, submitting")
    named = False

    def seen(job_id: str, outcome: JobOutcome) -> None:
        nonlocal named
        if not named:
            named = True
            progress.note(f"submitted job {job_id} ({definition.spec.name})")
            row.rename(f"job {job_id}")
        row.show(outcome_text(outcome))

    # A ledger of its own for each command, not the process's shared one for the path: every
    # command is a program of its own, which a re-run (in a new process or not) resumes.
    ledger = None if args.ledger is None else RunLedger(args.ledger)
    try:
        async with progress.live():
            [done] = await client.jobs.run_many(
                [definition.job_create(version)],
                definition.inputs,
                None,  # downloaded afterwards, with their own bar
                ledger=ledger,
                decompress=definition.spec.decompress,
                timeout=args.timeout,
                interval=args.interval,
                check_coretypes=False,  # checked by definition.check, pointing at the file
                progress=seen,
            )
            row.finish(outcome_text(done.outcome))
    finally:
        if ledger is not None:
            with anyio.CancelScope(shield=True):  # closed on Ctrl-C too
                await anyio.to_thread.run_sync(ledger.close)
    return done


async def _log_tail(client: PlatformClient, job_id: str) -> list[str]:
    """The last lines of the job's process_output.log (none when it has none)."""
    try:
        lines = await client.jobs.process_output(job_id)
    except NoMatchError:
        return []
    return [line.rstrip("\n") for line in lines[-_LOG_TAIL:]]


def _report(out: Output, done: JobRun, files: list[DownloadedFile], directory: Path | None) -> None:
    job = done.job
    if out.json:
        result: dict[str, Any] = {
            **outcome_json(job.id, done.outcome),
            "name": job.name,
            "inputs": list(done.inputs),
            "outputDir": None if directory is None else str(directory),
            "files": [downloaded_json(item) for item in files],
        }
        emit_json(out, result)
        return
    out.line(f"job {job.id} ({job.name}): {outcome_text(done.outcome)}")
    if directory is not None:
        show_downloads(out, files, where=str(directory))


async def run(ctx: PlatformContext) -> int:
    """The job's whole story; exit code 5 when it failed."""
    args = ctx.args
    out = ctx.output
    definition = await load_definition(args.file)
    wanted = Path(args.outputs) if args.outputs else definition.outputs
    async with ctx.client() as client:
        done = await _start_and_wait(ctx, client, definition)
        job_id = done.job.id
        directory = None if args.no_download else (wanted or Path(job_id))
        files: list[DownloadedFile] = []
        if directory is not None:
            files = await download_outputs(
                client,
                ctx.progress,
                job_id,
                directory,
                search=definition.spec.search,
                connections=args.connections,
            )
        tail = [] if done.succeeded else await _log_tail(client, job_id)
    _report(out, done, files, directory)
    if done.succeeded:
        return EXIT_OK
    if tail:
        out.note(f"the last lines of {PROCESS_OUTPUT} of job {job_id}:")
        for line in tail:
            out.note(f"  {line}")
    out.note(
        f"rescale-async: error: job {job_id} failed: {done.outcome.failure_reason or 'no reason'}"
    )
    return EXIT_JOBS_FAILED
