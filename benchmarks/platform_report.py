"""The tables of (f) and (i) (the platform API v2) in ``RESULTS.md``, each target with its
verdict. Figures are medians over runs; ratios are taken within a run, then the median.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING

from rescale_async.platform.orchestration._download import chunk_size_for

from ._measure import Measurement

if TYPE_CHECKING:
    from .report import Report

__all__ = ["PLATFORM_NAMES", "platform_sections"]

MIB = 1024 * 1024
PLATFORM_NAMES = {
    "sdk": "this SDK",
    "notebook": "the notebook (10 threads, requests)",
    "single": "a single stream (httpx)",
    "floor": "httpx floor (the same ranges)",
    "loop": "hand-written loop (the notebook's code)",
}
RSS_LIMIT_MIB = 100.0


def _time(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _mib(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def _whole(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _one_decimal(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _seconds(m: Measurement) -> float | None:
    return m.seconds


def _peak(m: Measurement) -> float | None:
    return None if m.peak_rss_kib is None else float(m.peak_rss_kib)


def _extra(name: str) -> Callable[[Measurement], float | None]:
    def get(m: Measurement) -> float | None:
        value = m.extra.get(name)
        return None if value is None else float(value)

    return get


def _measured(report: Report, key: str, impl: str) -> list[Measurement]:
    return [row[impl] for row in report.results.get(key, {}).values() if impl in row]


def platform_sections(report: Report) -> list[str]:
    """The (f) and (i) sections, for the scenarios that ran."""
    lines: list[str] = []
    if "f" in report.results:
        lines += _download_section(report)
    if "i" in report.results:
        lines += _run_section(report)
    return lines


# ---------------------------------------------------------------------------------- (f)


def _download_section(report: Report) -> list[str]:
    cfg = report.config
    size = cfg.download_size

    def throughput(m: Measurement) -> float | None:
        return None if not m.seconds else size / MIB / m.seconds

    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} MiB/s"

    rows = [
        f"| {PLATFORM_NAMES[impl]} | {report.cell('f', impl, _seconds, _time)} "
        f"| {report.cell('f', impl, throughput, rate)} | {report.cell('f', impl, _peak, _mib)} |"
        for impl in ("sdk", "notebook", "single", "floor")
    ]
    ranges = -(-size // chunk_size_for(size, cfg.download_connections))
    return [
        f"## (f) download a {size / MIB:,.0f} MiB output file, {cfg.download_bandwidth / MIB:g} "
        f"MiB/s per connection, {cfg.latency * 1000:.0f} ms latency",
        "",
        "| implementation | wall time | throughput | peak RSS |",
        "|---|---|---|---|",
        *rows,
        "",
        "| target | measured (median of the runs' ratios) | verdict |",
        "|---|---|---|",
        *_download_targets(report),
        "",
        f"The file is a job's output ({size:,} random bytes, as the notebook's job makes its "
        f"1 GB `testfile`), served by `python -m rescale_async.emulator --latency "
        f"{cfg.latency:g} --bandwidth {cfg.download_bandwidth:.0f}`: every response is paced "
        f"to {cfg.download_bandwidth / MIB:g} MiB/s, so only concurrent requests go faster. "
        f"This SDK: `await client.files.download(file_id, dest)` ({cfg.download_connections} "
        f"connections, its default): the metadata, then {ranges} ranges of its default chunk "
        "size, hashed in order as they land, checked against `fileChecksums` and renamed into "
        "place. The notebook: its `concurrent_download(..., num_threads="
        f"{cfg.download_connections})` (`benchmarks/impl_notebook.py`: the metadata, then one "
        "`requests.get` per thread, each redirected once (its path lacks the final slash) and "
        "reading its whole range into memory, parts written 4 KiB at a time, joined, then "
        "hashed in a second pass; below 50 MB it uses one thread). A single stream: one httpx "
        "GET of the whole file to disk. The floor: plain httpx fetching the SDK's very ranges, "
        f"{cfg.download_connections} at a time, written at their offsets, nothing else (no "
        "metadata request, no hashing). After every measurement the runner checks the file's "
        "size and SHA-512 against the service's checksum, so every figure is of a correct "
        "download. Peak RSS is the measuring process's own (`VmHWM`).",
        "",
    ]


def _download_targets(report: Report) -> list[str]:
    cfg = report.config
    checks: list[tuple[str, float | None, str, Callable[[float], bool]]] = [
        (
            f"at least the notebook's speed at equal connections ({cfg.download_connections})",
            report.time_ratio("f", "notebook", "sdk"),
            "notebook ÷ SDK",
            lambda v: v >= 1.0,
        ),
        (
            ">= 8x a single stream",
            report.time_ratio("f", "single", "sdk"),
            "single stream ÷ SDK",
            lambda v: v >= 8.0,
        ),
        (
            "<= 1.15x the floor",
            report.time_ratio("f", "sdk", "floor"),
            "SDK ÷ floor",
            lambda v: v <= 1.15,
        ),
    ]
    rows = []
    for target, value, what, ok in checks:
        if value is None:
            rows.append(f"| {target} | - | not measured |")
        else:
            rows.append(
                f"| {target} | {what} = {value:.2f}x | {'met' if ok(value) else 'missed'} |"
            )
    problem = report.problem("f", "sdk")
    peaks = [m.peak_rss_kib for m in _measured(report, "f", "sdk") if m.peak_rss_kib is not None]
    if problem or not peaks:
        rows.append(f"| SDK peak RSS under {RSS_LIMIT_MIB:g} MiB | - | not measured |")
    else:
        largest = max(peaks) / 1024
        verdict = "met (every run)" if largest < RSS_LIMIT_MIB else "missed"
        rows.append(
            f"| SDK peak RSS under {RSS_LIMIT_MIB:g} MiB | largest of the runs: "
            f"{largest:.1f} MiB | {verdict} |"
        )
    return rows


# ---------------------------------------------------------------------------------- (i)


def _run_section(report: Report) -> list[str]:
    cfg = report.config
    jobs = cfg.platform_jobs

    def per_job(m: Measurement) -> float | None:
        value = m.extra.get("server_requests")
        return None if value is None else float(value) / jobs

    impls = ("sdk", "loop")
    rows: list[tuple[str, Callable[[Measurement], float | None], Callable[[float | None], str]]] = [
        ("wall time, first upload to the last output verified", _seconds, _time),
        ("requests the server saw", _extra("server_requests"), _whole),
        ("requests per job", per_job, _one_decimal),
        ("429s received", _extra("server_429s"), _whole),
        (
            f"jobs succeeded, each result checked (of {jobs})",
            _extra("checked"),
            _whole,
        ),
        ("peak RSS", _peak, _mib),
    ]
    table = []
    for title, get, fmt in rows:
        cells = " | ".join(report.cell("i", impl, get, fmt) for impl in impls)
        target, verdict = "-", "-"
        if title == "429s received":
            target, verdict = (
                "0 (SDK)",
                _every_run(report, lambda m: m.extra.get("server_429s") == 0),
            )
        elif title.startswith("jobs succeeded"):
            target, verdict = (
                f"{jobs}",
                _every_run(report, lambda m: m.extra.get("checked") == jobs),
            )
        table.append(f"| {title} | {cells} | {target} | {verdict} |")
    ratio = report.time_ratio("i", "sdk", "loop")
    return [
        f"## (i) upload {cfg.platform_inputs} input files and run {jobs} jobs end to end under "
        "the scopes' limits",
        "",
        f"| measure | {PLATFORM_NAMES['sdk']} | {PLATFORM_NAMES['loop']} | target | verdict |",
        "|---|---|---|---|---|",
        *table,
        "",
        "SDK ÷ loop wall time (median of the runs' ratios): "
        + ("-" if ratio is None else f"{ratio:.2f}x."),
        "",
        "Requests by endpoint (median of the runs):",
        "",
        *_endpoint_lines(report, impls),
        "",
        "A fresh emulator per measurement with Rescale's documented limits on "
        "(`--platform-rate-limits documented`: job-submission 1000/h with a burst of 50, "
        "jobs-usage 25/s with 300, user 2/s with 150; over one: 429 with `Retry-After`), "
        f"{cfg.latency * 1000:.0f} ms latency, a job's statuses "
        f"{cfg.platform_status_delay:g} s apart. Each job gets "
        f"{-(-cfg.platform_inputs // jobs)} small input files and joins them into `result.txt`; "
        "every downloaded `result.txt` is compared with its inputs. This SDK: its defaults "
        "(each scope paced at 85% of its limit), the inputs uploaded 16 at a time with "
        "`client.files.upload`, then `client.jobs.run_many(definitions, outputs=DIR, "
        f"interval={cfg.platform_interval:g})`. The loop: the notebook's functions "
        "(`file_upload`, `poll_for_status`, `download_file`, its checksum cell) one job after "
        "another, a 429 waited out for its `Retry-After` and sent again (the notebook itself "
        "stops at the first). The user scope (uploads, job creation, downloads) sets the pace "
        "of both once its burst is spent.",
        "",
    ]


def _every_run(report: Report, ok: Callable[[Measurement], bool]) -> str:
    problem = report.problem("i", "sdk")
    if problem:
        return f"not measured ({problem})"
    found = _measured(report, "i", "sdk")
    return "met (every run)" if all(ok(m) for m in found) else "missed"


def _endpoint_lines(report: Report, impls: tuple[str, ...]) -> list[str]:
    lines = []
    for impl in impls:
        if report.problem("i", impl):
            continue
        found = _measured(report, "i", impl)
        endpoints = sorted({e for m in found for e in m.extra.get("requests_by_endpoint", {})})
        parts = []
        for endpoint in endpoints:
            counts = [m.extra.get("requests_by_endpoint", {}).get(endpoint, 0) for m in found]
            throttled = [m.extra.get("throttled_by_endpoint", {}).get(endpoint, 0) for m in found]
            shown = f"`{endpoint}` {statistics.median(counts):,.0f}"
            if any(throttled):
                shown += f" ({statistics.median(throttled):,.0f} of them 429)"
            parts.append(shown)
        lines.append(f"- {PLATFORM_NAMES[impl]}: " + ", ".join(parts))
    return lines
