"""The benchmark run: served emulators, seeding, one fresh process per measurement, the table.

Scenarios (issue 5): (a) list 10,000 jobs of a task; (b) status of 1,000 named jobs; (c) a
100,000-line log streamed to a file, and peak RSS at 1,000,000 lines; (d) submit 10 x 1,000
jobs; (e) orchestrate 10,000 jobs in 100 tasks to completion under a 20 requests/s server
limit; (e') watch 100,000 simulated jobs in 1,000 tasks under the same limit. (a)-(d) run
against one served emulator with 50 ms injected latency; each run measures
every implementation once (in a rotating order), and every ratio is taken within a run.
Issue 13 adds the platform API v2 (``platform_scenarios``): (f) download a 1 GiB output
file under a per-connection bandwidth cap; (i) upload 200 inputs and run 50 jobs end to end
under the scopes' limits. Issue 12 adds the HTC data plane (``dataplane_push``,
``dataplane_storage``): (g) push a 1 GiB image of 5 layers to a real registry; (h) upload and
download 1 GiB as 1 file and as 10,000 files to moto's S3.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ._measure import Measurement
from ._served import Api, Served, served_emulator
from .report import Report

__all__ = ["Config", "main"]

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "python:3.11"
CHEAP = ["true"]
LOG_CODE = (
    "import sys\n"
    "w = sys.stdout.write\n"
    "for i in range(int(sys.argv[1])):\n"
    "    w(f'{i:07d} INFO solver: iteration {i} residual={1.0 / (i + 1):.6e}\\n')\n"
)
"""A job printing N log lines of ~55 characters."""


@dataclass(frozen=True)
class Config:
    runs: int = 5
    """Runs per figure of (a), (c) at 100,000 lines and (d)."""
    slow_runs: int = 3
    """Runs per figure of the slow ones: (b) (rescalehtc takes ~55 s a run), (c) at 1,000,000
    lines, (e), (f), (g), (h) and (i)."""
    latency: float = 0.05
    list_jobs: int = 10_000
    page_size: int = 1_000
    """The largest pageSize the service (and the emulator) accepts for a job listing: the
    floor's page size; the SDK is called without one (its default is that largest page)."""
    status_jobs: int = 1_000
    log_lines: int = 100_000
    log_lines_big: int = 1_000_000
    big_log_impls: tuple[str, ...] = ("sdk", "floor")
    submit_batches: int = 10
    submit_count: int = 1_000
    tasks: int = 100
    jobs_per_task: int = 100
    server_rate: float = 20.0
    server_burst: int = 20
    """One second's worth. The emulator applies its limit when its event loop reads a request,
    so its own pauses (GC, spawning job processes on CPUs shared with the client) bunch
    requests that were sent evenly; with a burst of 5, a client sending a steady 18/s saw up
    to 7 429s in a run."""
    client_rate: float = 18.0
    client_burst: int = 1
    interval: float = 5.0
    """wait() polling interval for (e): one full cycle of 100 summaries fits in it."""
    orchestrate_refresh: float = 1.0
    """The emulator's status refresh for (e) (the service's is 30 s)."""
    workers: int = 16
    scale_tasks: int = 1000
    scale_jobs_per_task: int = 100
    scale_duration: tuple[float, float] = (2.0, 40.0)
    """Seconds a simulated job of (e') runs (uniform)."""
    scale_failure_rate: float = 0.05
    scale_refresh: float = 5.0
    scale_interval: float = 30.0
    """Polling interval of (e'): a cycle of 1,000 summaries alone takes ~55 s at 18/s."""
    scale_client_rate: float = 15.0
    """The client's pace in (e'): the emulator holding 100,000 jobs pauses longer (its garbage
    collector), bunching more of what was sent evenly than in (e)."""
    scale_workers: int = 10_000
    """Simulated jobs running at once (the emulator's workspace vCPU limit is 10,000 too)."""
    download_size: int = 1024**3
    """(f): bytes of the output file downloaded."""
    download_bandwidth: float = 8 * 1024**2
    """(f): bytes per second the emulator paces each response to (a per-connection cap)."""
    download_connections: int = 10
    """(f): connections of the SDK, the floor and the notebook (its 10 threads)."""
    platform_jobs: int = 50
    platform_inputs: int = 200
    """(i): input files, spread evenly over the jobs."""
    platform_status_delay: float = 0.5
    """(i): seconds between a platform job's statuses on the emulator."""
    platform_interval: float = 5.0
    """(i): seconds between status polls of a job (the SDK's and the loop's)."""
    push_size: int = 1024**3
    """(g): bytes of the image's layers together."""
    push_layers: int = 5
    storage_size: int = 1024**3
    """(h): bytes moved, as one file and as ``storage_files`` files."""
    storage_files: int = 10_000
    scenarios: tuple[str, ...] = ("a", "b", "c", "d", "e", "e'", "f", "i", "g", "h")
    quick: bool = False


