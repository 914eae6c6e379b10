"""(f) and (i): the platform API v2 (issue 13) on the served emulator, every implementation in
a fresh interpreter, in a rotating order, each result checked against the truth.

(f) one job writes a file of ``download_size`` random bytes (the notebook's 1 GB result); each
implementation downloads it from an emulator adding ``latency`` to every request and pacing
every response to ``download_bandwidth`` bytes per second; the runner then checks the file's
SHA-512 against the service's checksum. (i) a fresh emulator per measurement, with the scopes'
documented limits on: each implementation uploads ``platform_inputs`` files and runs
``platform_jobs`` jobs end to end; the server's counters give the requests and the 429s, and
every job's downloaded result is compared with what its inputs make.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rescale_async.platform.orchestration._download import chunk_size_for

from ._measure import Measurement
from ._platform_api import PlatformApi, platform_url, sha512_of
from ._served import Served, served_emulator
from .runner import Context, measure

__all__ = ["DOWNLOAD_IMPLS", "RUN_IMPLS", "bench_download", "bench_platform_run", "ranges_for"]

DOWNLOAD_NAME = "testfile"
DOWNLOAD_IMPLS = {
    "sdk": ("platform_sdk", "download"),
    "notebook": ("notebook", "download"),
    "single": ("platform_floor", "single_stream"),
    "floor": ("platform_floor", "download"),
}
"""(f)'s columns: report name -> (``benchmarks.impl_<module>``, its function)."""
RUN_IMPLS = {"sdk": ("platform_sdk", "run_jobs"), "loop": ("notebook", "run_jobs")}
"""(i)'s columns."""
INPUT_BYTES = 2048
"""Size of each input file of (i)."""


def _rotated(names: list[str], run: int) -> list[str]:
    shift = run % len(names)
    return [*names[shift:], *names[:shift]]


# ---------------------------------------------------------------------------------- (f)


def ranges_for(size: int, connections: int) -> list[tuple[int, int]]:
    """The inclusive byte ranges the SDK asks for (its chunk size for ``size`` over
    ``connections``): the floor fetches the very same ones.
    """
    step = chunk_size_for(size, connections)
    return [(first, min(first + step, size) - 1) for first in range(0, size, step)]


def bench_download(ctx: Context) -> None:
    """(f) on one emulator: the file is made once, then each run measures every implementation."""
    cfg = ctx.config
    throttled = ("--bandwidth", str(cfg.download_bandwidth), "--platform-status-delay", "0.05")
    with served_emulator(
        ctx.workdir,
        latency=cfg.latency,
        refresh_interval=1.0,
        workers=2,
        name="download",
        extra_args=throttled,
    ) as served:
        ctx.served.append(served)
        file = _seed_download(ctx, served)
        size = int(file["decryptedSize"])
        expected = {"size": size, "sha512": _sha512(file)}
        params = {
            "base_url": platform_url(served),
            "api_key": served.api_key,
            "file_id": file["id"],
            "connections": cfg.download_connections,
            "ranges": ranges_for(size, cfg.download_connections),
        }
        for run in range(cfg.slow_runs):
            for name in _rotated(list(DOWNLOAD_IMPLS), run):
                module, function = DOWNLOAD_IMPLS[name]
                dest = ctx.workdir / f"download-{name}.bin"
                result = measure(ctx, module, function, {**params, "dest": str(dest)})
                result = _checked_download(result, dest, expected)
                _clean(dest, file["id"])
                ctx.report.add("f", name, run, result)
                ctx.log(f"  f run {run + 1}/{cfg.slow_runs} {name}: {result.summary()}")


def _seed_download(ctx: Context, served: Served) -> dict[str, Any]:
    """A job writing ``download_size`` random bytes to ``testfile``; its output's metadata."""
    start = time.perf_counter()
    api = PlatformApi(served)
    try:
        command = f"head -c {ctx.config.download_size} /dev/urandom > {DOWNLOAD_NAME}"
        job_id = api.run_job("bench-download", command)
        file = api.output(job_id, DOWNLOAD_NAME)
    finally:
        api.close()
    ctx.log(
        f"seeded a {int(file['decryptedSize']) / 2**20:,.0f} MiB output in "
        f"{time.perf_counter() - start:.1f} s"
    )
    return file


def _sha512(file: dict[str, Any]) -> str:
    for checksum in file.get("fileChecksums") or []:
        if checksum.get("hashFunction") == "sha512":
            return str(checksum["fileHash"])
    raise LookupError(f"file {file['id']} has no SHA-512 checksum")


def _checked_download(result: Measurement, dest: Path, expected: dict[str, Any]) -> Measurement:
    """The downloaded file's size and SHA-512 checked against the service's."""
    if result.seconds is None:
        return result
    if not dest.is_file():
        return result.wrong(f"nothing at {dest.name}")
    size = dest.stat().st_size
    if size != expected["size"]:
        return result.wrong(f"{size} bytes written, expected {expected['size']}")
    if sha512_of(dest) != expected["sha512"]:
        return result.wrong("the file's SHA-512 differs from the service's checksum")
    return replace(result, extra={**result.extra, "sha512_checked": True})


