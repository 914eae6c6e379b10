"""(g): push an image of ``push_layers`` layers (``push_size`` bytes in all) into a real
``docker-registry`` on loopback: this SDK, oras-py, python-dxf and a floor of plain httpx, each
in a fresh interpreter and into a repository of its own, then the SDK's repeat push.

The registry (filesystem storage) runs in this process's portal; its own log ("response
completed" lines) counts every request it answered, so the repeat push's requests are the
registry's figures, not the client's. The SDK pushes through a served emulator (in a thread
of this process) whose projects' registry is that one; the others get its address and the
project's registry token directly. After each push the runner reads the manifest back from
the registry and checks it names every layer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx

from rescale_async.emulator import ServedEmulator, background_server
from rescale_async.emulator._local_registry import local_registry, registry_missing

from ._measure import Measurement
from .runner import Context, measure

__all__ = ["PUSH_IMPLS", "bench_push", "make_image"]

PUSH_IMPLS = {
    "sdk": ("dataplane_sdk", "push"),
    "oras": ("dataplane_others", "oras_push"),
    "dxf": ("dataplane_others", "dxf_push"),
    "floor": ("dataplane_others", "floor_push"),
}
"""(g)'s columns: report name -> (``benchmarks.impl_<module>``, its function)."""
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
_COMPLETED = re.compile(r'msg="response completed')
_FIELD = re.compile(r'(http\.request\.(?:method|uri|useragent))=("(?:[^"\\]|\\.)*"|\S+)')


