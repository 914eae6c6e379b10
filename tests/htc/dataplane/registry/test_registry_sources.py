"""Reading image sources without a registry: OCI layouts (directory, tar), both docker save
forms, multi-platform indexes, the layout builder, and every unusable input refused clearly.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from registry_support import (
    docker25_save,
    layer_tar,
    legacy_docker_save,
    multi_platform_layout,
    sha256,
    small_layout,
    tar_of,
)

from rescale_async.htc.dataplane import ImageSourceError, RegistryError, build_oci_layout
from rescale_async.htc.dataplane.registry._http import check_scheme, is_loopback, registry_origin
from rescale_async.htc.dataplane.registry._source import load_image

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


# ---------------------------------------------------------------------- broken sources


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _strip(layout: Path, name: str) -> Path:
    (layout / name).unlink()
    return layout


def _json(layout: Path, name: str, document: object) -> Path:
    text = document if isinstance(document, str) else json.dumps(document)
    (layout / name).write_text(text)
    return layout


def _index(layout: Path) -> dict[str, Any]:
    index: dict[str, Any] = json.loads((layout / "index.json").read_text())
    return index


def _manifest_path(layout: Path) -> Path:
    digest: str = _index(layout)["manifests"][0]["digest"]
    return layout / "blobs" / "sha256" / digest[7:]


def _corrupt_index(layout: Path, digest: str) -> Path:
    return _json(layout, "index.json", {"manifests": [{"digest": digest}]})


def _two_images(root: Path) -> Path:
    first, second = small_layout(root, "one"), small_layout(root, "two", other=b"2")
    for blob in (second / "blobs" / "sha256").iterdir():
        (first / "blobs" / "sha256" / blob.name).write_bytes(blob.read_bytes())
    manifests = [*_index(first)["manifests"], *_index(second)["manifests"]]
    for entry in manifests:
        del entry["platform"]
    return _json(first, "index.json", {"manifests": manifests})


def _layer_digest(layout: Path) -> str:
    return str(json.loads(_manifest_path(layout).read_text())["layers"][0]["digest"])


def _remove_layer(layout: Path) -> Path:
    (layout / "blobs" / "sha256" / _layer_digest(layout)[7:]).unlink()
    return layout


def _resize_layer(layout: Path) -> Path:
    path = layout / "blobs" / "sha256" / _layer_digest(layout)[7:]
    path.write_bytes(path.read_bytes() + b"extra")
    return layout


def _retype_manifest(layout: Path) -> Path:
    path = _manifest_path(layout)
    document = json.loads(path.read_text())
    document["mediaType"] = "application/vnd.example.thing+json"
    content = json.dumps(document).encode()
    path.unlink()
    (layout / "blobs" / "sha256" / sha256(content)[7:]).write_bytes(content)
    return _corrupt_index(layout, sha256(content))


def _legacy_tar(members: dict[str, bytes]) -> bytes:
    return layer_tar(members)


# ---------------------------------------------------------------------- tests


def blob_of(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


def test_a_layout_directory_and_its_tar_give_the_same_plan(tmp_path: Path) -> None:
    layout = small_layout(tmp_path)
    from_dir = load_image(layout)
    from_tar = load_image(tar_of(layout, tmp_path / "image.tar"))
    assert from_dir.kind == from_tar.kind == "OCI image layout"
    assert from_dir.top.digest == from_tar.top.digest
    assert from_dir.top.media_type == OCI_MANIFEST
    assert from_dir.top.content == blob_of(layout, from_dir.top.digest)
    assert [b.digest for b in from_dir.blobs] == [b.digest for b in from_tar.blobs]
    assert from_dir.manifests == ()
    # the tar's blobs are byte ranges inside the archive, holding the very bytes
    for blob in from_tar.blobs:
        assert blob.where.path == tmp_path / "image.tar"
        assert blob.where.read(blob.size, "blob") == blob_of(layout, blob.digest)


def test_the_builder_is_reproducible_and_its_image_is_what_was_asked(tmp_path: Path) -> None:
    files = {"/app/run.py": b"print(1)\n", "app/lib/util.py": b"X = 1\n"}
    script = tmp_path / "tool.sh"
    script.write_bytes(b"#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    first = build_oci_layout(tmp_path / "a", {**files, "bin/tool": script}, cmd=["run"])
    second = build_oci_layout(tmp_path / "b", {**files, "bin/tool": script}, cmd=["run"])
    one, two = load_image(first), load_image(second)
    assert one.top.digest == two.top.digest  # same files, same digests: same derived tag

    manifest = json.loads(one.top.content)
    config = json.loads(blob_of(first, manifest["config"]["digest"]))
    layer = blob_of(first, manifest["layers"][0]["digest"])
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    plain = gzip.decompress(layer)
    assert config["rootfs"]["diff_ids"] == [sha256(plain)]
    assert config["config"]["Cmd"] == ["run"]
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    with tarfile.open(
        fileobj=gzip.open(first / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:])
    ) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == [
            "app",
            "app/lib",
            "app/lib/util.py",
            "app/run.py",
            "bin",
            "bin/tool",
        ]
        assert members["bin/tool"].mode == 0o755 and members["app/run.py"].mode == 0o644
        assert {m.mtime for m in members.values()} == {0}
        extracted = tar.extractfile("app/run.py")
        assert extracted is not None and extracted.read() == b"print(1)\n"


def test_the_builder_extends_a_base_image(tmp_path: Path) -> None:
    base = build_oci_layout(tmp_path / "base", {"base.txt": b"base"}, env={"A": "1", "B": "2"})
    image = build_oci_layout(
        tmp_path / "app", {"app.txt": b"app"}, base=base, env={"B": "3"}, workdir="/work"
    )
    base_manifest = json.loads(load_image(base).top.content)
    manifest = json.loads(load_image(image).top.content)
    assert manifest["layers"][0] == base_manifest["layers"][0]
    assert len(manifest["layers"]) == 2
    config = json.loads(blob_of(image, manifest["config"]["digest"]))
    assert config["config"]["Env"] == ["A=1", "B=3"]
    assert config["config"]["WorkingDir"] == "/work"
    assert len(config["rootfs"]["diff_ids"]) == 2
    # a base that is an index: the platform asked for is the base
    multi = multi_platform_layout(tmp_path / "m")
    on_arm = build_oci_layout(tmp_path / "arm-app", {}, base=multi, architecture="arm64")
    arm_config = json.loads(
        blob_of(on_arm, json.loads(load_image(on_arm).top.content)["config"]["digest"])
    )
    assert arm_config["architecture"] == "arm64"
    with pytest.raises(ImageSourceError, match="has no linux/s390x manifest"):
        build_oci_layout(tmp_path / "x", {}, base=multi, architecture="s390x")


def test_the_builder_refuses_paths_outside_the_image_and_a_used_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageSourceError, match="not a file path inside the image"):
        build_oci_layout(tmp_path / "a", {"../etc/passwd": b"x"})
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    with pytest.raises(ImageSourceError, match="not an empty directory"):
        build_oci_layout(tmp_path / "used", {"a": b"x"})
    with pytest.raises(ImageSourceError, match="is not a file"):
        build_oci_layout(tmp_path / "b", {"a": tmp_path / "missing"})


def test_a_legacy_docker_save_gets_a_manifest_built_from_its_config(tmp_path: Path) -> None:
    layers = [{"a.txt": b"first"}, {"b.txt": b"second"}, {"a.txt": b"first"}]
    archive = legacy_docker_save(tmp_path / "legacy.tar", layers, link_last=True)
    plan = load_image(archive)
    assert plan.kind == "docker save (legacy)"
    manifest = json.loads(plan.top.content)
    assert manifest["mediaType"] == plan.top.media_type
    assert plan.top.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert plan.top.digest == sha256(plan.top.content)
    expected = [sha256(layer_tar(files)) for files in layers]
    assert [layer["digest"] for layer in manifest["layers"]] == expected  # the diff_ids
    assert {layer["mediaType"] for layer in manifest["layers"]} == {
        "application/vnd.docker.image.rootfs.diff.tar"
    }
    # the repeated layer (a symlink in the archive) is one blob
    assert len(plan.blobs) == 3  # config + two distinct layers
    config = next(b for b in plan.blobs if b.digest == manifest["config"]["digest"])
    assert json.loads(config.where.read(config.size, "config"))["rootfs"]["diff_ids"] == expected


def test_a_docker_25_save_is_read_as_the_oci_layout_it_holds(tmp_path: Path) -> None:
    archive = docker25_save(tmp_path, tmp_path / "docker25.tar")
    plan = load_image(archive)
    assert plan.kind == "docker save (OCI)"
    assert plan.top.media_type == OCI_MANIFEST
    assert len(plan.blobs) == 2


def test_a_multi_platform_layout_lists_each_platform_before_the_index(tmp_path: Path) -> None:
    plan = load_image(multi_platform_layout(tmp_path))
    assert plan.top.media_type == "application/vnd.oci.image.index.v1+json"
    assert [m.platform for m in plan.manifests] == ["linux/amd64", "linux/arm64"]
    assert len(plan.blobs) == 4  # a config and a layer per platform
    index = json.loads(plan.top.content)
    assert [d["digest"] for d in index["manifests"]] == [m.digest for m in plan.manifests]


def test_an_index_json_listing_platforms_is_itself_the_index(tmp_path: Path) -> None:
    layout = multi_platform_layout(tmp_path)
    top = json.loads((layout / "index.json").read_text())["manifests"][0]
    index_bytes = (layout / "blobs" / "sha256" / top["digest"][7:]).read_bytes()
    (layout / "index.json").write_bytes(index_bytes)
    plan = load_image(layout)
    assert plan.top.content == index_bytes and len(plan.manifests) == 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: _write(p / "notes.txt", b"hello"), "is not a tar archive"),
        (lambda p: _write(p / "image.tar.gz", gzip.compress(b"x" * 600)), "gzip-compressed"),
        (lambda p: _mkdir(p / "empty"), "neither an OCI image layout"),
        (lambda p: _strip(small_layout(p), "index.json"), "neither an OCI image layout"),
        (lambda p: _json(small_layout(p), "index.json", {"manifests": []}), "lists no image"),
        (lambda p: _json(small_layout(p), "index.json", "[]"), "must be a list of descriptors"),
        (lambda p: _json(small_layout(p), "oci-layout", {}), "no imageLayoutVersion"),
        (lambda p: _corrupt_index(small_layout(p), "sha256:abc"), "is not a sha256 digest"),
        (_two_images, "holds 2 images"),
        (lambda p: _remove_layer(small_layout(p)), "is missing from directory"),
        (lambda p: _resize_layer(small_layout(p)), "but its descriptor says"),
        (lambda p: _retype_manifest(small_layout(p)), "not an image manifest or index"),
        (lambda p: _write(p / "l.tar", _legacy_tar({"manifest.json": b"{}"})), "not a list"),
        (
            lambda p: _write(
                p / "l.tar", _legacy_tar({"manifest.json": b'[{"Config":"a"},{"Config":"b"}]'})
            ),
            "lists 2 images",
        ),
        (
            lambda p: _write(
                p / "l.tar",
                _legacy_tar(
                    {
                        "manifest.json": b'[{"Config":"c.json","Layers":["x/layer.tar"]}]',
                        "c.json": b'{"rootfs":{"diff_ids":[]}}',
                    }
                ),
            ),
            "lists 0 rootfs.diff_ids for 1 layers",
        ),
        (
            lambda p: _write(
                p / "l.tar",
                _legacy_tar(
                    {
                        "manifest.json": b'[{"Config":"c.json","Layers":["x/layer.tar"]}]',
                        "c.json": b'{"rootfs":{"diff_ids":["sha256:' + b"0" * 64 + b'"]}}',
                    }
                ),
            ),
            r"layer 1 \(x/layer.tar\) is missing",
        ),
        (
            lambda p: _write(p / "l.tar", _legacy_tar({"manifest.json": b"[{]"})),
            "is not JSON",
        ),
    ],
)
def test_unusable_sources_are_refused_with_what_is_wrong(
    tmp_path: Path, make: object, message: str
) -> None:
    assert callable(make)
    source = make(tmp_path)
    with pytest.raises(ImageSourceError, match=message):
        load_image(source)


def test_a_sparse_tar_member_is_refused(tmp_path: Path) -> None:
    layout = small_layout(tmp_path)
    layer = f"blobs/sha256/{_layer_digest(layout)[7:]}"
    archive = tmp_path / "sparse.tar"
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(layout.rglob("*")):
            info = tar.gettarinfo(path, arcname=str(path.relative_to(layout)))
            if info.name == layer:
                info.type = tarfile.GNUTYPE_SPARSE  # as GNU tar --sparse marks a member
            if path.is_file():
                with path.open("rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)
    with pytest.raises(ImageSourceError, match="is a sparse file"):
        load_image(archive)


def test_only_loopback_registries_are_spoken_to_in_plain_http() -> None:
    assert str(registry_origin("127.0.0.1:5000")) == "http://127.0.0.1:5000/"
    assert str(registry_origin("localhost:5000")) == "http://localhost:5000/"
    assert str(registry_origin("[::1]:5000")) == "http://[::1]:5000/"
    assert str(registry_origin("1.dkr.ecr.us-east-2.amazonaws.com")).startswith("https://")
    assert is_loopback("127.8.9.10") and not is_loopback("10.0.0.1")
    check_scheme(httpx.URL("https://storage.example.com/blob"), "a redirect")
    with pytest.raises(RegistryError, match="only https"):
        check_scheme(httpx.URL("http://storage.example.com/blob"), "a redirect")
