"""(h): upload and download ``storage_size`` bytes as one file and as ``storage_files``
files to a task's storage: this SDK vs ``aws s3 cp`` (awscli, a subprocess given the same
storage token's credentials and endpoint), each in a fresh interpreter, against moto's S3
behind the emulator's token gate (``python -m rescale_async.emulator --with-storage``).

After one untimed upload of the big file, each implementation uploads under a key of its
own, then downloads it; the runner compares every downloaded file with its source (size and
SHA-256) and deletes the objects before the next measurement. The SDK also moves a file an
eighth of the size, so its peak RSS can be compared across file sizes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rescale_async.emulator.storage import aws_region_of, moto_installed

from ._measure import Measurement
from ._served import Api, Served, served_emulator
from .runner import Context, measure

__all__ = ["STORAGE_IMPLS", "bench_storage"]

STORAGE_IMPLS = {
    "sdk": ("dataplane_sdk", "upload", "download"),
    "awscli": ("dataplane_others", "awscli_upload", "awscli_download"),
}
"""(h)'s columns: report name -> (``benchmarks.impl_<module>``, upload, download)."""
SHAPES = ("file", "tree")
MIB = 1024 * 1024


def _random_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        left = size
        while left:
            chunk = os.urandom(min(left, MIB))
            file.write(chunk)
            left -= len(chunk)


def _digests(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root``: relative path -> (size, SHA-256); a file: ``""`` -> them."""
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    found = {}
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb") as file:
            while chunk := file.read(MIB):
                digest.update(chunk)
        name = "" if path == root else path.relative_to(root).as_posix()
        found[name] = (path.stat().st_size, digest.hexdigest())
    return found


def _make_sources(ctx: Context) -> dict[str, Path]:
    """The big file, the small one and the tree of many files (100 folders)."""
    cfg = ctx.config
    root = ctx.workdir / "storage-sources"
    sources = {
        "file": root / "big.bin",
        "file-small": root / "small.bin",
        "tree": root / "tree",
    }
    _random_file(sources["file"], cfg.storage_size)
    _random_file(sources["file-small"], max(1, cfg.storage_size // 8))
    each = max(1, cfg.storage_size // cfg.storage_files)
    for index in range(cfg.storage_files):
        _random_file(sources["tree"] / f"d{index % 100:02d}" / f"f{index:05d}.bin", each)
    return sources


def _token(api: Api, project_id: str, task_id: str) -> dict[str, Any]:
    """The task's storage token, as the API hands it out (credentials in clear)."""
    token: dict[str, Any] = api.get(f"htc/projects/{project_id}/tasks/{task_id}/storage/token")
    return token


def _area(token: dict[str, Any]) -> tuple[str, str]:
    """The bucket and the task's prefix (from ``storagePath``: ``s3://bucket/prefix/``)."""
    path = str(token["storagePath"]).removeprefix("s3://")
    bucket, _, prefix = path.partition("/")
    return bucket, prefix


def _delete_all(token: dict[str, Any]) -> None:
    """Empty the task's area (moto keeps what it is sent; runs would pile up gigabytes)."""
    import boto3  # noqa: PLC0415 - the harness only; the measured children never import it

    credentials = token["credentials"]
    bucket, prefix = _area(token)
    s3 = boto3.client(
        "s3",
        endpoint_url=credentials["AWS_ENDPOINT_URL"],
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=aws_region_of(str(token.get("region") or "AWS_US_EAST_2")),
    )
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start : start + 1000]})


def _checked(result: Measurement, dest: Path, expected: dict[str, tuple[int, str]]) -> Measurement:
    """Every downloaded file has its source's size and SHA-256."""
    if result.seconds is None:
        return result
    if not dest.exists():
        return result.wrong(f"nothing at {dest.name}")
    got = _digests(dest)
    if got != expected:
        wrong = sorted(set(got) ^ set(expected)) or [k for k in expected if got[k] != expected[k]]
        return result.wrong(f"{len(wrong)} files differ or are missing ({wrong[:3]})")
    return replace(result, extra={**result.extra, "files_checked": len(got)})


