"""``jobs list|get|logs|events|cancel`` (``jobs submit`` is in ``_submit``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..htc.client import HTCClient
from ..htc.orchestration import Progress, ProgressHook
from ..htc.types import Job, JobRef, LogEvent
from ._context import Context
from ._errors import EXIT_OK
from ._output import Output, status_text, when

__all__ = ["cancel", "events", "get", "list_jobs", "logs"]


def _job_row(job: Job) -> tuple[object, ...]:
    exit_code = job.container.exit_code if job.container else None
    return (
        job.job_id,
        status_text(job.status),
        job.group,
        job.image_name,
        exit_code,
        job.failure_code,
        job.created_at,
        job.completed_at,
    )


async def list_jobs(ctx: Context) -> int:
    out = ctx.output
    args = ctx.args
    async with ctx.client() as client:
        jobs = await client.jobs.list(
            ctx.task_ref(), status=args.status, group=args.group, limit=args.limit
        ).to_list()
    if out.json:
        out.emit_json(jobs)
        return EXIT_OK
    out.table(
        ["JOB ID", "STATUS", "GROUP", "IMAGE", "EXIT", "FAILURE", "CREATED", "COMPLETED"],
        (_job_row(job) for job in jobs),
        empty="no jobs match",
    )
    return EXIT_OK


async def get(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        job = await client.jobs.get(ctx.job_ref())
    if out.json:
        out.emit_json(job)
    else:
        out.details(job)
    return EXIT_OK


def _write_lines(out: Output, lines: Iterable[LogEvent], *, timestamps: bool) -> None:
    for event in lines:
        if out.json:
            out.json_line(event)
        elif timestamps:
            out.line(f"{when(event.timestamp)}  {(event.message or '').rstrip(chr(10))}")
        else:
            out.line((event.message or "").rstrip("\n"))
    out.out.flush()


async def _line_count(client: HTCClient, job: JobRef) -> int:
    count = 0
    async for page in client.jobs.logs(job).pages():
        count += len(page.items)
    return count


async def logs(ctx: Context) -> int:
    """The job's log, a page at a time; ``--tail N`` only the last N lines; ``-f`` follows it
    until the job has ended (with ``--tail``: the last N lines, then what comes after).
    """
    out = ctx.output
    args = ctx.args
    job = ctx.job_ref()
    timestamps: bool = args.timestamps
    async with ctx.client() as client:
        if not args.follow:
            if args.tail is not None:
                _write_lines(out, await client.jobs.tail(job, args.tail), timestamps=timestamps)
                return EXIT_OK
            async for page in client.jobs.logs(job).pages():
                _write_lines(out, page.items, timestamps=timestamps)
            return EXIT_OK
        # Following with --tail: count the lines there are now, then skip all but the last N
        # of them in the stream (lines are only ever appended, so none is lost or repeated).
        skip = 0 if args.tail is None else max(0, await _line_count(client, job) - args.tail)
        stream = client.jobs.follow_logs(job, poll_interval=args.poll_interval)
        async for batch in stream.batches():
            if skip >= len(batch):
                skip -= len(batch)
                continue
            _write_lines(out, batch[skip:], timestamps=timestamps)
            skip = 0
    return EXIT_OK


async def events(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        found = await client.jobs.events(ctx.job_ref()).to_list()
    if out.json:
        out.emit_json(found)
        return EXIT_OK
    out.table(
        ["TIME", "STATUS", "REASON", "EXIT", "CANCELLED"],
        (
            (
                event.date_time,
                status_text(event.status),
                event.status_reason,
                event.container.exit_code if event.container else None,
                "yes" if event.user_cancelled_event else "",
            )
            for event in found
        ),
        empty="no status events yet",
    )
    return EXIT_OK


def _cancel_progress(out: Output, which: str) -> ProgressHook:
    """A progress line on stderr whenever the counts move: how many jobs have ended."""

    def show(progress: Progress) -> None:
        out.note(f"cancelling {which}: {progress.done} of {progress.total} jobs ended")

    return show


async def cancel(ctx: Context) -> int:
    """Ask to cancel, then (unless ``--no-wait``) wait until every job has ended: the API's
    200 alone does not mean that. Not confirmed by ``--timeout``: an error naming the jobs.
    """
    out = ctx.output
    args = ctx.args
    ref = ctx.task_ref()
    group: str | None = args.group
    which = f"group {group!r} of task {ref.task_id}" if group else f"task {ref.task_id}"
    result = None
    async with ctx.client() as client:
        if args.no_wait:
            await client.jobs.cancel(ref, group=group)
        else:
            result = await client.jobs.cancel_and_wait(
                ref,
                group=group,
                timeout=args.timeout,
                interval=args.interval,
                progress=None if out.json else _cancel_progress(out, which),
            )
    if out.json:
        data: dict[str, object] = {
            "projectId": ref.project_id,
            "taskId": ref.task_id,
            "group": group,
            "cancelRequested": True,
        }
        if result is not None:
            data.update(confirmed=True, ended=len(result.succeeded) + len(result.failed))
        out.emit_json(data)
    elif result is None:
        out.line(f"asked to cancel every unfinished job of {which}")
    else:
        ended = len(result.succeeded) + len(result.failed)
        out.line(f"cancelled {which}: all {ended} jobs have ended")
    return EXIT_OK
