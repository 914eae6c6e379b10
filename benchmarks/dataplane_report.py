"""The tables of (g) and (h) (the HTC data plane) in ``RESULTS.md``, each target with its
verdict. Figures are medians over runs; ratios are taken within a run, then the median.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ._measure import Measurement

if TYPE_CHECKING:
    from .report import Report

__all__ = ["DATAPLANE_NAMES", "dataplane_sections"]

MIB = 1024 * 1024
DATAPLANE_NAMES = {
    "sdk": "this SDK",
    "oras": "oras-py (sync)",
    "dxf": "python-dxf (sync)",
    "floor": "httpx floor (every blob at once)",
    "sdk-repeat": "this SDK, pushing again",
    "awscli": "aws s3 cp (awscli)",
}
REPEAT_KINDS = {"HEAD blob", "PUT manifest", "GET /v2/"}
"""What a repeat push may cost: a blob HEAD each, the manifest, the registry's ping."""
RSS_GROWTH_MIB = 16.0


def _time(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} MiB/s"


def _mib(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def _whole(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _measured(report: Report, key: str, impl: str) -> list[Measurement]:
    return [row[impl] for row in report.results.get(key, {}).values() if impl in row]


def _throughput(size: int) -> Callable[[Measurement], float | None]:
    def get(m: Measurement) -> float | None:
        return None if not m.seconds else size / MIB / m.seconds

    return get


def _peak(m: Measurement) -> float | None:
    """The process's peak RSS, or its subprocess's (awscli) when larger."""
    own = m.peak_rss_kib
    child = m.extra.get("subprocess_peak_rss_kib")
    values = [float(v) for v in (own, child) if v is not None]
    return max(values) if values else None


def _extra(name: str) -> Callable[[Measurement], float | None]:
    """A figure the implementation reported (``Measurement.extra[name]``), if any."""

    def get(m: Measurement) -> float | None:
        value = m.extra.get(name)
        return None if value is None else float(value)

    return get


_requests = _extra("registry_requests")


def _check(target: str, value: float | None, what: str, ok: bool) -> str:
    if value is None:
        return f"| {target} | - | not measured |"
    return f"| {target} | {what} = {value:.2f}x | {'met' if ok else 'missed'} |"


def dataplane_sections(report: Report) -> list[str]:
    """The (g) and (h) sections, for the scenarios that ran."""
    lines: list[str] = []
    if "g" in report.results:
        lines += _push_section(report)
    if any(key.startswith("h-") for key in report.results):
        lines += _storage_section(report)
    return lines


# ---------------------------------------------------------------------------------- (g)


def _push_section(report: Report) -> list[str]:
    cfg = report.config
    size = cfg.push_size
    impls = ("sdk", "oras", "dxf", "floor", "sdk-repeat")
    rows = [
        f"| {DATAPLANE_NAMES[impl]} | {report.cell('g', impl, lambda m: m.seconds, _time)} "
        f"| {report.cell('g', impl, _throughput(size), _rate) if impl != 'sdk-repeat' else '-'} "
        f"| {report.cell('g', impl, _peak, _mib)} | {report.cell('g', impl, _requests, _whole)} |"
        for impl in impls
    ]
    oras = report.time_ratio("g", "oras", "sdk")
    dxf = report.time_ratio("g", "dxf", "sdk")
    floor = report.time_ratio("g", "sdk", "floor")
    targets = [
        _check(">= 2x oras-py", oras, "oras ÷ SDK", oras is not None and oras >= 2.0),
        _check(">= 2x python-dxf", dxf, "dxf ÷ SDK", dxf is not None and dxf >= 2.0),
        _check("<= 1.2x the floor", floor, "SDK ÷ floor", floor is not None and floor <= 1.2),
        _repeat_target(report),
    ]
    floor_vs_dxf = report.time_ratio("g", "dxf", "floor")
    why = []
    if dxf is not None and dxf < 2.0 and floor_vs_dxf is not None and floor_vs_dxf < 2.0:
        why = [
            f"Even the floor is only {floor_vs_dxf:.2f}x faster than python-dxf (the target "
            "asks 2x): the registry's own work, hashing every blob as it arrives and writing "
            "it to disk on the same 2 CPUs, bounds every implementation; python-dxf loses "
            "only its one-blob-at-a-time order and its hashing pass before each upload.",
            "",
        ]
    return [
        f"## (g) push a {size / MIB:,.0f} MiB image of {cfg.push_layers} layers to a "
        "registry on loopback",
        "",
        "| implementation | wall time | throughput | peak RSS | requests the registry answered |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "| target | measured (median of the runs' ratios) | verdict |",
        "|---|---|---|",
        *targets,
        "",
        *why,
        "The registry is Debian's `docker-registry` (the CNCF distribution registry) on "
        "loopback with filesystem storage and htpasswd Basic auth (user `AWS`, as ECR); the "
        f"image an OCI layout of {cfg.push_layers} layers of random bytes and a config. Each "
        "implementation pushes into a repository of its own, so every blob is uploaded; the "
        "runner then reads the manifest back and checks it names every layer. This SDK: "
        "`await client.images.push(project, layout, repository=..., tag=...)` through a "
        "served emulator whose projects' registry is this one (the repository created, the "
        "registry token fetched, blobs HEADed then streamed from the files at once, the "
        "manifest put, READY awaited). oras-py: `upload_blob` per blob (a HEAD, a POST, a PUT "
        "of the file read whole into memory), `upload_manifest`. python-dxf: `push_blob` per "
        "file (it hashes the file first, then HEAD, POST, a streamed PUT), `set_manifest`. "
        "The floor: plain httpx, every blob's POST and streamed PUT at once, then the "
        "manifest; no HEADs, no digest checks. The repeat push is the SDK's second push of "
        "the same image to its repository; its requests are the registry's own log lines "
        '("response completed"), the emulator\'s own image status checks left out.',
        "",
    ]


def _repeat_target(report: Report) -> str:
    target = "a repeat push costs only HEADs and the manifest"
    problem = report.problem("g", "sdk-repeat")
    if problem:
        return f"| {target} | - | not measured ({problem}) |"
    found = _measured(report, "g", "sdk-repeat")
    kinds: dict[str, int] = found[-1].extra.get("request_kinds", {})
    shown = ", ".join(f"{kind} {count}" for kind, count in kinds.items()) or "none seen"
    ok = all(
        set(m.extra.get("request_kinds", {})) <= REPEAT_KINDS
        and m.extra.get("bytes_sent") == 0
        and m.extra.get("request_kinds", {}).get("HEAD blob") == report.config.push_layers + 1
        for m in found
    )
    return f"| {target} | {shown}; 0 blob bytes | {'met (every run)' if ok else 'missed'} |"


# ---------------------------------------------------------------------------------- (h)


def _storage_section(report: Report) -> list[str]:
    cfg = report.config
    size, files = cfg.storage_size, cfg.storage_files
    each = max(1, size // files)
    rows = []
    targets = []
    for direction in ("up", "down"):
        for shape in ("file", "tree"):
            key = f"h-{direction}-{shape}"
            what = f"{'upload' if direction == 'up' else 'download'} " + (
                "1 file" if shape == "file" else f"{files:,} files of {each / 1024:,.0f} KiB"
            )
            cells = " | ".join(
                f"{report.cell(key, impl, lambda m: m.seconds, _time)} "
                f"({report.cell(key, impl, _throughput(size), _rate)})"
                for impl in ("sdk", "awscli")
            )
            peaks = " | ".join(report.cell(key, impl, _peak, _mib) for impl in ("sdk", "awscli"))
            rows.append(f"| {what} | {cells} | {peaks} |")
            ratio = report.time_ratio(key, "awscli", "sdk")
            targets.append(
                _check(
                    f"{what}: at least awscli's throughput",
                    ratio,
                    "awscli ÷ SDK time",
                    ratio is not None and ratio >= 1.0,
                )
            )
    targets += [_flat_target(report, direction) for direction in ("up", "down")]
    return [
        f"## (h) upload and download {size / MIB:,.0f} MiB as 1 file and as {files:,} files "
        "(moto S3 on loopback)",
        "",
        "| transfer | this SDK (throughput) | aws s3 cp (throughput) | SDK peak RSS "
        "| awscli peak RSS |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "| target | measured (median of the runs' ratios) | verdict |",
        "|---|---|---|",
        *targets,
        "",
        *_assembly(report),
        f"Medians of {cfg.slow_runs} runs, after an untimed upload of the big file (a fresh "
        "moto's first object costs it memory the machine never handed out before). "
        "`python -m rescale_async.emulator --with-storage`: "
        "moto's S3 server behind the emulator's gate, which checks the short-lived credentials "
        "of the task's storage token as S3 checks STS ones. This SDK: `await "
        "client.storage.upload(task, source, key)` and `await client.storage.download(task, "
        "key_or_prefix, dest)`, its defaults (16 at once; multipart and ranged parts of its "
        "default part size), every object verified against the store's checksum and written "
        "atomically. awscli: `aws s3 cp [--recursive]`, a subprocess (`python -m "
        "benchmarks._awscli_timed`: awscli's own `main`, noting when the last part was "
        "acknowledged) with the same token's credentials, `--endpoint-url` its "
        "`AWS_ENDPOINT_URL`, its defaults (10 threads, 8 MiB parts); its peak RSS is the "
        "subprocess's. Each implementation uploads under a key of its own, then downloads it; "
        "the runner compares every downloaded file's size and SHA-256 with its source, then "
        f"deletes the objects. RSS flat in file size: the SDK's peak moving {size / MIB:,.0f} MiB "
        f"against moving {size / 8 / MIB:,.0f} MiB, in the same run (a fair test once the smaller "
        "file has at least as many parts as the SDK moves at once, 16 of 8 MiB: below that, the "
        "parts in flight, not the file's size, set the difference).",
        "",
    ]


def _assembly(report: Report) -> list[str]:
    """Where the one-file upload's time goes: sending the parts, then the store assembling
    them (both clients note when the last part was acknowledged).
    """
    key, impls = "h-up-file", ("sdk", "awscli")
    parts = {impl: report.median(key, impl, _extra("last_byte_s")) for impl in impls}
    after = {impl: report.median(key, impl, _extra("after_last_byte_s")) for impl in impls}
    if None in parts.values() or None in after.values():
        return []
    return [
        "Upload of 1 file, where the time goes (medians): the store had acknowledged the last "
        f"part {parts['sdk']:.2f} s after the SDK started and {parts['awscli']:.2f} s after "
        "awscli did (the SDK's progress hook; awscli's `after-call` event); the upload then "
        f"took {after['sdk']:.2f} s and {after['awscli']:.2f} s more, moto's "
        "CompleteMultipartUpload joining the parts in memory and writing the object out while "
        "either client waits.",
        "",
    ]


def _flat_target(report: Report, direction: str) -> str:
    verb = "upload" if direction == "up" else "download"
    target = f"SDK peak RSS flat in file size ({verb})"
    big, small = f"h-{direction}-file", f"h-{direction}-file-small"
    problem = report.problem(big, "sdk") or report.problem(small, "sdk")
    if problem:
        return f"| {target} | - | not measured ({problem}) |"

    growths = []
    for run, row in report.results[big].items():
        other = report.results[small].get(run, {}).get("sdk")
        mine = row.get("sdk")
        if other and mine and other.peak_rss_kib is not None and mine.peak_rss_kib is not None:
            growths.append((mine.peak_rss_kib - other.peak_rss_kib) / 1024)
    if not growths:
        return f"| {target} | - | not measured |"
    largest = max(growths)
    ok = largest <= RSS_GROWTH_MIB
    return (
        f"| {target} | 8x the bytes: {largest:+.1f} MiB (largest of the runs) "
        f"| {'met (every run)' if ok else 'missed'}: <= {RSS_GROWTH_MIB:g} MiB |"
    )
