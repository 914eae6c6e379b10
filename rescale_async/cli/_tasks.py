"""``tasks list|create|delete|stats``."""

from __future__ import annotations

from ..htc.orchestration import TaskReport
from ..htc.types import JobStatus, JobStatusSummary
from ._context import Context
from ._errors import EXIT_OK
from ._output import Output

__all__ = ["create", "delete", "list_tasks", "report", "stats"]


async def list_tasks(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        tasks = await client.tasks.list(ctx.args.project, limit=ctx.args.limit).to_list()
    if out.json:
        out.emit_json(tasks)
        return EXIT_OK
    out.table(
        ["TASK ID", "NAME", "STATUS", "DESCRIPTION", "CREATED", "LAST ACTIVE"],
        (
            (
                t.task_id,
                t.task_name,
                t.lifecycle_status,
                t.task_description,
                t.created_at,
                t.last_active_at,
            )
            for t in tasks
        ),
        empty="no tasks in this project",
    )
    return EXIT_OK


async def create(ctx: Context) -> int:
    out = ctx.output
    args = ctx.args
    async with ctx.client() as client:
        task = await client.tasks.create(args.project, name=args.name, description=args.description)
    if out.json:
        out.emit_json(task)
    else:
        out.details(task)
    return EXIT_OK


async def delete(ctx: Context) -> int:
    out = ctx.output
    ref = ctx.task_ref()
    async with ctx.client() as client:
        deleted = await client.tasks.delete(ref)
    if out.json:
        out.emit_json(
            deleted if deleted is not None else {"projectId": ref.project_id, "taskId": ref.task_id}
        )
    else:
        out.line(f"deleted task {ref.task_id} of project {ref.project_id}")
    return EXIT_OK


def _counts(summary: JobStatusSummary) -> dict[str, int]:
    return {str(status): n for status, n in (summary.job_statuses or {}).items()}


def _statuses(summaries: list[JobStatusSummary]) -> list[str]:
    """Every status that occurs, in the order a job passes through them."""
    seen = {status for summary in summaries for status in _counts(summary)}
    known = [status.value for status in JobStatus if status.value in seen]
    return known + sorted(seen - set(known))


def _render_stats(out: Output, summary: JobStatusSummary, groups: list[JobStatusSummary]) -> None:
    counts = _counts(summary)
    rows: list[tuple[object, ...]] = [(s, counts.get(s, 0)) for s in _statuses([summary])]
    rows.append(("TOTAL", summary.total))
    out.table(["STATUS", "JOBS"], rows)
    if groups:
        statuses = _statuses(groups)
        out.table(
            ["GROUP", *statuses, "TOTAL"],
            ((g.group, *(_counts(g).get(s, 0) for s in statuses), g.total) for g in groups),
        )


async def stats(ctx: Context) -> int:
    out = ctx.output
    ref = ctx.task_ref()
    async with ctx.client() as client:
        summary = await client.tasks.summary(ref)
        groups = await client.tasks.group_summaries(ref).to_list() if ctx.args.by_group else []
    if out.json:
        data: dict[str, object] = {**summary.model_dump(mode="json"), "total": summary.total}
        if ctx.args.by_group:
            data["groups"] = [{**g.model_dump(mode="json"), "total": g.total} for g in groups]
        out.emit_json(data)
    else:
        _render_stats(out, summary, groups)
    return EXIT_OK


def _seconds_text(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def _render_report(out: Output, report: TaskReport) -> None:
    statuses = _statuses_of(report.by_status)
    rows: list[tuple[object, ...]] = [(s, report.by_status[s]) for s in statuses]
    rows.append(("TOTAL", report.total))
    out.table(["STATUS", "JOBS"], rows)
    if report.by_failure_code:
        out.table(["FAILURE CODE", "JOBS"], sorted(report.by_failure_code.items()))
    d = report.durations
    low, middle, high = (_seconds_text(value) for value in (d.min, d.median, d.max))
    out.line(
        f"durations of {d.count} ended jobs: min {low}, median {middle}, max {high}; "
        f"vCPU-hours used: {report.vcpu_hours:.3f}"
    )
    if report.failed:
        out.table(
            ["FAILED JOB", "STATUS", "FAILURE CODE"],
            ((f.job.job_id, str(f.status), f.failure_code or "(cancelled)") for f in report.failed),
        )


def _statuses_of(counts: dict[str, int]) -> list[str]:
    """The statuses of ``counts`` in the order a job passes through them."""
    known = [status.value for status in JobStatus if status.value in counts]
    return known + sorted(set(counts) - set(known))


async def report(ctx: Context) -> int:
    """A task's (or one group's) report: counts, failure codes, durations, vCPU-hours."""
    out = ctx.output
    ref = ctx.task_ref()
    async with ctx.client() as client:
        found = await client.jobs.report(ref, group=ctx.args.group)
    if out.json:
        out.emit_json(found.to_dict())
    else:
        _render_report(out, found)
    return EXIT_OK