def _random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` (1 MiB at a time); their digest."""
    digest = hashlib.sha256()
    with path.open("wb") as file:
        left = size
        while left:
            chunk = os.urandom(min(left, 1024 * 1024))
            digest.update(chunk)
            file.write(chunk)
            left -= len(chunk)
    return "sha256:" + digest.hexdigest()


def make_image(root: Path, size: int, layers: int) -> Path:
    """An OCI image layout of ``layers`` layers of random bytes, ``size`` bytes in all."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    descriptors = []
    for index in range(layers):
        layer_size = size // layers + (1 if index < size % layers else 0)
        partial = blobs / f"layer-{index}"
        digest = _random_file(partial, layer_size)
        partial.rename(blobs / digest.removeprefix("sha256:"))
        descriptors.append({"mediaType": LAYER_TYPE, "digest": digest, "size": layer_size})
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["true"]},
            "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in descriptors]},
        }
    ).encode()
    config_digest = _write_blob(blobs, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    manifest_digest = _write_blob(blobs, manifest)
    top = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": MANIFEST_TYPE, "digest": manifest_digest, "size": len(manifest)}
        ],
    }
    (root / "index.json").write_text(json.dumps(top))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def _write_blob(blobs: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (blobs / digest.removeprefix("sha256:")).write_bytes(data)
    return digest


class RegistryLog(logging.Handler):
    """The registry's "response completed" lines (passed to the emulator's logger at DEBUG
    by ``local_registry``), as (method, uri, user agent).
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.answered: list[tuple[str, str, str]] = []
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if not line.startswith("docker-registry: ") or not _COMPLETED.search(line):
            return
        fields = {name: value.strip('"') for name, value in _FIELD.findall(line)}
        with self.guard:
            self.answered.append(
                (
                    fields.get("http.request.method", "?"),
                    fields.get("http.request.uri", "?"),
                    fields.get("http.request.useragent", ""),
                )
            )

    def mark(self) -> int:
        with self.guard:
            return len(self.answered)

    def since(self, mark: int) -> list[tuple[str, str]]:
        """The requests answered after ``mark``, but the emulator's own (its image status
        checks: manifest HEADs and tag listings, by httpx's default agent), once the log has
        been quiet for a moment (its lines arrive through a pipe).
        """
        seen, quiet = -1, 0
        while quiet < 3:
            time.sleep(0.1)
            now = self.mark()
            quiet = quiet + 1 if now == seen else 0
            seen = now
        with self.guard:
            rows = self.answered[mark:]
        return [
            (method, uri)
            for method, uri, agent in rows
            if not (agent.startswith("python-httpx/") and _emulators(method, uri))
        ]


def _emulators(method: str, uri: str) -> bool:
    """Whether a request is of the kinds the emulator sends (the floor sends none of them)."""
    return (
        (method == "HEAD" and "/manifests/" in uri)
        or uri.startswith("/v2/_catalog")
        or ("/tags/list" in uri)
    )


@contextmanager
def _registry_and_emulator(ctx: Context) -> Iterator[tuple[ServedEmulator, RegistryLog, str]]:
    """The registry (its log counted), a served emulator using it, and the registry token."""
    log = RegistryLog()
    emulator_log = logging.getLogger("rescale_async.emulator")
    emulator_log.addHandler(log)
    level = emulator_log.level
    emulator_log.setLevel(logging.DEBUG)
    try:
        with ExitStack() as stack:
            portal = stack.enter_context(anyio.from_thread.start_blocking_portal("asyncio"))
            registry = stack.enter_context(
                portal.wrap_async_context_manager(local_registry(storage="filesystem"))
            )
            served = stack.enter_context(
                background_server(
                    refresh_interval=0.1,
                    registry_address=registry.address,
                    registry_password=registry.password,
                    jobs_root=str(ctx.workdir / "push-jobs"),
                )
            )
            yield served, log, registry.password
    finally:
        emulator_log.setLevel(level)
        emulator_log.removeHandler(log)


def _manifest_of(address: str, password: str, repository: str, tag: str) -> dict[str, Any]:
    response = httpx.get(
        f"http://{address}/v2/{repository}/manifests/{tag}",
        auth=("AWS", password),
        headers={"Accept": f"{MANIFEST_TYPE}, application/vnd.oci.artifact.manifest.v1+json"},
        timeout=30,
    )
    response.raise_for_status()
    manifest: dict[str, Any] = response.json()
    return manifest


def bench_push(ctx: Context) -> None:
    """(g): the image made once; per run every implementation pushes it into a repository of
    its own (so no blob is there yet), then the SDK pushes it again to its repository.
    """
    cfg = ctx.config
    missing = registry_missing()
    if missing is not None:
        for impl in (*PUSH_IMPLS, "sdk-repeat"):
            ctx.report.add("g", impl, 0, Measurement(unavailable=missing))
        ctx.log(f"  g: {missing}")
        return
    start = time.perf_counter()
    layout = make_image(ctx.workdir / "push-image", cfg.push_size, cfg.push_layers)
    manifest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    layers = json.loads(
        (layout / "blobs" / "sha256" / manifest.removeprefix("sha256:")).read_text()
    )
    layer_digests = [layer["digest"] for layer in layers["layers"]]
    ctx.log(
        f"made a {cfg.push_size / 2**20:,.0f} MiB image of {cfg.push_layers} layers in "
        f"{time.perf_counter() - start:.1f} s"
    )
    with _registry_and_emulator(ctx) as (served, log, password):
        address = str(served.emulator.config.registry_address)
        prefix = f"rescale/{served.project_id}"
        for run in range(cfg.slow_runs):
            shift = run % len(PUSH_IMPLS)
            names = [*list(PUSH_IMPLS)[shift:], *list(PUSH_IMPLS)[:shift]]
            for name in names:
                module, function = PUSH_IMPLS[name]
                repository = f"bench-{name}-{run}"
                params = {
                    "base_url": served.base_url,
                    "api_key": served.api_key,
                    "project_id": served.project_id,
                    "layout": str(layout),
                    "registry": address,
                    "password": password,
                    "repository": f"{prefix}/{repository}",
                    "short_repository": repository,
                    "tag": "bench",
                }
                mark = log.mark()
                result = measure(ctx, module, function, params)
                result = _checked_push(result, address, password, params, layer_digests)
                if result.seconds is not None:
                    requests = log.since(mark)
                    extra = {**result.extra, "registry_requests": len(requests)}
                    result = replace(result, extra=extra)
                ctx.report.add("g", name, run, result)
                ctx.log(f"  g run {run + 1}/{cfg.slow_runs} {name}: {result.summary()}")
                if name == "sdk":
                    ctx.report.add("g", "sdk-repeat", run, _repeat(ctx, params, log))
                    ctx.log(
                        f"  g run {run + 1}/{cfg.slow_runs} sdk repeat: "
                        f"{ctx.report.results['g'][run]['sdk-repeat'].summary()}"
                    )


def _checked_push(
    result: Measurement,
    address: str,
    password: str,
    params: dict[str, Any],
    layers: list[str],
) -> Measurement:
    """The tag's manifest, read back from the registry, names every layer."""
    if result.seconds is None:
        return result
    tag = str(result.extra.get("tag") or params["tag"])
    try:
        manifest = _manifest_of(address, password, params["repository"], tag)
    except httpx.HTTPError as exc:
        return result.wrong(f"the registry has no manifest {tag}: {exc}")
    pushed = [layer["digest"] for layer in manifest.get("layers") or manifest.get("blobs") or []]
    if sorted(set(layers) - set(pushed)):
        return result.wrong(f"the manifest lacks layers: {sorted(set(layers) - set(pushed))}")
    return replace(result, extra={**result.extra, "layers_checked": len(layers)})


def _repeat(ctx: Context, params: dict[str, Any], log: RegistryLog) -> Measurement:
    """The SDK's push of the same image again: the registry's log gives its requests."""
    mark = log.mark()
    result = measure(ctx, "dataplane_sdk", "push", params)
    if result.seconds is None:
        return result
    requests = log.since(mark)
    kinds = Counter(_kind(method, uri) for method, uri in requests)
    extra = {
        **result.extra,
        "registry_requests": len(requests),
        "request_kinds": dict(sorted(kinds.items())),
    }
    return replace(result, extra=extra)


def _kind(method: str, uri: str) -> str:
    """A request's kind: ``HEAD blob``, ``PUT manifest``, ``POST upload``, ``GET /v2/``..."""
    if "/blobs/uploads/" in uri:
        return f"{method} upload"
    if "/blobs/" in uri:
        return f"{method} blob"
    if "/manifests/" in uri:
        return f"{method} manifest"
    return f"{method} {uri.partition('?')[0]}"