def _clean(dest: Path, file_id: str) -> None:
    """Remove the download and whatever a failed one left beside it (the SDK's partial file
    and its sidecar, which the next run would resume from; the notebook's parts).
    """
    dest.unlink(missing_ok=True)
    for pattern in (f".{dest.name}.*", f"{dest.name}.*", f"{file_id}.*"):
        for left in dest.parent.glob(pattern):
            left.unlink()


# ---------------------------------------------------------------------------------- (i)


def _make_inputs(ctx: Context) -> tuple[list[list[str]], list[str], list[str]]:
    """The input files of (i), split over the jobs: the paths per job, each job's command
    (its result is its inputs joined, in name order) and each job's expected result digest.
    """
    cfg = ctx.config
    root = ctx.workdir / "run-inputs"
    root.mkdir(exist_ok=True)
    rng = random.Random(13)
    per_job = -(-cfg.platform_inputs // cfg.platform_jobs)
    paths: list[list[str]] = []
    commands: list[str] = []
    digests: list[str] = []
    made = 0
    for job in range(cfg.platform_jobs):
        count = min(per_job, cfg.platform_inputs - made)
        job_paths = []
        joined = hashlib.sha512()
        for index in range(count):
            path = root / f"job{job}_in{index}.txt"
            data = rng.randbytes(INPUT_BYTES // 2).hex().encode()
            path.write_bytes(data)
            joined.update(data)
            job_paths.append(str(path))
        made += count
        paths.append(job_paths)
        commands.append(f"cat job{job}_in*.txt > result.txt; echo job {job}: $(wc -c < result.txt)")
        digests.append(joined.hexdigest())
    return paths, commands, digests


def bench_platform_run(ctx: Context) -> None:
    """(i): a fresh emulator per measurement, the documented scope limits on."""
    cfg = ctx.config
    inputs, commands, digests = _make_inputs(ctx)
    limits = (
        "--platform-rate-limits",
        "documented",
        "--platform-status-delay",
        str(cfg.platform_status_delay),
    )
    for run in range(cfg.slow_runs):
        for name in _rotated(list(RUN_IMPLS), run):
            module, function = RUN_IMPLS[name]
            outputs = ctx.workdir / f"run-outputs-{name}-{run}"
            with served_emulator(
                ctx.workdir,
                latency=cfg.latency,
                refresh_interval=1.0,
                workers=2,
                name=f"platform-run-{name}-{run}",
                extra_args=limits,
            ) as served:
                ctx.served.append(served)
                params = {
                    "base_url": platform_url(served),
                    "api_key": served.api_key,
                    "inputs": inputs,
                    "commands": commands,
                    "outputs": str(outputs),
                    "interval": cfg.platform_interval,
                }
                result = measure(ctx, module, function, params)
            result = _checked_run(result, served, digests)
            shutil.rmtree(outputs, ignore_errors=True)
            ctx.report.add("i", name, run, result)
            ctx.log(f"  i run {run + 1}/{cfg.slow_runs} {name}: {result.summary()}")


def _checked_run(result: Measurement, served: Served, digests: list[str]) -> Measurement:
    """The server's counters added; every job must have succeeded, its result downloaded and
    equal to its inputs joined.
    """
    if result.seconds is None:
        return result
    counters = served.counters
    jobs: list[dict[str, Any]] = result.extra.get("jobs", [])
    extra = {key: value for key, value in result.extra.items() if key != "jobs"} | {
        "server_requests": counters.get("requests_total", 0),
        "server_429s": counters.get("statuses", {}).get("429", 0),
        "requests_by_endpoint": counters.get("requests", {}),
        "throttled_by_endpoint": {
            endpoint.removesuffix(" 429"): n
            for endpoint, n in counters.get("responses", {}).items()
            if endpoint.endswith(" 429")
        },
        "job_count": len(jobs),
    }
    result = replace(result, extra=extra)
    by_name = {job["name"]: job for job in jobs}
    checked = 0
    for index, digest in enumerate(digests):
        job = by_name.get(f"bench-{index}")
        if job is None:
            return result.wrong(f"job bench-{index} is missing")
        if not job["succeeded"] or not job.get("verified", True):
            return result.wrong(f"job bench-{index} ({job['id']}) did not succeed")
        path = job["outputs"].get("result.txt")
        if path is None or not Path(path).is_file():
            return result.wrong(f"job bench-{index} ({job['id']}): no result.txt downloaded")
        if hashlib.sha512(Path(path).read_bytes()).hexdigest() != digest:
            return result.wrong(f"job bench-{index} ({job['id']}): wrong result.txt")
        checked += 1
    return replace(result, extra={**extra, "checked": checked})
