"""What an image source holds to push: its blobs (where their bytes are) and its manifests.

Sources: an OCI image layout (directory or tar; Docker 25+ ``docker save`` writes one, with a
``manifest.json`` beside it), or a legacy ``docker save`` tar (``manifest.json``, a config and
``<id>/layer.tar`` members), for which the image manifest is built here. Only small JSON
documents are read; every problem is found before a request is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...._core.exceptions import ImageSourceError
from ._files import ByteRange, ImageFiles, open_files
from ._media import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    IMAGE_TYPES,
    INDEX_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    check_digest,
    sha256_digest,
)

__all__ = ["Blob", "ImagePlan", "Manifest", "load_image"]

_MAX_DOCUMENT = 8 * 1024 * 1024
"""The largest JSON document read (registries refuse manifests above 4 MiB)."""
_MAX_DEPTH = 4
"""How deep indexes may nest (an index of platform indexes is already unusual)."""
_REF_NAME = "org.opencontainers.image.ref.name"
_DOCKER_NAME = "io.containerd.image.name"


@dataclass(frozen=True)
class Blob:
    """A config or layer: its digest, size and media type, and where its bytes are."""

    digest: str
    size: int
    media_type: str
    where: ByteRange = field(repr=False)


@dataclass(frozen=True)
class Manifest:
    """A manifest or index, pushed with exactly these bytes and ``media_type`` as its type."""

    digest: str
    media_type: str
    content: bytes = field(repr=False)
    platform: str | None = None
    """``os/architecture[/variant]`` of a platform manifest of an index."""


@dataclass(frozen=True)
class ImagePlan:
    """Everything a push sends: ``blobs`` (distinct), then ``manifests`` by digest (children
    before the indexes naming them), then ``top`` by tag.
    """

    source: Path
    kind: str
    blobs: tuple[Blob, ...]
    manifests: tuple[Manifest, ...]
    top: Manifest

    @property
    def size(self) -> int:
        """Bytes of all blobs together."""
        return sum(blob.size for blob in self.blobs)


def load_image(source: Path) -> ImagePlan:
    """The plan of pushing ``source``; ImageSourceError for anything unusable (blocking: run
    it in a worker thread).
    """
    files = open_files(source)
    if files.find("oci-layout") is not None and files.find("index.json") is not None:
        kind = "docker save (OCI)" if files.find("manifest.json") else "OCI image layout"
        return _Reader(files, source, kind).layout()
    if files.find("manifest.json") is not None:
        return _Reader(files, source, "docker save (legacy)").docker_save()
    raise ImageSourceError(
        f"{files.description} is neither an OCI image layout (it has no oci-layout and "
        "index.json) nor a docker save archive (it has no manifest.json)"
    )


class _Reader:
    """Reads one source's documents, collecting blobs and manifests as it goes."""

    def __init__(self, files: ImageFiles, source: Path, kind: str) -> None:
        self.files = files
        self.source = source
        self.kind = kind
        self.blobs: dict[str, Blob] = {}
        self.manifests: dict[str, Manifest] = {}

    def plan(self, top: Manifest) -> ImagePlan:
        children = tuple(m for m in self.manifests.values() if m.digest != top.digest)
        return ImagePlan(self.source, self.kind, tuple(self.blobs.values()), children, top)

    def document(self, name: str, what: str) -> tuple[bytes, Any]:
        where = self.files.find(name)
        if where is None:
            raise ImageSourceError(f"{self.files.description} has no {name} ({what})")
        data = where.read(_MAX_DOCUMENT, f"{name} in {self.files.description}")
        try:
            return data, json.loads(data)
        except ValueError as exc:
            raise ImageSourceError(
                f"{name} in {self.files.description} is not JSON ({what}): {exc}"
            ) from None

    # ------------------------------------------------------------------ OCI image layout

    def layout(self) -> ImagePlan:
        _, marker = self.document("oci-layout", "the OCI layout marker")
        if not isinstance(marker, dict) or "imageLayoutVersion" not in marker:
            raise ImageSourceError(
                f"oci-layout in {self.files.description} has no imageLayoutVersion"
            )
        content, index = self.document("index.json", "the layout's index")
        entries = _descriptors(index, "index.json")
        distinct = list({entry["digest"]: entry for entry in entries}.values())
        if not distinct:
            raise ImageSourceError(f"index.json in {self.files.description} lists no image")
        if len(distinct) == 1:
            return self.plan(self.manifest(distinct[0], "index.json", depth=0))
        if all(isinstance(entry.get("platform"), dict) for entry in distinct):
            # index.json itself is the image's index: one manifest per platform
            for entry in distinct:
                self.manifest(entry, "index.json", depth=1)
            media_type = index.get("mediaType") or OCI_INDEX
            return self.plan(Manifest(sha256_digest(content), media_type, content))
        names = sorted(
            str(entry.get("annotations", {}).get(_REF_NAME) or entry["digest"])
            for entry in distinct
        )
        raise ImageSourceError(
            f"{self.files.description} holds {len(distinct)} images ({', '.join(names)}); "
            "push one image per layout (e.g. docker save one image, or skopeo copy one tag)"
        )

    def manifest(self, descriptor: dict[str, Any], where: str, *, depth: int) -> Manifest:
        """The manifest ``descriptor`` names, its blobs and children collected."""
        digest = check_digest(descriptor.get("digest"), f"a manifest in {where}")
        seen = self.manifests.get(digest)
        if seen is not None:
            return seen
        name = f"blobs/sha256/{digest.removeprefix('sha256:')}"
        content, document = self.document(name, f"manifest {digest} listed in {where}")
        if sha256_digest(content) != digest:
            raise ImageSourceError(
                f"manifest {digest} in {self.files.description} does not match its digest: "
                "the layout is corrupt"
            )
        if not isinstance(document, dict):
            raise ImageSourceError(f"manifest {digest} is not a JSON object")
        media_type = document.get("mediaType") or descriptor.get("mediaType")
        if media_type is None:
            media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
        if media_type in INDEX_TYPES:
            if depth >= _MAX_DEPTH:
                raise ImageSourceError(f"index {digest} nests indexes too deeply")
            for child in _descriptors(document, f"index {digest}"):
                self.manifest(child, f"index {digest}", depth=depth + 1)
        elif media_type in IMAGE_TYPES:
            what = f"manifest {digest}"
            config = document.get("config")
            if not isinstance(config, dict):
                raise ImageSourceError(f"{what} has no config descriptor")
            self.blob(config, f"the config of {what}")
            for number, layer in enumerate(_descriptors(document, what, "layers"), 1):
                self.blob(layer, f"layer {number} of {what}")
        else:
            raise ImageSourceError(
                f"manifest {digest} has media type {media_type!r}, which is not an image "
                "manifest or index"
            )
        found = Manifest(digest, str(media_type), content, _platform(descriptor))
        self.manifests[digest] = found
        return found

    def blob(self, descriptor: dict[str, Any], what: str) -> None:
        digest = check_digest(descriptor.get("digest"), what)
        size = descriptor.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ImageSourceError(f"{what} has no valid size (got {size!r})")
        where = self.files.find(f"blobs/sha256/{digest.removeprefix('sha256:')}")
        if where is None:
            if descriptor.get("urls"):  # a foreign layer: fetched from its URLs, never pushed
                return
            raise ImageSourceError(f"{what} ({digest}) is missing from {self.files.description}")
        if where.length != size:
            raise ImageSourceError(
                f"{what} ({digest}) is {where.length} bytes in {self.files.description}, but "
                f"its descriptor says {size}"
            )
        media_type = str(descriptor.get("mediaType") or "application/octet-stream")
        self.blobs.setdefault(digest, Blob(digest, size, media_type, where))

    # ------------------------------------------------------------------ legacy docker save

    def docker_save(self) -> ImagePlan:
        """The image of a legacy ``docker save`` archive, with its manifest built: layers
        pushed uncompressed as they are stored (their digests are the config's diff_ids),
        the config byte for byte.
        """
        _, entries = self.document("manifest.json", "docker save's image list")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ImageSourceError("manifest.json is not a list of images")
        distinct = list({str(entry.get("Config")): entry for entry in entries}.values())
        if len(distinct) != 1:
            raise ImageSourceError(
                f"manifest.json lists {len(distinct)} images; docker save one image per file"
            )
        entry = distinct[0]
        config_name, layer_names = entry.get("Config"), entry.get("Layers")
        if not isinstance(config_name, str) or not isinstance(layer_names, list):
            raise ImageSourceError("manifest.json's image has no Config and Layers")
        config_where = self.files.find(config_name)
        config_bytes, config = self.document(config_name, "the image config")
        assert config_where is not None  # document() found it
        diff_ids = (
            (config.get("rootfs") or {}).get("diff_ids") if isinstance(config, dict) else None
        )
        if not isinstance(diff_ids, list) or len(diff_ids) != len(layer_names):
            raise ImageSourceError(
                f"the config {config_name} lists {len(diff_ids or [])} rootfs.diff_ids for "
                f"{len(layer_names)} layers"
            )
        config_blob = Blob(
            sha256_digest(config_bytes), len(config_bytes), DOCKER_CONFIG, config_where
        )
        self.blobs[config_blob.digest] = config_blob
        layers = []
        for number, (name, diff_id) in enumerate(zip(layer_names, diff_ids, strict=True), 1):
            digest = check_digest(diff_id, f"rootfs.diff_ids[{number - 1}] of {config_name}")
            where = self.files.find(str(name))
            if where is None:
                raise ImageSourceError(
                    f"layer {number} ({name}) is missing from {self.files.description}"
                )
            self.blobs.setdefault(digest, Blob(digest, where.length, DOCKER_LAYER, where))
            layers.append({"mediaType": DOCKER_LAYER, "size": where.length, "digest": digest})
        document = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": DOCKER_CONFIG,
                "size": config_blob.size,
                "digest": config_blob.digest,
            },
            "layers": layers,
        }
        content = json.dumps(document, separators=(",", ":")).encode()
        return self.plan(Manifest(sha256_digest(content), DOCKER_MANIFEST, content))


def _descriptors(document: Any, where: str, key: str = "manifests") -> list[dict[str, Any]]:
    """The descriptor list ``document[key]``, checked to be a list of objects."""
    found = document.get(key, []) if isinstance(document, dict) else None
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise ImageSourceError(f"{where}: {key} must be a list of descriptors")
    return found


def _platform(descriptor: dict[str, Any]) -> str | None:
    platform = descriptor.get("platform")
    if not isinstance(platform, dict):
        return None
    parts = [platform.get("os"), platform.get("architecture"), platform.get("variant")]
    return "/".join(str(part) for part in parts if part) or None
