"""Medians, ratios within each run, targets and verdicts: the tables of ``RESULTS.md``."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from ._measure import Measurement
from .dataplane_report import DATAPLANE_NAMES, dataplane_sections
from .platform_report import PLATFORM_NAMES, platform_sections

if TYPE_CHECKING:
    from .runner import Config

__all__ = ["Report"]

KIB_PER_MIB = 1024.0
NAMES = {"sdk": "this SDK", "floor": "httpx floor", "rescalehtc": "rescalehtc"}

Get = Callable[[Measurement], float | None]
Fmt = Callable[[float | None], str]
Run = dict[str, dict[str, Measurement]]
"""One run's measurements: scenario key -> implementation -> measurement."""


@dataclass(frozen=True)
class Target:
    """The SDK at least ``faster`` times faster than rescalehtc, and at most ``floor`` times
    the floor's time.
    """

    faster: float
    floor: float

    def text(self) -> str:
        return f">= {self.faster:g}x faster than rescalehtc; <= {self.floor:g}x floor"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _mib(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / KIB_PER_MIB:.1f} MiB"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _bytes(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} B"


def _seconds_of(m: Measurement) -> float | None:
    return m.seconds


def _peak(m: Measurement) -> float | None:
    return None if m.peak_rss_kib is None else float(m.peak_rss_kib)


def _extra(name: str) -> Get:
    def get(m: Measurement) -> float | None:
        value = m.extra.get(name)
        return None if value is None else float(value)

    return get


