"""``build_oci_layout``: an OCI image layout from files, in Python (no docker, no daemon).

The layer is a gzipped tar written reproducibly (sorted entries, owner root, time 0), so the
same files give the same digests, hence the same content-derived tag when pushed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import posixpath
import stat
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ...._core.exceptions import ImageSourceError
from ._media import IMAGE_TYPES, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST
from ._source import Blob, ImagePlan, Manifest, load_image

__all__ = ["build_oci_layout"]

FileContent = bytes | str | os.PathLike[str]
"""A file's bytes, or the path of a file on this machine to copy (its mode bits kept)."""

_COPY_SIZE = 1024 * 1024


def build_oci_layout(
    dest: str | os.PathLike[str],
    files: Mapping[str, FileContent],
    *,
    base: str | os.PathLike[str] | None = None,
    cmd: Sequence[str] | None = None,
    entrypoint: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    os_name: str = "linux",
    architecture: str = "amd64",
    ref_name: str | None = None,
) -> Path:
    """Write an OCI image layout to the new directory ``dest`` and return its path: the image
    ``base`` (an OCI layout or docker save archive; its ``os_name/architecture`` platform when
    it is an index), else an empty one, plus a layer holding ``files`` (path in the image ->
    bytes or a local file), with ``cmd``, ``entrypoint``, ``env`` and ``workdir`` set when
    given. Push it with ``client.images.push(project, dest, repository=...)``.

    Blocking file work: from async code run it in a thread
    (``await anyio.to_thread.run_sync(partial(build_oci_layout, ...))``).
    """
    target = Path(dest)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ImageSourceError(f"{target} exists and is not an empty directory")
    entries = {_image_path(name): content for name, content in files.items()}
    blobs = target / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"architecture": architecture, "os": os_name, "config": {}}
    layers: list[dict[str, Any]] = []
    if base is not None:
        config, layers = _copy_base(Path(base), blobs, f"{os_name}/{architecture}")
    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    if entries:
        layer, diff_id = _write_layer(blobs, entries)
        layers.append(layer)
        rootfs.setdefault("diff_ids", []).append(diff_id)
        config.setdefault("history", []).append({"created_by": "rescale_async build_oci_layout"})
    settings = config.setdefault("config", {})
    for key, value in (("Cmd", cmd), ("Entrypoint", entrypoint), ("WorkingDir", workdir)):
        if value is not None:
            settings[key] = list(value) if key != "WorkingDir" else value
    if env is not None:
        given = {name: f"{name}={value}" for name, value in env.items()}
        kept = [item for item in settings.get("Env", []) if item.split("=", 1)[0] not in given]
        settings["Env"] = kept + list(given.values())
    config_descriptor = _write_json(blobs, config, OCI_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_descriptor,
        "layers": layers,
    }
    descriptor = _write_json(blobs, manifest, OCI_MANIFEST)
    descriptor["platform"] = {"architecture": architecture, "os": os_name}
    if ref_name is not None:
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]}
    (target / "index.json").write_text(json.dumps(index, separators=(",", ":")))
    (target / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return target


def _image_path(name: str) -> str:
    """``name`` as a relative path inside the image, refusing anything outside it."""
    clean = posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/")
    if not clean or clean == "." or ".." in name.split("/"):
        raise ImageSourceError(f"{name!r} is not a file path inside the image")
    return clean


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


class _Hashing:
    """A write-only file that hashes (and counts) what passes through to ``target``."""

    def __init__(self, target: _Writable) -> None:
        self.target = target
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


def _write_layer(blobs: Path, entries: Mapping[str, FileContent]) -> tuple[dict[str, Any], str]:
    """A reproducible gzipped tar of ``entries`` in ``blobs``: its descriptor and diff_id."""
    partial = blobs / ".layer.partial"
    with partial.open("wb") as raw:
        compressed = _Hashing(raw)
        with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as zipped:
            plain = _Hashing(zipped)
            with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for directory in _parents(entries):
                    tar.addfile(_info(directory, tarfile.DIRTYPE, 0o755, 0))
                for name in sorted(entries):
                    _add_file(tar, name, entries[name])
    partial.rename(blobs / compressed.digest.removeprefix("sha256:"))
    descriptor = {"mediaType": OCI_LAYER_GZIP, "digest": compressed.digest, "size": compressed.size}
    return descriptor, plain.digest


def _parents(entries: Mapping[str, FileContent]) -> list[str]:
    """Every directory above the entries, parents first."""
    found: set[str] = set()
    for name in entries:
        parent = posixpath.dirname(name)
        while parent:
            found.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(found)


def _info(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_file(tar: tarfile.TarFile, name: str, content: FileContent) -> None:
    if isinstance(content, bytes):
        tar.addfile(_info(name, tarfile.REGTYPE, 0o644, len(content)), io.BytesIO(content))
        return
    path = Path(content)
    if not path.is_file():
        raise ImageSourceError(f"{path} (for {name} in the image) is not a file")
    mode = stat.S_IMODE(path.stat().st_mode)
    with path.open("rb") as file:
        tar.addfile(_info(name, tarfile.REGTYPE, mode, path.stat().st_size), file)


def _write_json(blobs: Path, document: dict[str, Any], media_type: str) -> dict[str, Any]:
    content = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    (blobs / digest.removeprefix("sha256:")).write_bytes(content)
    return {"mediaType": media_type, "digest": digest, "size": len(content)}


def _copy_base(
    base: Path, blobs: Path, platform: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The base image's config and layer descriptors, its layers copied into ``blobs``."""
    plan = load_image(base)
    manifest = _platform_manifest(plan, platform)
    document = json.loads(manifest.content)
    by_digest = {blob.digest: blob for blob in plan.blobs}
    config_blob = by_digest[document["config"]["digest"]]
    config = json.loads(config_blob.where.read(8 * 1024 * 1024, "the base image's config"))
    layers = []
    for layer in document.get("layers", []):
        blob = by_digest.get(layer["digest"])
        if blob is not None:
            _copy_blob(blob, blobs)
        layers.append(
            {key: layer[key] for key in ("mediaType", "digest", "size", "urls") if key in layer}
        )
    return config, layers


def _platform_manifest(plan: ImagePlan, platform: str) -> Manifest:
    """The image manifest of ``plan``: its top one, or the ``platform`` one of its index."""
    if plan.top.media_type in IMAGE_TYPES:
        return plan.top
    for manifest in plan.manifests:
        if manifest.platform == platform and manifest.media_type in IMAGE_TYPES:
            return manifest
    raise ImageSourceError(f"the base image {plan.source} has no {platform} manifest")


def _copy_blob(blob: Blob, blobs: Path) -> None:
    target = blobs / blob.digest.removeprefix("sha256:")
    if target.exists():
        return
    with blob.where.path.open("rb") as source, target.open("wb") as sink:
        source.seek(blob.where.offset)
        left = blob.size
        while left:
            piece = source.read(min(_COPY_SIZE, left))
            if not piece:
                raise ImageSourceError(f"the base image's blob {blob.digest} is truncated")
            sink.write(piece)
            left -= len(piece)
