"""The other clients of (g) and (h), each used as its documentation shows: oras-py and
python-dxf (synchronous, one blob after another), a floor of plain httpx streaming every
blob at once, and the AWS CLI (``aws s3 cp``, a subprocess: ``benchmarks._awscli_timed``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ._measure import Unavailable

__all__ = ["awscli_download", "awscli_upload", "dxf_push", "floor_push", "oras_push"]

CHUNK = 1024 * 1024


def _need(module: str, package: str) -> None:
    """Unavailable (not an error) when the client is not installed."""
    if importlib.util.find_spec(module) is None:
        raise Unavailable(f"{package} is not installed (pip install {package}; the bench extra)")


def _layout(params: dict[str, Any]) -> tuple[Path, bytes, dict[str, Any]]:
    """The layout's blob folder, its manifest's bytes and the manifest."""
    root = Path(params["layout"])
    blobs = root / "blobs" / "sha256"
    digest = json.loads((root / "index.json").read_text())["manifests"][0]["digest"]
    raw = (blobs / digest.removeprefix("sha256:")).read_bytes()
    return blobs, raw, json.loads(raw)


def _descriptors(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [manifest["config"], *manifest["layers"]]


# ---------------------------------------------------------------------------------- (g)


def oras_push(params: dict[str, Any]) -> dict[str, Any]:
    """oras-py: log in, ``upload_blob`` per blob (a HEAD, then POST and a PUT of the file
    read whole), ``upload_manifest``.
    """
    _need("oras", "oras")
    import oras.client  # noqa: PLC0415 - only this implementation pays for it

    blobs, _, manifest = _layout(params)
    client = oras.client.OrasClient(
        hostname=params["registry"], insecure=True, auth_backend="basic"
    )
    client.login(username="AWS", password=params["password"], hostname=params["registry"])
    container = client.get_container(f"{params['registry']}/{params['repository']}:bench")
    for descriptor in _descriptors(manifest):
        path = blobs / descriptor["digest"].removeprefix("sha256:")
        response = client.upload_blob(str(path), container, descriptor)
        response.raise_for_status()
    client.upload_manifest(manifest, container).raise_for_status()
    return {"tag": "bench"}


def dxf_push(params: dict[str, Any]) -> dict[str, Any]:
    """python-dxf: ``push_blob`` per file (hashed, a HEAD, POST, a streamed PUT), then
    ``set_manifest`` with the manifest's bytes.
    """
    _need("dxf", "python-dxf")
    from dxf import DXF  # noqa: PLC0415

    blobs, raw, manifest = _layout(params)
    # dxf refuses its Basic login over plain HTTP (even to loopback); requests sends the
    # credentials of a netrc file (0600, removed after) with every request instead.
    with tempfile.TemporaryDirectory(prefix="dxf-") as private:
        netrc = Path(private) / "netrc"
        handle = os.open(netrc, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        host = params["registry"].rsplit(":", 1)[0]
        with os.fdopen(handle, "w") as file:
            file.write(f"machine {host} login AWS password {params['password']}\n")
        os.environ["NETRC"] = str(netrc)
        registry = DXF(params["registry"], params["repository"], insecure=True)
        for descriptor in _descriptors(manifest):
            registry.push_blob(str(blobs / descriptor["digest"].removeprefix("sha256:")))
        registry.set_manifest("bench", raw.decode())
    return {"tag": "bench"}


async def floor_push(params: dict[str, Any]) -> dict[str, Any]:
    """The floor: plain httpx, every blob at once (POST, then one streamed PUT), then the
    manifest's bytes. No HEADs, no digest checks, no retries.
    """
    import anyio  # noqa: PLC0415
    import httpx  # noqa: PLC0415

    blobs, raw, manifest = _layout(params)
    name = params["repository"]

    async def chunks(path: Path) -> AsyncIterator[bytes]:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk

    async with httpx.AsyncClient(
        base_url=f"http://{params['registry']}",
        auth=("AWS", params["password"]),
        timeout=600,
    ) as http:

        async def upload(descriptor: dict[str, Any]) -> None:
            started = await http.post(f"/v2/{name}/blobs/uploads/")
            started.raise_for_status()
            path = blobs / descriptor["digest"].removeprefix("sha256:")
            session = httpx.URL(started.headers["location"])  # keep its query
            done = await http.put(
                session.copy_merge_params({"digest": descriptor["digest"]}),
                content=chunks(path),
                headers={"Content-Length": str(descriptor["size"])},
            )
            done.raise_for_status()

        async with anyio.create_task_group() as group:
            for descriptor in _descriptors(manifest):
                group.start_soon(upload, descriptor)
        put = await http.put(
            f"/v2/{name}/manifests/bench",
            content=raw,
            headers={"Content-Type": manifest["mediaType"]},
        )
        put.raise_for_status()
    return {"tag": "bench"}


# ---------------------------------------------------------------------------------- (h)


def _aws(params: dict[str, Any], *args: str) -> dict[str, Any]:
    """``aws s3 cp ARGS`` with the storage token's credentials and endpoint; the figures."""
    _need("awscli", "awscli")
    credentials: dict[str, str] = params["credentials"]
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": credentials["AWS_SECRET_ACCESS_KEY"],
        "AWS_SESSION_TOKEN": credentials["AWS_SESSION_TOKEN"],
        "AWS_DEFAULT_REGION": params["aws_region"],
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    with tempfile.TemporaryDirectory() as tmp:
        marks = Path(tmp) / "marks.json"
        command = [
            *(sys.executable, "-m", "benchmarks._awscli_timed", str(marks), "s3", "cp", *args),
            *("--endpoint-url", credentials["AWS_ENDPOINT_URL"], "--only-show-errors"),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"aws s3 cp exited with {done.returncode}: {done.stderr[-300:]}")
        timings: dict[str, float] = json.loads(marks.read_text())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"subprocess_peak_rss_kib": peak, **timings}


def awscli_upload(params: dict[str, Any]) -> dict[str, Any]:
    """``aws s3 cp SOURCE s3://bucket/area/KEY [--recursive]``."""
    target = f"s3://{params['bucket']}/{params['prefix']}{params['key']}"
    recursive = ("--recursive",) if Path(params["source"]).is_dir() else ()
    return _aws(params, params["source"], target, *recursive)


def awscli_download(params: dict[str, Any]) -> dict[str, Any]:
    """``aws s3 cp s3://bucket/area/KEY DEST [--recursive]``."""
    source = f"s3://{params['bucket']}/{params['prefix']}{params['key']}"
    recursive = ("--recursive",) if params["key"].endswith("/") else ()
    return _aws(params, source, params["dest"], *recursive)