class Report:
    """Measurements by scenario key, run and implementation."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.results: dict[str, dict[int, dict[str, Measurement]]] = {}
        self.elapsed = 0.0

    def add(self, key: str, impl: str, run: int, result: Measurement) -> None:
        self.results.setdefault(key, {}).setdefault(run, {})[impl] = result

    def complete(self) -> bool:
        """True when no measurement failed (an implementation not available yet is fine)."""
        return not any(
            m.error for runs in self.results.values() for row in runs.values() for m in row.values()
        )

    # ------------------------------------------------------------------ figures

    def _of(self, key: str, impl: str) -> list[Measurement]:
        return [row[impl] for row in self.results.get(key, {}).values() if impl in row]

    def problem(self, key: str, impl: str) -> str | None:
        """Why there is no figure for ``impl`` in ``key`` (None: there is one)."""
        found = self._of(key, impl)
        if not found:
            return "not run"
        for m in found:
            if m.unavailable:
                return f"not available yet: {m.unavailable}"
            if m.error:
                return f"error: {m.error}"
        return None

    def median(self, key: str, impl: str, get: Get) -> float | None:
        if self.problem(key, impl):
            return None
        return _median([v for m in self._of(key, impl) if (v := get(m)) is not None])

    def per_run(self, get: Callable[[Run], float | None], *keys: str) -> float | None:
        """The median over runs of ``get`` applied to one run's measurements of ``keys``."""
        common = set.intersection(*(set(self.results.get(k, {})) for k in keys))
        values = []
        for run in sorted(common):
            try:
                value = get({k: self.results[k][run] for k in keys})
            except KeyError:
                continue
            if value is not None:
                values.append(value)
        return _median(values)

    def time_ratio(self, key: str, top: str, bottom: str) -> float | None:
        """Median over runs of ``top``'s time divided by ``bottom``'s, in the same run."""
        if self.problem(key, top) or self.problem(key, bottom):
            return None

        def ratio(run: Run) -> float | None:
            a, b = run[key][top].seconds, run[key][bottom].seconds
            return None if a is None or not b else a / b

        return self.per_run(ratio, key)

    def cell(self, key: str, impl: str, get: Get, fmt: Fmt) -> str:
        problem = self.problem(key, impl)
        if problem is None:
            return fmt(self.median(key, impl, get))
        if problem.startswith("not available"):
            return "not available yet"
        return "n/a" if problem == "not run" else "error"

    # ------------------------------------------------------------------ (a)-(d)

    def _time_row(self, key: str, title: str, target: Target) -> str:
        cells = [self.cell(key, impl, _seconds_of, _seconds) for impl in NAMES]
        faster = self.time_ratio(key, "rescalehtc", "sdk")
        of_floor = self.time_ratio(key, "sdk", "floor")
        verdict = self._verdict(key, target, faster, of_floor)
        return (
            f"| {title} | {' | '.join(cells)} | {_ratio(faster)} | {_ratio(of_floor)} "
            f"| {target.text()} | {verdict} |"
        )

    def _verdict(
        self, key: str, target: Target, faster: float | None, of_floor: float | None
    ) -> str:
        for impl, name in NAMES.items():
            problem = self.problem(key, impl)
            if problem:
                return f"not measured ({name}: {problem})"
        missed = []
        if faster is not None and faster < target.faster:
            floor_faster = self.time_ratio(key, "rescalehtc", "floor")
            missed.append(
                f"{faster:.2f}x faster than rescalehtc, below {target.faster:g}x (the floor "
                f"itself is {_ratio(floor_faster)} faster)"
            )
        if of_floor is not None and of_floor > target.floor:
            missed.append(f"{of_floor:.2f}x the floor's time, above {target.floor:g}x")
        return "met" if not missed else "missed: " + "; ".join(missed)

    def _rss_rows(self) -> list[str]:
        cfg = self.config
        rows = []
        for key, lines in (("c", cfg.log_lines), ("c-big", cfg.log_lines_big)):
            if key not in self.results:
                continue
            cells = [self.cell(key, impl, _peak, _mib) for impl in NAMES]
            target = verdict = "-"
            if key == "c-big":
                target = "SDK <= its peak at 100,000 lines + 10 MiB"
                verdict = self._growth_verdict()
            title = f"(c) peak RSS, {lines:,}-line log"
            rows.append(f"| {title} | {' | '.join(cells)} | - | - | {target} | {verdict} |")
        return rows

    def _growth_verdict(self) -> str:
        problem = self.problem("c-big", "sdk") or self.problem("c", "sdk")
        if problem:
            return f"not measured ({problem})"

        def growth(run: Run) -> float | None:
            big, small = run["c-big"]["sdk"].peak_rss_kib, run["c"]["sdk"].peak_rss_kib
            return None if big is None or small is None else float(big - small)

        value = self.per_run(growth, "c", "c-big")
        if value is None:
            return "not measured"
        text = f"{value / KIB_PER_MIB:+.1f} MiB"
        return f"met ({text})" if value <= 10 * KIB_PER_MIB else f"missed: {text} over it"

    # ------------------------------------------------------------------ (e)

    def _orchestrate_rows(self) -> list[str]:
        cfg = self.config
        jobs = cfg.tasks * cfg.jobs_per_task

        def growth(m: Measurement) -> float | None:
            if m.peak_rss_kib is None or m.start_rss_kib is None:
                return None
            return (m.peak_rss_kib - m.start_rss_kib) * 1024.0 / jobs

        def no_429s(v: float) -> str | None:
            return None if v == 0 else f"{v:.0f} 429s in a run"

        def all_jobs(v: float) -> str | None:
            return None if v == jobs else f"{v:.0f} of {jobs:,} in a run"

        def small(v: float) -> str | None:
            return None if v <= 2048 else f"{v:,.0f} B per job in a run"

        rows: list[tuple[str, Get, Fmt, str, Callable[[float], str | None] | None]] = [
            ("wall time, first request to wait() returning", _seconds_of, _seconds, "-", None),
            ("requests the server saw", _extra("server_requests"), _count, "-", None),
            ("429s received", _extra("server_429s"), _count, "0", no_429s),
            (
                f"jobs accounted for, checked against the server (of {jobs:,})",
                _extra("accounted"),
                _count,
                f"{jobs:,}",
                all_jobs,
            ),
            ("delay, last job finished -> wait() returned", _extra("delay"), _seconds, "-", None),
            ("peak RSS", _peak, _mib, "-", None),
            ("RSS growth per tracked job", growth, _bytes, "<= 2 KB", small),
        ]
        lines = []
        for title, get, fmt, target, check in rows:
            cells = [self.cell("e", impl, get, fmt) for impl in ("sdk", "floor")]
            verdict = "-"
            if check is not None:
                problem = self.problem("e", "sdk")
                if problem:
                    verdict = f"not measured ({problem})"
                else:  # every run must meet it, not only the median
                    values = [get(m) for m in self._of("e", "sdk")]
                    misses = sorted({msg for v in values if v is not None and (msg := check(v))})
                    verdict = "met (every run)" if not misses else "missed: " + "; ".join(misses)
            lines.append(f"| {title} | {' | '.join(cells)} | {target} | {verdict} |")
        return lines

    def _endpoint_rows(self) -> list[str]:
        """What the requests of (e) were, by endpoint (median over runs)."""
        lines = []
        for impl in ("sdk", "floor"):
            if self.problem("e", impl):
                continue
            found = self._of("e", impl)
            endpoints = sorted({e for m in found for e in m.extra.get("requests_by_endpoint", {})})
            parts = []
            for endpoint in endpoints:
                counts = [m.extra.get("requests_by_endpoint", {}).get(endpoint, 0) for m in found]
                parts.append(f"`{endpoint}` {statistics.median(counts):,.0f}")
            lines.append(f"- {NAMES[impl]}: " + ", ".join(parts))
        return lines

    # ------------------------------------------------------------------ (e')

    def _scale_section(self) -> list[str]:
        """(e'): one run's figures, each against the issue's bound."""
        cfg = self.config
        jobs = cfg.scale_tasks * cfg.scale_jobs_per_task
        title = (
            f"## (e') watch {jobs:,} jobs in {cfg.scale_tasks:,} tasks under a "
            f"{cfg.server_rate:g} requests/s server limit"
        )
        problem = self.problem("e'", "sdk")
        if problem:
            return [title, "", f"Not measured: {problem}.", ""]
        m = self._of("e'", "sdk")[0]
        x = m.extra
        cycles: list[dict[str, int]] = x.get("cycles", [])
        costly = [c for c in cycles if c["requests"] > c["tasks"] + c["tasks"]]
        per_job = float(x.get("bytes_per_job", 0.0))
        rss = None if m.peak_rss_kib is None else (m.peak_rss_kib - (m.start_rss_kib or 0))

        def verdict(ok: bool) -> str:
            return "met" if ok else "missed"

        rows = [
            (
                "wall time of the watch (submission not included)",
                _seconds(x.get("watch_seconds")),
                "-",
                "-",
            ),
            (
                f"wall time of the whole run ({cfg.scale_tasks:,} tasks made, submitted, watched)",
                _seconds(m.seconds),
                "-",
                "-",
            ),
            ("polling cycles", _count(len(cycles)), "-", "-"),
            (
                "requests per cycle (summaries + listing pages)",
                ", ".join(f"{c['tasks']:,} + {c['pages']:,}" for c in cycles),
                "<= 1 summary per unfinished task + 1 page per task whose counts moved",
                verdict(not costly),
            ),
            (
                "requests the server saw (all, submission included)",
                _count(x.get("server_requests")),
                "-",
                "-",
            ),
            (
                "429s received",
                _count(x.get("server_429s")),
                "0",
                verdict(x.get("server_429s") == 0),
            ),
            (
                f"jobs accounted for, checked against the server (of {jobs:,})",
                _count(x.get("accounted")),
                f"{jobs:,}",
                verdict(x.get("accounted") == jobs),
            ),
            (
                "memory the watcher keeps per tracked job (tracemalloc)",
                _bytes(per_job),
                "<= 1 KB",
                verdict(0 < per_job <= 1024),
            ),
            (
                "peak RSS growth per job (whole run, with tracemalloc's own cost)",
                _bytes(None if rss is None else rss * 1024.0 / jobs),
                "-",
                "-",
            ),
        ]
        throttled = x.get("throttled_by_endpoint", {})
        if throttled:
            shown = ", ".join(f"`{e}` {n:,}" for e, n in sorted(throttled.items()))
            rows.append(("429s by endpoint", shown, "-", "-"))
        return [
            title,
            "",
            "| measure | this SDK | target | verdict |",
            "|---|---|---|---|",
            *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
            "",
            f"One run. Jobs are simulated by the emulator (`--run-mode simulated`: no process, "
            f"each RUNNING {cfg.scale_duration[0]:g}-{cfg.scale_duration[1]:g} s, "
            f"{cfg.scale_failure_rate:.0%} failing; up to {cfg.scale_workers:,} at once), "
            f"statuses refreshed every {cfg.scale_refresh:g} s, the server limit as in (e), "
            f"the client paced at {cfg.scale_client_rate:g} requests/s. The client creates the "
            f"tasks and submits {cfg.scale_jobs_per_task}"
            f" jobs to each, then runs the watch behind `client.jobs.wait` cycle by cycle "
            f"(interval {cfg.scale_interval:g} s) so that each cycle's requests and, after it, "
            "the memory the watcher keeps (traced allocations since just before it was made, "
            "garbage collected, the cycle's events dropped; the largest over the cycles) can "
            "be read. A listing page holds up to 1,000 jobs, so a task of 100 costs one.",
            "",
        ]

    # ------------------------------------------------------------------ text

    def render(self) -> str:
        cfg = self.config
        lines = [
            "# Benchmarks",
            "",
            "Written by `nox -s bench` (`python -m benchmarks`); do not edit by hand."
            + (" **Quick smoke configuration: not representative.**" if cfg.quick else ""),
            "",
            f"Python {sys.version.split()[0]} on {platform.system()} {platform.machine()} with "
            f"{os.cpu_count()} CPUs (the emulator shares them); rescalehtc "
            f"{_version('rescalehtc')}, httpx {_version('httpx')}; whole run "
            f"{self.elapsed:.0f} s.",
            "",
            "Each measurement runs in a fresh interpreter, so its peak RSS is its own (`VmHWM`; "
            "`ru_maxrss` would not do: Linux carries it across `exec`, so a child would report "
            "the harness's RSS), against a served emulator (`python -m "
            "rescale_async.emulator`, a separate process) that adds "
            f"{cfg.latency * 1000:.0f} ms to every request. Times cover "
            "creating the client (and fetching its token), the work and closing the client. "
            f"Figures are medians of {cfg.runs} runs ({cfg.slow_runs} for (b), (c) at "
            f"{cfg.log_lines_big:,} lines, (e), (f), (g), (h) and (i)); each run measures every "
            "implementation once, in a rotating order, and each ratio is taken within one "
            "run, then the median of the ratios is shown.",
            "",
        ]
        if {"a", "b", "c", "c-big", "d"} & set(self.results):
            lines += [
                "## (a)-(d): this SDK, the httpx floor and rescalehtc side by side",
                "",
                "| scenario | this SDK | httpx floor | rescalehtc | rescalehtc ÷ SDK "
                "| SDK ÷ floor | target | verdict |",
                "|---|---|---|---|---|---|---|---|",
            ]
            rows = [
                ("a", f"(a) list {cfg.list_jobs:,} jobs of a task", Target(7, 1.3)),
                ("b", f"(b) status of {cfg.status_jobs:,} named jobs", Target(30, 1.3)),
                ("c", f"(c) {cfg.log_lines:,}-line log streamed to a file", Target(1.5, 1.3)),
            ]
            lines += [self._time_row(k, t, target) for k, t, target in rows if k in self.results]
            lines += self._rss_rows()
            if "d" in self.results:
                title = f"(d) submit {cfg.submit_batches} x {cfg.submit_count:,} jobs"
                lines.append(self._time_row("d", title, Target(3, 1.3)))
            lines.append("")
        if "e" in self.results:
            lines += [
                f"## (e) orchestrate {cfg.tasks * cfg.jobs_per_task:,} jobs in {cfg.tasks} tasks "
                f"to completion under a {cfg.server_rate:g} requests/s server limit",
                "",
                "| measure | this SDK | httpx floor (hand-written loop) | target | verdict |",
                "|---|---|---|---|---|",
                *self._orchestrate_rows(),
                "",
                "Requests by endpoint (median of the runs):",
                "",
                *self._endpoint_rows(),
                "",
            ]
        if "e'" in self.results:
            lines += self._scale_section()
        lines += platform_sections(self)
        lines += dataplane_sections(self)
        lines += self._why_missed()
        lines += self._method_notes()
        lines += self._problems()
        return "\n".join(lines) + "\n"

    def _why_missed(self) -> list[str]:
        """Where a "faster than rescalehtc" target is out of reach of the floor too, the time
        is the server's, which every implementation waits for: say so.
        """
        server_work = {
            "a": "rendering 10,000 FULL job views (10 pages of 1,000, or 100 pages of 100)",
            "b": "looking up the jobs",
            "c": "rendering the log pages, one after another (each `next` is an opaque link "
            "that only the previous page reveals)",
            "d": "creating 10,000 job records, one POST after another in its single event loop",
        }
        targets = {"a": 7.0, "b": 30.0, "c": 1.5, "d": 3.0}
        notes = []
        for key, target in targets.items():
            faster = self.time_ratio(key, "rescalehtc", "sdk")
            floor_faster = self.time_ratio(key, "rescalehtc", "floor")
            if faster is None or floor_faster is None or faster >= target:
                continue
            if floor_faster < target:
                notes.append(
                    f"- ({key}) Even the floor is only {floor_faster:.2f}x faster than rescalehtc "
                    f"(the target asks {target:g}x): most of the time is the server's, "
                    f"{server_work[key]}, which every implementation waits for alike; only the "
                    "round trips differ. A server that answers faster raises every ratio."
                )
            else:
                share = self.time_ratio(key, "sdk", "floor") or 0.0
                cause = (
                    "the SDK's own overhead costs the target"
                    if share > 1.1
                    else f"yet the SDK takes {share:.2f}x the floor's time in the same runs: "
                    "the server's time varies from run to run by more than the gap"
                )
                notes.append(
                    f"- ({key}) The floor is {floor_faster:.2f}x faster than rescalehtc, the SDK "
                    f"{faster:.2f}x; {cause}."
                )
        logs_share = self.time_ratio("c", "sdk", "floor")
        if logs_share is not None and logs_share > 1.15:
            notes.append(
                f"- (c) The SDK takes {logs_share:.2f}x the floor's time: each page's `next` "
                "is requested while that page is parsed, so the gap is the SDK's own work "
                "past the parse (finding `next`, writing the page), or the server's time "
                "varying from run to run."
            )
        notes += self._orchestration_notes()
        if not notes:
            return []
        return ["## Where the time goes, and why targets are missed", "", *notes, ""]

    def _orchestration_notes(self) -> list[str]:
        if self.problem("e", "sdk"):
            return []
        image = "GET /htc/projects/{projectId}/container-registry/images/{imageName}"
        checks = statistics.median(
            m.extra.get("requests_by_endpoint", {}).get(image, 0) for m in self._of("e", "sdk")
        )
        if checks <= 1:
            return []
        cost = checks / self.config.client_rate
        return [
            f"- (e) The SDK checked the image READY {checks:.0f} times: once per `submit` call, "
            "as the calls ran at once and each found the client's cache still empty. At "
            f"{self.config.client_rate:g} requests/s that is ~{cost:.1f} s of its budget (the "
            "floor checks once)."
        ]

    def _method_notes(self) -> list[str]:
        cfg = self.config
        notes = [
            "## How each scenario is measured",
            "",
            "- **(a)** SDK: `[j async for j in client.jobs.list(task)]` (no page size: the "
            f"SDK's default is the largest page the API accepts, {cfg.page_size:,}); floor: "
            f"token, then pages of {cfg.page_size:,} one after another (each `next` is an "
            "opaque link), JSON into "
            "dicts; rescalehtc: `htcjobs.get_jobs`, which pages 100 jobs at a time (the API's "
            "default; it has no page size argument). FULL views of finished jobs.",
            "- **(b)** SDK: `await client.jobs.get_many(task, ids)`; floor: the same chunks of "
            "`jobId` filters (`viewType=SIMPLE`), all sent at once; rescalehtc: "
            "`htcjobs.get_job_with_id` per job (it has no multi-job lookup). The jobs are "
            "spread over the task's batches. The 10,000 jobs of (a) and (b) are finished, "
            "submitted without commands (the emulator runs no process for them).",
            "- **(c)** SDK: `await client.jobs.save_logs(job, path)` (pages of 10,000 lines, "
            "each page's `next` requested while the page is parsed); floor: pages of 10,000 "
            "lines oldest first, each written as it arrives; rescalehtc: "
            "`HtcJob.get_logs_to_file` (pages of 5,000, newest first, reversed at the end). "
            "Every file is checked (every line once, oldest first). The "
            f"{cfg.log_lines_big:,}-line log is read by "
            f"{' and '.join(NAMES[i] for i in cfg.big_log_impls)}. The logs live on an "
            "emulator of their own.",
            "- **(d)** SDK: `client.jobs.submit(task, JobSpec(image=..., commands=['true']), "
            f"count={cfg.submit_count:,})` {cfg.submit_batches} times at once in a task group; "
            f"floor: token, one image status GET, {cfg.submit_batches} concurrent POSTs; "
            f"rescalehtc: `htcjobs.create_job_batch` {cfg.submit_batches} times (each checks "
            "the image first). Each measurement has a fresh emulator; the jobs go to a project "
            "with a vCPU limit of 0, so they stay queued; the server's job count is checked "
            "after each.",
            f"- **(e)** A fresh emulator per measurement: {cfg.server_rate:g} requests/s for "
            f"all requests together (token bucket, burst {cfg.server_burst}; over it: 429 with "
            "Retry-After; the burst absorbs the emulator's own pauses, which bunch evenly sent "
            "requests: it applies the limit when its event loop reads a request), statuses "
            f"refreshed every {cfg.orchestrate_refresh:g} s (the "
            "service: ~30 s), jobs (`true`) run as real processes. SDK: "
            f"`HTCClient(rate_limit=RateLimit({cfg.client_rate:g}, burst={cfg.client_burst}))`"
            f", {cfg.tasks} tasks created and submitted to at once, then `await "
            f"client.jobs.wait(*batches, interval={cfg.interval:g})`. Floor: the same pacing, "
            f"every unfinished task's summary polled every {cfg.interval:g} s, then one job "
            "listing per task to account for each job. Requests and 429s are the server's own "
            "counts (`--counters-file`); the jobs are checked against the server's own record "
            "(`--jobs-file`): count and status of each. The delay runs from the last job's real "
            "end to wait() returning, so it includes the server's refresh lag and up to one "
            "polling interval. RSS growth: peak RSS minus the RSS when the timed region "
            "began, over the jobs tracked. rescalehtc has no wait across tasks (and raises on "
            "the first 429), so it has no column here.",
        ]
        return [*notes, ""]

    def _problems(self) -> list[str]:
        found = sorted(
            {
                f"- ({key}) run {run + 1}, "
                f"{NAMES.get(impl) or PLATFORM_NAMES.get(impl) or DATAPLANE_NAMES.get(impl, impl)}"
                f": {m.error or m.unavailable}"
                for key, runs in self.results.items()
                for run, row in runs.items()
                for impl, m in row.items()
                if m.error or m.unavailable
            }
        )
        return ["## Measurements without a figure", "", *found, ""] if found else []


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
