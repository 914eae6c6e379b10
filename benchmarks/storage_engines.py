"""Storage engine measurement (issue 12): obstore vs aiobotocore against a local moto S3 server.

Not part of ``python -m benchmarks``. Run it by hand (it needs the ``storage`` and ``test``
extras: obstore, aiobotocore and ``moto[server]``)::

    python -m benchmarks.storage_engines [--big-mib 256] [--small-files 2000]

For each engine, in a child process of its own (so peak RSS is that engine's): upload and
download one file of ``--big-mib`` MiB (multipart: 8 MiB parts, 8 at once; downloads as 8 MiB
ranged GETs, 8 at once, written in place) and ``--small-files`` files of 4 KiB (32 at once).
Both engines do the same requests; only the library moving them differs. obstore is measured
twice: its asyncio API, and its sync API in worker threads (how it would run under trio).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PART = 8 * 1024 * 1024
PART_CONCURRENCY = 8
SMALL_CONCURRENCY = 32
SMALL_SIZE = 4096
ENGINES = ("obstore-async", "obstore-threads", "aiobotocore")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server in a child process; yields its endpoint URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


def _timed(results: dict[str, float], name: str) -> Callable[[Awaitable[Any]], Awaitable[None]]:
    """Records the wall time of ``name`` and, as ``name cpu``, the CPU time this process spent
    (all threads: the engine's own work, the part the server's speed does not hide).
    """

    async def run(awaitable: Awaitable[Any]) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        await awaitable
        results[name] = time.perf_counter() - start
        results[f"{name} cpu"] = time.process_time() - cpu

    return run


async def _bounded(limit: int, jobs: list[Callable[[], Awaitable[Any]]]) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Any]]) -> None:
        async with semaphore:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


def _ranges(size: int) -> list[tuple[int, int]]:
    return [(start, min(size, start + PART)) for start in range(0, size, PART)]


async def _ranged_download(
    size: int, dest: Path, fetch: Callable[[int, int], Awaitable[bytes]]
) -> None:
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, size)

        def job(start: int, end: int) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                data = await fetch(start, end)
                await asyncio.to_thread(os.pwrite, fd, data, start)

            return run

        await _bounded(PART_CONCURRENCY, [job(s, e) for s, e in _ranges(size)])
    finally:
        os.close(fd)


async def run_obstore(
    endpoint: str, bucket: str, big: Path, small: Path, threads: bool
) -> dict[str, float]:
    import obstore  # noqa: PLC0415 - an optional engine
    from obstore.store import S3Store  # noqa: PLC0415

    store = S3Store(
        bucket,
        endpoint=endpoint,
        access_key_id="bench",
        secret_access_key="bench",
        region="us-east-1",
        virtual_hosted_style_request=False,
        client_options={"allow_http": True, "pool_max_idle_per_host": "64"},
    )
    results: dict[str, float] = {}
    out, names, size = _layout(big, small)

    async def call(
        func: Callable[..., Any], async_func: Callable[..., Awaitable[Any]], *args: Any, **kw: Any
    ) -> Any:
        if threads:
            return await asyncio.to_thread(func, *args, **kw)
        return await async_func(*args, **kw)

    async def put_big() -> None:
        await call(
            obstore.put,
            obstore.put_async,
            store,
            "big",
            big,
            chunk_size=PART,
            max_concurrency=PART_CONCURRENCY,
        )

    async def get_big() -> None:
        async def fetch(start: int, end: int) -> bytes:
            data = await call(
                obstore.get_range, obstore.get_range_async, store, "big", start=start, end=end
            )
            return bytes(data)

        await _ranged_download(size, out / "big", fetch)

    def put_one(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            data = (small / name).read_bytes()
            await call(obstore.put, obstore.put_async, store, f"small/{name}", data)

        return run

    def get_one(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            result = await call(obstore.get, obstore.get_async, store, f"small/{name}")
            data = (
                bytes(await asyncio.to_thread(result.bytes))
                if threads
                else bytes(await result.bytes_async())
            )
            (out / name).write_bytes(data)

        return run

    await _timed(results, "upload 1 big file")(put_big())
    await _timed(results, "download 1 big file")(get_big())
    await _timed(results, "upload small files")(
        _bounded(SMALL_CONCURRENCY, [put_one(n) for n in names])
    )
    await _timed(results, "download small files")(
        _bounded(SMALL_CONCURRENCY, [get_one(n) for n in names])
    )
    _check(big, out / "big")
    return results


async def run_aiobotocore(endpoint: str, bucket: str, big: Path, small: Path) -> dict[str, float]:
    from aiobotocore.config import AioConfig  # noqa: PLC0415 - an optional engine
    from aiobotocore.session import get_session  # noqa: PLC0415

    results: dict[str, float] = {}
    out, names, size = _layout(big, small)
    # As the SDK configures it: the SDK checks MD5s itself, so no CRC32 on top (botocore's
    # default since 1.36) and no client-side parameter validation.
    config = AioConfig(
        max_pool_connections=64,
        s3={"addressing_style": "path"},
        parameter_validation=False,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    async with get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=config,
    ) as s3:

        async def put_big() -> None:
            upload = await s3.create_multipart_upload(Bucket=bucket, Key="big")
            upload_id = upload["UploadId"]
            parts: dict[int, str] = {}
            fd = os.open(big, os.O_RDONLY)
            try:

                def job(number: int, start: int, end: int) -> Callable[[], Awaitable[None]]:
                    async def run() -> None:
                        data = await asyncio.to_thread(os.pread, fd, end - start, start)
                        answer = await s3.upload_part(
                            Bucket=bucket,
                            Key="big",
                            UploadId=upload_id,
                            PartNumber=number,
                            Body=data,
                        )
                        parts[number] = answer["ETag"]

                    return run

                jobs = [job(i + 1, s, e) for i, (s, e) in enumerate(_ranges(size))]
                await _bounded(PART_CONCURRENCY, jobs)
            finally:
                os.close(fd)
            await s3.complete_multipart_upload(
                Bucket=bucket,
                Key="big",
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": parts[n]} for n in sorted(parts)]
                },
            )

        async def get_big() -> None:
            async def fetch(start: int, end: int) -> bytes:
                answer = await s3.get_object(
                    Bucket=bucket, Key="big", Range=f"bytes={start}-{end - 1}"
                )
                async with answer["Body"] as body:
                    return bytes(await body.read())

            await _ranged_download(size, out / "big", fetch)

        def put_one(name: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                data = (small / name).read_bytes()
                await s3.put_object(Bucket=bucket, Key=f"small/{name}", Body=data)

            return run

        def get_one(name: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                answer = await s3.get_object(Bucket=bucket, Key=f"small/{name}")
                async with answer["Body"] as body:
                    (out / name).write_bytes(await body.read())

            return run

        await _timed(results, "upload 1 big file")(put_big())
        await _timed(results, "download 1 big file")(get_big())
        await _timed(results, "upload small files")(
            _bounded(SMALL_CONCURRENCY, [put_one(n) for n in names])
        )
        await _timed(results, "download small files")(
            _bounded(SMALL_CONCURRENCY, [get_one(n) for n in names])
        )
    _check(big, out / "big")
    return results


def _layout(big: Path, small: Path) -> tuple[Path, list[str], int]:
    """The output directory (made), the small files' names, the big file's size."""
    out = big.parent / "out"
    out.mkdir(exist_ok=True)
    return out, sorted(p.name for p in small.iterdir()), big.stat().st_size


def _check(source: Path, copy: Path) -> None:
    def digest(path: Path) -> str:
        hasher = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as file:
            while chunk := file.read(PART):
                hasher.update(chunk)
        return hasher.hexdigest()

    if digest(source) != digest(copy):
        raise RuntimeError(f"{copy} differs from {source}")


def _make_bucket(endpoint: str, bucket: str) -> None:
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
    urllib.request.urlopen(request, timeout=10)


def child(engine: str, endpoint: str, big_mib: int, small_files: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = root / "big.bin"
        with big.open("wb") as file:
            for _ in range(big_mib):
                file.write(os.urandom(1024 * 1024))
        small = root / "small"
        small.mkdir()
        for index in range(small_files):
            (small / f"f{index:05d}").write_bytes(os.urandom(SMALL_SIZE))
        bucket = engine.replace("-", "")
        _make_bucket(endpoint, bucket)
        if engine == "aiobotocore":
            results = asyncio.run(run_aiobotocore(endpoint, bucket, big, small))
        else:
            results = asyncio.run(
                run_obstore(endpoint, bucket, big, small, engine == "obstore-threads")
            )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"engine": engine, "seconds": results, "peak_rss_mib": peak_kib / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage_engines")
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--small-files", type=int, default=2000)
    parser.add_argument("--engine", choices=ENGINES, action="append")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        engine, endpoint = args.child
        print(json.dumps(child(engine, endpoint, args.big_mib, args.small_files)))
        return 0
    rows = []
    for engine in args.engine or ENGINES:
        with moto_server() as endpoint:  # a fresh server each: moto keeps every object in memory
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.storage_engines",
                    "--big-mib",
                    str(args.big_mib),
                    "--small-files",
                    str(args.small_files),
                    "--child",
                    engine,
                    endpoint,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    big = args.big_mib
    phases = (
        "upload 1 big file",
        "download 1 big file",
        "upload small files",
        "download small files",
    )
    print(f"{big} MiB file, {args.small_files} files of {SMALL_SIZE} B; wall s (client CPU s)")
    print(f"| engine | up {big} MiB | down {big} MiB | up files | down files | peak RSS |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        s = row["seconds"]
        cells = " | ".join(f"{s[p]:.2f} ({s[p + ' cpu']:.2f})" for p in phases)
        print(f"| {row['engine']} | {cells} | {row['peak_rss_mib']:.0f} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