def bench_storage(ctx: Context) -> None:
    """(h) on one emulator (``--with-storage``): after a warm-up, per run, each shape, each
    implementation in a rotating order uploads then downloads; every download is checked,
    then deleted.
    """
    cfg = ctx.config
    if not moto_installed():
        for key in ("h-up-file", "h-down-file", "h-up-tree", "h-down-tree"):
            for impl in STORAGE_IMPLS:
                ctx.report.add(key, impl, 0, Measurement(unavailable="moto[server] missing"))
        return
    start = time.perf_counter()
    sources = _make_sources(ctx)
    expected = {shape: _digests(path) for shape, path in sources.items()}
    ctx.log(
        f"made {cfg.storage_size / MIB:,.0f} MiB as 1 file and as {cfg.storage_files:,} files "
        f"in {time.perf_counter() - start:.1f} s"
    )
    with served_emulator(
        ctx.workdir,
        latency=0.0,
        refresh_interval=1.0,
        workers=2,
        name="storage",
        extra_args=("--with-storage", "--storage-token-lifetime", "7200"),
    ) as served:
        ctx.served.append(served)
        api = Api(served)
        try:
            task = api.create_task(served.project_id, "bench-storage")
            shared: dict[str, Any] = {
                "api": api,
                "served": served,
                "task": task,
                "sources": sources,
                "expected": expected,
            }
            _warm_up(ctx, api, served, task, sources["file"])
            for run in range(cfg.slow_runs):
                names = list(STORAGE_IMPLS)
                names = names[run % len(names) :] + names[: run % len(names)]
                for shape in SHAPES:
                    for name in names:
                        _one(ctx, **shared, run=run, shape=shape, name=name)
                _one(ctx, **shared, run=run, shape="file-small", name="sdk")
        finally:
            api.close()


def _warm_up(ctx: Context, api: Api, served: Served, task: dict[str, Any], source: Path) -> None:
    """One untimed upload of the big file, then deleted: a fresh moto's first object costs it
    memory the machine never handed out before, which no implementation's measurement should
    pay.
    """
    token = _token(api, served.project_id, task["taskId"])
    params = _params(served, task, token, source, "warm-up")
    module, upload, _ = STORAGE_IMPLS["sdk"]
    ctx.log(f"  h warm-up upload: {measure(ctx, module, upload, params).summary()}")
    _delete_all(token)


def _params(
    served: Served, task: dict[str, Any], token: dict[str, Any], source: Path, key: str
) -> dict[str, Any]:
    """What an implementation's child is given: the API, the task, the token's credentials
    and area, the source and the key.
    """
    bucket, prefix = _area(token)
    return {
        "base_url": served.base_url,
        "api_key": served.api_key,
        "project_id": served.project_id,
        "task_id": task["taskId"],
        "credentials": token["credentials"],
        "aws_region": aws_region_of(str(token.get("region") or "AWS_US_EAST_2")),
        "bucket": bucket,
        "prefix": prefix,
        "source": str(source),
        "key": key,
    }


def _one(
    ctx: Context,
    *,
    api: Api,
    served: Served,
    task: dict[str, Any],
    run: int,
    shape: str,
    name: str,
    sources: dict[str, Path],
    expected: dict[str, dict[str, tuple[int, str]]],
) -> None:
    """One implementation's upload then download of one shape, checked and cleaned up."""
    module, upload, download = STORAGE_IMPLS[name]
    token = _token(api, served.project_id, task["taskId"])
    key = f"run{run}/{name}/{shape}" + ("" if shape.startswith("file") else "/")
    dest = ctx.workdir / f"storage-dest-{name}-{shape}"
    # the SDK is given a folder's name, awscli a prefix
    params = _params(served, task, token, sources[shape], key.rstrip("/") if name == "sdk" else key)
    up = measure(ctx, module, upload, params)
    size = expected[shape]
    if up.seconds is not None and up.extra.get("files", len(size)) != len(size):
        up = up.wrong(f"{up.extra.get('files')} files uploaded")
    ctx.report.add(f"h-up-{shape}", name, run, up)
    ctx.log(f"  h run {run + 1} {name} upload {shape}: {up.summary()}")
    if up.seconds is not None:
        down = measure(ctx, module, download, {**params, "key": key, "dest": str(dest)})
        down = _checked(down, dest, expected[shape])
    elif up.unavailable:
        down = Measurement(unavailable=up.unavailable)
    else:
        down = Measurement(error="not run: the upload failed")
    ctx.report.add(f"h-down-{shape}", name, run, down)
    ctx.log(f"  h run {run + 1} {name} download {shape}: {down.summary()}")
    if dest.is_dir():
        shutil.rmtree(dest, ignore_errors=True)
    else:
        dest.unlink(missing_ok=True)
    _delete_all(token)