QUICK = Config(
    runs=1,
    slow_runs=1,
    list_jobs=300,
    status_jobs=40,
    log_lines=2_000,
    log_lines_big=20_000,
    submit_batches=2,
    submit_count=50,
    tasks=3,
    jobs_per_task=5,
    interval=0.5,
    orchestrate_refresh=0.2,
    scale_tasks=5,
    scale_jobs_per_task=20,
    scale_duration=(0.2, 2.0),
    scale_refresh=0.2,
    scale_interval=0.5,
    scale_workers=100,
    download_size=24 * 1024**2,
    download_bandwidth=32 * 1024**2,
    platform_jobs=2,
    platform_inputs=6,
    platform_status_delay=0.05,
    platform_interval=0.2,
    push_size=20 * 1024**2,
    storage_size=8 * 1024**2,
    storage_files=40,
    quick=True,
)

IMPLS = ("sdk", "floor", "rescalehtc")


@dataclass
class Context:
    config: Config
    workdir: Path
    report: Report
    log: Callable[[str], None]
    counter: int = 0
    served: list[Served] = field(default_factory=list)


def _rotated(impls: Sequence[str], run: int) -> list[str]:
    shift = run % len(impls)
    return [*impls[shift:], *impls[:shift]]


def measure(ctx: Context, impl: str, scenario: str, params: dict[str, Any]) -> Measurement:
    """Run one implementation's scenario in a fresh interpreter."""
    ctx.counter += 1
    path = ctx.workdir / f"params-{ctx.counter}.json"
    path.write_text(json.dumps({**params, "impl": impl, "scenario": scenario}))
    env = {**os.environ, "HOME": str(ctx.workdir), "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks._child", str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Measurement(error="timed out after 1200 s")
    result = Measurement.from_output(done.stdout)
    if result is None:
        tail = done.stderr.strip().splitlines()[-3:]
        return Measurement(error=f"exit code {done.returncode}: {' | '.join(tail)}"[:300])
    if result.error:
        (ctx.workdir / f"error-{ctx.counter}.txt").write_text(done.stderr)
    return result


def _check(result: Measurement, **expected: Any) -> Measurement:
    """An error instead of a figure when the implementation did not do the whole job."""
    if result.seconds is None:
        return result
    wrong = {k: (result.extra.get(k), v) for k, v in expected.items() if result.extra.get(k) != v}
    if wrong:
        shown = ", ".join(f"{k}={got!r} (expected {want!r})" for k, (got, want) in wrong.items())
        return result.wrong(shown)
    return result


def _run_all(
    ctx: Context,
    key: str,
    impls: Sequence[str],
    runs: int,
    one: Callable[[str, int], Measurement],
) -> None:
    for run in range(runs):
        for impl in _rotated(impls, run):
            result = one(impl, run)
            ctx.report.add(key, impl, run, result)
            ctx.log(f"  {key} run {run + 1}/{runs} {impl}: {result.summary()}")


# ---------------------------------------------------------------------------------- (a)-(d)


def _base(served: Served, project: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    return {
        "base_url": served.base_url,
        "api_key": served.api_key,
        "project_id": project["projectId"],
        "task_id": task["taskId"],
        "project": project,
        "task": task,
    }


def _bench_jobs(ctx: Context) -> None:
    """(a) and (b) on one emulator: 10,000 finished jobs to list and look up."""
    cfg = ctx.config
    with served_emulator(
        ctx.workdir, latency=cfg.latency, refresh_interval=0.1, workers=cfg.workers, name="jobs"
    ) as served:
        ctx.served.append(served)
        api = Api(served)
        try:
            start = time.perf_counter()
            project = api.project()
            task = api.create_task(project["projectId"], "bench-list")
            # Finished jobs are all (a) and (b) need; without commands they finish without a
            # process, which keeps seeding 10,000 of them quick.
            ids = api.submit(project["projectId"], task["taskId"], [], cfg.list_jobs, IMAGE)
            api.wait_terminal(project["projectId"], task["taskId"], len(ids), timeout=600)
            ctx.log(f"seeded {len(ids):,} finished jobs in {time.perf_counter() - start:.1f} s")
            if "a" in cfg.scenarios:
                params = {**_base(served, project, task), "page_size": cfg.page_size}
                _run_all(
                    ctx,
                    "a",
                    IMPLS,
                    cfg.runs,
                    lambda impl, _: _check(
                        measure(ctx, impl, "list_jobs", params), items=len(ids), distinct=len(ids)
                    ),
                )
            if "b" in cfg.scenarios:
                step = max(1, len(ids) // cfg.status_jobs)
                named = ids[::step][: cfg.status_jobs]
                params = {
                    **_base(served, project, task),
                    "job_ids": named,
                    "chunks": _id_chunks(named),
                }
                _run_all(
                    ctx,
                    "b",
                    IMPLS,
                    cfg.slow_runs,
                    lambda impl, _: _check(
                        measure(ctx, impl, "statuses", params), items=len(named), ids_match=True
                    ),
                )
        finally:
            api.close()


def _id_chunks(ids: list[str]) -> list[list[str]]:
    """The ids split as ``client.jobs.get_many`` splits them (so the floor sends the same
    requests): as many as fit in its budget of URL characters.
    """
    from rescale_async.htc.orchestration import _jobs  # noqa: PLC0415 - only the harness needs it

    budget: int = getattr(_jobs, "_URL_IDS_LENGTH", 6000)
    chunks: list[list[str]] = []
    length = budget
    for job_id in ids:
        size = len(quote(job_id, safe="")) + 7
        if length + size > budget:
            chunks.append([])
            length = 0
        chunks[-1].append(job_id)
        length += size
    return chunks


def _bench_submit(ctx: Context) -> None:
    """(d) on a fresh emulator per measurement: every implementation submits into the same
    empty server (a server holding 20,000 more jobs pauses longer for its garbage collector,
    which slowed whoever came last in a run).
    """
    cfg = ctx.config
    expected = cfg.submit_batches * cfg.submit_count

    def one(impl: str, run: int) -> Measurement:
        with served_emulator(
            ctx.workdir,
            latency=cfg.latency,
            refresh_interval=0.1,
            workers=cfg.workers,
            name=f"submit-{impl}-{run}",
        ) as served:
            ctx.served.append(served)
            api = Api(served)
            try:
                # The jobs must not run: 10,000 processes would load the machine during the
                # measurement. A vCPU limit of 0 keeps them queued.
                held = api.create_project("bench-submit-held", vcpu_limit=0)
                task = api.create_task(held["projectId"], f"submit-{impl}-{run}")
                params = {
                    **_base(served, held, task),
                    "image": IMAGE,
                    "commands": CHEAP,
                    "count": cfg.submit_count,
                    "batches": cfg.submit_batches,
                }
                result = measure(ctx, impl, "submit", params)
                result = _check(result, jobs=expected, distinct=expected)
                if result.seconds is None:
                    return result
                jobs = f"htc/projects/{held['projectId']}/tasks/{task['taskId']}/jobs"
                listed = sum(1 for _ in api.pages(jobs, viewType="SIMPLE", pageSize=cfg.page_size))
            finally:
                api.close()
        if listed != expected:
            return replace(
                result, error=f"the server holds {listed} jobs, not {expected}", seconds=None
            )
        return result

    _run_all(ctx, "d", IMPLS, cfg.runs, one)


# ---------------------------------------------------------------------------------- (c)


def _bench_logs(ctx: Context) -> None:
    """(c) on its own emulator (its million log lines would slow the others' server)."""
    cfg = ctx.config
    with served_emulator(
        ctx.workdir, latency=cfg.latency, refresh_interval=0.1, workers=cfg.workers, name="logs"
    ) as served:
        ctx.served.append(served)
        api = Api(served)
        try:
            start = time.perf_counter()
            project = api.project()
            task = api.create_task(project["projectId"], "bench-logs")
            logs: dict[int, str] = {}
            for lines in (cfg.log_lines, cfg.log_lines_big):
                command = [sys.executable, "-c", LOG_CODE, str(lines)]
                logs[lines] = api.submit(project["projectId"], task["taskId"], command, 1, IMAGE)[0]
            api.wait_terminal(project["projectId"], task["taskId"], 2, timeout=600)
            ctx.log(f"seeded the logs in {time.perf_counter() - start:.1f} s")
        finally:
            api.close()

        def one(lines: int, impl: str) -> Measurement:
            path = ctx.workdir / f"log-{impl}-{lines}.txt"
            params = {**_base(served, project, task), "job_id": logs[lines], "path": str(path)}
            result = measure(ctx, impl, "save_logs", params)
            if result.seconds is not None:
                result = _check_log(result, path, lines)
            path.unlink(missing_ok=True)
            return result

        _run_all(ctx, "c", IMPLS, cfg.runs, lambda impl, _: one(cfg.log_lines, impl))
        _run_all(
            ctx,
            "c-big",
            cfg.big_log_impls,
            cfg.slow_runs,
            lambda impl, _: one(cfg.log_lines_big, impl),
        )


def _check_log(result: Measurement, path: Path, lines: int) -> Measurement:
    """The file holds every line once, oldest first."""
    count = 0
    first = last = ""
    with open(path) as written:
        for line in written:
            if count == 0:
                first = line
            last = line
            count += 1
    problem = None
    if count != lines:
        problem = f"{count} lines written, expected {lines}"
    elif not (first.startswith(f"{0:07d} ") and last.startswith(f"{lines - 1:07d} ")):
        problem = f"wrong order: first {first[:8]!r}, last {last[:8]!r}"
    if problem:
        return result.wrong(problem)
    return result


# ---------------------------------------------------------------------------------- (e)


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _bench_orchestrate(ctx: Context) -> None:
    """(e): a fresh rate-limited emulator per measurement; its counters and its own record of
    every job (written at exit) are the truth the client's result is checked against.
    """
    cfg = ctx.config

    def one(impl: str, run: int) -> Measurement:
        with served_emulator(
            ctx.workdir,
            latency=cfg.latency,
            refresh_interval=cfg.orchestrate_refresh,
            workers=cfg.workers,
            rate_limit=cfg.server_rate,
            rate_burst=cfg.server_burst,
            jobs_file=True,
            name=f"orchestrate-{impl}-{run}",
        ) as served:
            ctx.served.append(served)
            params = {
                "base_url": served.base_url,
                "api_key": served.api_key,
                "project_id": served.project_id,
                "image": IMAGE,
                "commands": CHEAP,
                "tasks": cfg.tasks,
                "jobs_per_task": cfg.jobs_per_task,
                "client_rate": cfg.client_rate,
                "client_burst": cfg.client_burst,
                "interval": cfg.interval,
            }
            result = measure(ctx, impl, "orchestrate", params)
        if result.seconds is None:
            return result
        extra = dict(result.extra)
        tasks = set(extra.pop("task_ids", []))
        jobs = [job for job in served.jobs if job["taskId"] in tasks]
        statuses: dict[str, int] = {}
        for job in jobs:
            statuses[job["status"]] = statuses.get(job["status"], 0) + 1
        completed = [_instant(job["completedAt"]) for job in jobs if job["completedAt"]]
        counters = served.counters
        extra.update(
            server_requests=counters.get("requests_total", 0),
            server_429s=counters.get("statuses", {}).get("429", 0),
            server_jobs=len(jobs),
            server_statuses=statuses,
            requests_by_endpoint=counters.get("requests", {}),
            throttled_by_endpoint={
                endpoint.removesuffix(" 429"): n
                for endpoint, n in counters.get("responses", {}).items()
                if endpoint.endswith(" 429")
            },
        )
        if completed:
            extra["delay"] = extra["returned_at"] - max(completed)
        result = replace(result, extra=extra)
        expected = cfg.tasks * cfg.jobs_per_task
        if len(jobs) != expected:
            return replace(result, error=f"the server holds {len(jobs)} jobs, not {expected}")
        if extra.get("counts") != statuses:
            return replace(
                result,
                error=f"counts {extra.get('counts')} differ from the server's {statuses}",
            )
        return result

    _run_all(ctx, "e", ("sdk", "floor"), cfg.slow_runs, one)


# ---------------------------------------------------------------------------------- (e')


def _bench_scale(ctx: Context) -> None:
    """(e'): one run (a fresh emulator of simulated jobs, rate-limited); the server's counters
    and its record of every job are checked against what the watch reported.
    """
    cfg = ctx.config
    simulation = (
        "--run-mode",
        "simulated",
        "--simulated-duration",
        f"{cfg.scale_duration[0]}:{cfg.scale_duration[1]}",
        "--simulated-failure-rate",
        str(cfg.scale_failure_rate),
        "--seed",
        "8",
    )
    with served_emulator(
        ctx.workdir,
        latency=cfg.latency,
        refresh_interval=cfg.scale_refresh,
        workers=cfg.scale_workers,
        rate_limit=cfg.server_rate,
        rate_burst=cfg.server_burst,
        jobs_file=True,
        name="scale",
        extra_args=simulation,
    ) as served:
        ctx.served.append(served)
        params = {
            "base_url": served.base_url,
            "api_key": served.api_key,
            "project_id": served.project_id,
            "image": IMAGE,
            "commands": CHEAP,
            "tasks": cfg.scale_tasks,
            "jobs_per_task": cfg.scale_jobs_per_task,
            "client_rate": cfg.scale_client_rate,
            "client_burst": cfg.client_burst,
            "interval": cfg.scale_interval,
        }
        result = measure(ctx, "sdk_scale", "watch_scale", params)
    if result.seconds is not None:
        result = _checked_scale(result, served, cfg.scale_tasks * cfg.scale_jobs_per_task)
    ctx.report.add("e'", "sdk", 0, result)
    ctx.log(f"  e' sdk: {result.summary()}")


def _checked_scale(result: Measurement, served: Served, expected: int) -> Measurement:
    """The server's own figures added, and the watch's counts checked against its jobs."""
    extra = dict(result.extra)
    tasks = set(extra.pop("task_ids", []))
    statuses: dict[str, int] = {}
    for job in served.jobs:
        if job["taskId"] in tasks:
            statuses[job["status"]] = statuses.get(job["status"], 0) + 1
    counters = served.counters
    extra.update(
        server_requests=counters.get("requests_total", 0),
        server_429s=counters.get("statuses", {}).get("429", 0),
        server_statuses=statuses,
        requests_by_endpoint=counters.get("requests", {}),
        throttled_by_endpoint={
            endpoint.removesuffix(" 429"): n
            for endpoint, n in counters.get("responses", {}).items()
            if endpoint.endswith(" 429")
        },
    )
    result = replace(result, extra=extra)
    if sum(statuses.values()) != expected:
        return replace(
            result, error=f"the server holds {sum(statuses.values())} jobs, not {expected}"
        )
    if extra.get("counts") != statuses:
        return replace(
            result, error=f"counts {extra.get('counts')} differ from the server's {statuses}"
        )
    return result


# ---------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> tuple[Config, Path]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--runs",
        type=int,
        help="runs per figure (default: 5; 3 for (b), (c) at 1,000,000 lines and (e))",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny configuration (smoke test)")
    parser.add_argument(
        "--only", help="scenarios to run, e.g. 'a,b' (default: all of a,b,c,d,e,e',f,i,g,h)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).with_name("RESULTS.md"),
        help="where the table goes (default benchmarks/RESULTS.md)",
    )
    args = parser.parse_args(argv)
    config = QUICK if args.quick else Config()
    if args.runs is not None:
        config = replace(config, runs=max(1, args.runs), slow_runs=max(1, args.runs))
    if args.only:
        wanted = tuple(s.strip() for s in args.only.split(",") if s.strip())
        unknown = set(wanted) - set(Config.scenarios)
        if unknown:
            parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
        config = replace(config, scenarios=wanted)
    return config, args.output


def main(argv: list[str] | None = None) -> int:
    config, output = parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)

    report = Report(config)
    with tempfile.TemporaryDirectory(prefix="rescale-bench-") as tmp:
        ctx = Context(config, Path(tmp), report, log)
        if {"a", "b"} & set(config.scenarios):
            _bench_jobs(ctx)
        if "d" in config.scenarios:
            _bench_submit(ctx)
        if "c" in config.scenarios:
            _bench_logs(ctx)
        if "e" in config.scenarios:
            _bench_orchestrate(ctx)
        if "e'" in config.scenarios:
            _bench_scale(ctx)
        if {"f", "i"} & set(config.scenarios):
            # imported here: the platform scenarios use this module's measure() and Context
            from . import platform_scenarios  # noqa: PLC0415

            if "f" in config.scenarios:
                platform_scenarios.bench_download(ctx)
            if "i" in config.scenarios:
                platform_scenarios.bench_platform_run(ctx)
        if "g" in config.scenarios:
            from . import dataplane_push  # noqa: PLC0415 - uses measure() and Context too

            dataplane_push.bench_push(ctx)
        if "h" in config.scenarios:
            from . import dataplane_storage  # noqa: PLC0415

            dataplane_storage.bench_storage(ctx)
    report.elapsed = time.perf_counter() - started
    text = report.render()
    output.write_text(text)
    print(text)
    log(f"wrote {output}")
    return 0 if report.complete() else 1
