"""``watch PROJECT TASK [TASK...]``: job counts by status per task, live, until all are done.

Polls each task's summary statistics every ``--interval`` seconds. On a terminal: a rich
progress bar per task; in a pipe or a file: one line whenever a task's counts change; with
``--output json``: only the final counts. Exit code 0 when every job succeeded, 5 when some
failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..htc.client import HTCClient
from ..htc.orchestration import Progress as JobProgress
from ..htc.types import JobStatus, TaskRef
from ._context import Context
from ._errors import EXIT_JOBS_FAILED, EXIT_OK

__all__ = ["watch"]

_ORDER = {status.value: position for position, status in enumerate(JobStatus)}


@dataclass
class _Watched:
    ref: TaskRef
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    shown: str = ""

    @property
    def progress(self) -> JobProgress:
        """The counts as the SDK sums them up (done, failed, finished)."""
        return JobProgress({JobStatus(s): n for s, n in self.counts.items()}, self.total)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def counts_text(self) -> str:
        if not self.counts:
            return "no jobs"
        ordered = sorted(self.counts.items(), key=lambda item: _ORDER.get(item[0], len(_ORDER)))
        return ", ".join(f"{status.lower()} {n}" for status, n in ordered)


async def _poll(client: HTCClient, watched: list[_Watched]) -> bool:
    """Fetch every task's counts; True when every job of every task is terminal."""
    for item in watched:
        summary = await client.tasks.summary(item.ref)
        item.counts = {str(s): n for s, n in (summary.job_statuses or {}).items() if n}
    return all(item.progress.finished for item in watched)


async def _until_done(
    client: HTCClient, watched: list[_Watched], interval: float, show: Callable[[], None]
) -> None:
    while True:
        finished = await _poll(client, watched)
        show()
        if finished:
            return
        await anyio.sleep(interval)


async def _task_name(client: HTCClient, ref: TaskRef) -> str:
    """The task's name, or its id when the service sends no name."""
    return (await client.tasks.get(ref)).task_name or ref.task_id


async def watch(ctx: Context) -> int:
    out = ctx.output
    args = ctx.args
    refs = [TaskRef(args.project, task_id) for task_id in dict.fromkeys(args.tasks)]
    interval: float = args.interval
    async with ctx.client() as client:
        watched = [_Watched(ref, await _task_name(client, ref)) for ref in refs]
        if out.json:
            await _until_done(client, watched, interval, lambda: None)
        elif out.is_terminal:
            progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}", markup=False),
                TimeElapsedColumn(),
                console=out.console,
                auto_refresh=False,
            )
            bars = {
                item.ref: progress.add_task(item.name, total=None, counts="") for item in watched
            }

            def redraw() -> None:
                for item in watched:
                    progress.update(
                        bars[item.ref],
                        total=item.total,
                        completed=item.progress.done,
                        counts=item.counts_text(),
                    )
                progress.refresh()

            with progress:
                await _until_done(client, watched, interval, redraw)
        else:

            def lines() -> None:
                for item in watched:
                    text = (
                        f"{item.name} ({item.ref.task_id}): {item.progress.done}/{item.total} done"
                        f"  {item.counts_text()}"
                    )
                    if text != item.shown:
                        out.line(text)
                        item.shown = text
                out.out.flush()

            await _until_done(client, watched, interval, lines)
    failed = sum(item.progress.failed for item in watched)
    total = sum(item.total for item in watched)
    if out.json:
        out.emit_json(
            [
                {
                    "projectId": item.ref.project_id,
                    "taskId": item.ref.task_id,
                    "taskName": item.name,
                    "total": item.total,
                    "failed": item.progress.failed,
                    "jobStatuses": item.counts,
                }
                for item in watched
            ]
        )
    else:
        out.line(f"all {total} jobs finished: {total - failed} succeeded, {failed} failed")
    return EXIT_JOBS_FAILED if failed else EXIT_OK
