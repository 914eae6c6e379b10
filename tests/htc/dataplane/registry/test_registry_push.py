"""``client.images.push`` against the real ``docker-registry``, through the emulator in
process (its projects' registry is that one): every source form, the HEAD skip, ECR's
deviations and faults (via the fault layer), token expiry, redirects, bearer challenges,
digest checks, and a large layer pushed in flat memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from registry_support import (
    Fault,
    RegistryProxy,
    RunningRegistry,
    Seen,
    docker25_save,
    legacy_docker_save,
    multi_platform_layout,
    registry_emulator,
    registry_get,
    running_registry,
    serving_proxy,
    sha256,
    small_layout,
    tar_of,
)

from rescale_async import (
    BadRequestError,
    HTCClient,
    ImageNotReadyError,
    InternalServerError,
    JobSpec,
)
from rescale_async.emulator import Emulator
from rescale_async.htc.dataplane import (
    BlobDigestError,
    ImageSourceError,
    PushProgress,
    RegistryError,
    build_oci_layout,
)

INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join(
    [
        INDEX,
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


@pytest.fixture(scope="module")
def registry() -> Iterator[RunningRegistry]:
    with running_registry() as running:
        yield running


@pytest.fixture(scope="module")
def disk_registry() -> Iterator[RunningRegistry]:
    with running_registry("filesystem") as running:
        yield running


@pytest.fixture
def proxy(registry: RunningRegistry) -> Iterator[RegistryProxy]:
    with serving_proxy(RegistryProxy(registry.address, lambda: registry.password)) as served:
        yield served


async def held_manifest(
    emu: Emulator, registry: RunningRegistry, repository: str, ref: str
) -> bytes:
    """The manifest bytes the registry holds for ``ref`` in the project's ``repository``."""
    path = f"/v2/rescale/{emu.project_id}/{repository}/manifests/{ref}"
    response = await registry_get(registry.address, registry.password, path, accept=ACCEPT)
    assert response.status_code == 200, response.text
    return response.content


# ---------------------------------------------------------------------- sources


async def test_an_oci_layout_directory_then_its_tar_second_time_only_heads(
    tmp_path: Path, registry: RunningRegistry, proxy: RegistryProxy
) -> None:
    layout = small_layout(tmp_path)
    progress: list[PushProgress] = []
    async with registry_emulator(proxy.address, registry.password) as emu, emu.client() as client:
        pushed = await client.images.push(
            emu.project_id, layout, repository="team/app", progress=progress.append
        )
        assert pushed.tag == pushed.digest[7:19]  # content-derived
        assert pushed.image == f"team/app:{pushed.tag}"
        assert pushed.registry == f"{proxy.address}/rescale/{emu.project_id}"
        assert pushed.reference == f"{pushed.registry}/team/app@{pushed.digest}"
        assert (pushed.blobs_uploaded, pushed.blobs_skipped, pushed.ready) == (2, 0, True)
        assert pushed.bytes_sent == proxy.blob_bytes > 0
        assert progress[-1] == PushProgress(pushed.bytes_sent, pushed.bytes_sent, 2, 2, 0)
        sent = [p.bytes_sent for p in progress]
        assert sent == sorted(sent)
        held = await held_manifest(emu, registry, "team/app", pushed.tag)
        assert held == (layout / "blobs" / "sha256" / pushed.digest[7:]).read_bytes()
        assert sha256(held) == pushed.digest
        # every registry request carried the registry login, never the Rescale token
        assert {s.authorization.split()[0] for s in proxy.seen if s.authorization} == {"Basic"}
        assert all(s.authorization for s in proxy.seen)

        proxy.seen.clear()
        proxy.blob_bytes = 0
        again = await client.images.push(
            emu.project_id, tar_of(layout, tmp_path / "image.tar"), repository="team/app"
        )
        assert again.digest == pushed.digest and again.tag == pushed.tag
        assert (again.bytes_sent, again.blobs_uploaded, again.blobs_skipped) == (0, 0, 2)
        assert proxy.blob_bytes == 0
        assert sorted({(s.method, s.path.split("/")[-2]) for s in proxy.seen}) == [
            ("HEAD", "blobs"),
            ("PUT", "manifests"),
        ]
        assert await client.images.status(emu.project_id, pushed.image)


async def test_both_docker_save_forms(tmp_path: Path, registry: RunningRegistry) -> None:
    layers = [{"etc/a": b"alpha"}, {"etc/b": b"beta" * 1000}]
    legacy = legacy_docker_save(tmp_path / "legacy.tar", layers, link_last=False)
    docker25 = docker25_save(tmp_path, tmp_path / "docker25.tar")
    async with (
        registry_emulator(registry.address, registry.password) as emu,
        emu.client() as client,
    ):
        old = await client.images.push(emu.project_id, legacy, repository="legacy", tag="v1")
        assert old.tag == "v1" and old.image == "legacy:v1"
        manifest = json.loads(await held_manifest(emu, registry, "legacy", "v1"))
        assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
        config = await registry_get(
            registry.address,
            registry.password,
            f"/v2/rescale/{emu.project_id}/legacy/blobs/{manifest['config']['digest']}",
        )
        diff_ids = json.loads(config.content)["rootfs"]["diff_ids"]
        assert [layer["digest"] for layer in manifest["layers"]] == diff_ids

        new = await client.images.push(emu.project_id, docker25, repository="docker25")
        assert sha256(await held_manifest(emu, registry, "docker25", new.tag)) == new.digest


async def test_a_multi_platform_index_goes_after_its_platform_manifests(
    tmp_path: Path, registry: RunningRegistry, proxy: RegistryProxy
) -> None:
    layout = multi_platform_layout(tmp_path)
    async with registry_emulator(proxy.address, registry.password) as emu, emu.client() as client:
        pushed = await client.images.push(emu.project_id, layout, repository="multi")
        assert pushed.media_type == INDEX
        assert [p.platform for p in pushed.platforms] == ["linux/amd64", "linux/arm64"]
        puts = [
            s.path.rsplit("/", 1)[1]
            for s in proxy.seen
            if s.method == "PUT" and "/manifests/" in s.path
        ]
        assert puts == [p.digest for p in pushed.platforms] + [pushed.tag]
        index = json.loads(await held_manifest(emu, registry, "multi", pushed.tag))
        assert [m["digest"] for m in index["manifests"]] == [p.digest for p in pushed.platforms]
        for platform in pushed.platforms:
            await held_manifest(emu, registry, "multi", platform.digest)


# ---------------------------------------------------------------------- ECR's deviations, faults


async def test_chunked_uploads_tolerate_ecr_and_retry_in_new_sessions(
    tmp_path: Path, registry: RunningRegistry, proxy: RegistryProxy
) -> None:
    big = os.urandom(3 * 1024 * 1024 + 123)
    layout = build_oci_layout(tmp_path / "big", {"data.bin": big})
    proxy.ecr = True
    # the second PATCH of all fails (503), then a PATCH is refused as a restart (416) once
    proxy.faults = [
        Fault("PATCH", "/blobs/uploads/", 2, 503),
        Fault("PATCH", "/blobs/uploads/", 4, 416),
    ]
    async with registry_emulator(proxy.address, registry.password) as emu:
        async with emu.client(sleep=_no_wait) as client:
            pushed = await client.images.push(
                emu.project_id, layout, repository="chunked", chunk_size=1024 * 1024
            )
        assert pushed.blobs_uploaded == 2
        assert all(fault.hits >= fault.nth for fault in proxy.faults)
        layer = json.loads(await held_manifest(emu, registry, "chunked", pushed.tag))["layers"][0]
        # the layer's session was opened three times: the first cut by the 503, the second by
        # the 416; none was restarted from byte 0 (the fault layer would have refused it)
        assert proxy.count("POST", "/blobs/uploads/") == 1 + 3
        assert proxy.refused_restarts == 0
        held = await registry_get(
            registry.address,
            registry.password,
            f"/v2/rescale/{emu.project_id}/chunked/blobs/{layer['digest']}",
        )
        assert hashlib.sha256(held.content).hexdigest() == layer["digest"][7:]


async def _no_wait(_: float) -> None:
    await anyio.lowlevel.checkpoint()


async def test_transient_failures_are_retried_and_a_refusal_is_told(
    tmp_path: Path, registry: RunningRegistry, proxy: RegistryProxy
) -> None:
    layout = small_layout(tmp_path)
    proxy.faults = [
        Fault("HEAD", "/blobs/", 1, 503),
        Fault("PUT", "/blobs/uploads/", 1, 500),
        Fault("PUT", "/manifests/", 1, 502),
    ]
    async with registry_emulator(proxy.address, registry.password) as emu:
        async with emu.client(sleep=_no_wait) as client:
            pushed = await client.images.push(emu.project_id, layout, repository="flaky")
            assert pushed.blobs_uploaded == 2
            assert all(fault.hits >= 1 for fault in proxy.faults)
            proxy.faults = [Fault("PUT", "/manifests/", 1, 400)]
            with pytest.raises(RegistryError, match=r"PUT .*/manifests/v2 -> 400") as caught:
                await client.images.push(emu.project_id, layout, repository="flaky", tag="v2")
            assert caught.value.status_code == 400
            assert "_state" not in str(caught.value)
        async with emu.client(sleep=_no_wait, max_retries=1) as client:
            proxy.faults = [Fault("HEAD", "/blobs/", n, 503) for n in (1, 2, 3, 4)]
            with pytest.raises(RegistryError, match="503"):
                await client.images.push(emu.project_id, layout, repository="flaky", tag="v3")


async def test_a_token_expired_mid_push_is_fetched_again(
    tmp_path: Path, registry: RunningRegistry, proxy: RegistryProxy
) -> None:
    layout = small_layout(tmp_path)
    original = registry.password
    async with registry_emulator(proxy.address, registry.password) as emu, emu.client() as client:
        project = emu.state.projects[emu.project_id]

        rotated = anyio.Event()

        async def expire_at_the_first_upload(seen: Seen) -> None:
            if seen.method == "POST" and not rotated.is_set():
                rotated.set()
                await registry.registry.set_password("rotated-password")
                project.registry_token = "rotated-password"

        proxy.before = expire_at_the_first_upload
        try:
            pushed = await client.images.push(emu.project_id, layout, repository="rotating")
        finally:
            await registry.registry.set_password(original)
        assert pushed.blobs_uploaded == 2
        refused = [s for s in proxy.seen if s.status == 401]
        # what was in flight was refused (a streamed PUT starts its upload again); one new
        # token served every request
        assert refused and {s.method for s in refused} <= {"POST", "PUT"}
        token_calls = sum(
            n
            for endpoint, n in emu.counters.requests.items()
            if endpoint.endswith("container-registry/token")
        )
        assert token_calls == 2


async def test_a_redirect_is_followed_without_the_credentials(
    tmp_path: Path, registry: RunningRegistry, proxy: RegistryProxy
) -> None:
    proxy.redirect_heads = True  # blob HEADs answered 307 to "storage" on another host
    async with registry_emulator(proxy.address, registry.password) as emu, emu.client() as client:
        pushed = await client.images.push(
            emu.project_id, small_layout(tmp_path), repository="redir"
        )
    assert pushed.blobs_uploaded == 2  # storage said 404: not there, so uploaded
    assert len(proxy.storage) == 2
    assert {s.host.split(":")[0] for s in proxy.storage} == {"localhost"}
    assert [s.authorization for s in proxy.storage] == [None, None]
    assert all(s.authorization for s in proxy.seen)


async def test_a_bearer_challenge_is_answered_at_its_realm(
    tmp_path: Path, registry: RunningRegistry, proxy: RegistryProxy
) -> None:
    proxy.bearer = True  # (the emulator's own checks know no bearer: no READY wait)
    async with registry_emulator(proxy.address, registry.password) as emu, emu.client() as client:
        pushed = await client.images.push(
            emu.project_id, small_layout(tmp_path), repository="bearer", wait=False
        )
    assert pushed.blobs_uploaded == 2
    assert len(proxy.realm) == 1  # one exchange for all the concurrent requests
    assert proxy.realm[0].authorization and proxy.realm[0].authorization.startswith("Basic ")
    accepted = [s for s in proxy.seen if s.status != 401]
    assert accepted and all((s.authorization or "").startswith("Bearer ") for s in accepted)


async def test_a_blob_not_matching_its_digest_is_never_stored(
    tmp_path: Path, registry: RunningRegistry
) -> None:
    layout = small_layout(tmp_path)
    manifest = json.loads(
        (
            layout
            / "blobs"
            / "sha256"
            / json.loads((layout / "index.json").read_text())["manifests"][0]["digest"][7:]
        ).read_text()
    )
    digest = manifest["layers"][0]["digest"]
    path = layout / "blobs" / "sha256" / digest[7:]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))
    async with (
        registry_emulator(registry.address, registry.password) as emu,
        emu.client() as client,
    ):
        with pytest.raises(BlobDigestError, match=digest) as caught:
            await client.images.push(emu.project_id, layout, repository="corrupt")
        assert caught.value.digest == digest
        held = await registry_get(
            registry.address,
            registry.password,
            f"/v2/rescale/{emu.project_id}/corrupt/blobs/{digest}",
        )
        assert held.status_code == 404


async def test_bad_input_is_refused_before_any_request(
    tmp_path: Path, registry: RunningRegistry
) -> None:
    layout = small_layout(tmp_path)
    async with (
        registry_emulator(registry.address, registry.password) as emu,
        emu.client() as client,
    ):
        pid = emu.project_id
        with pytest.raises(ImageSourceError, match="does not exist"):
            await client.images.push(pid, tmp_path / "missing", repository="app")
        (tmp_path / "empty").mkdir()
        with pytest.raises(ImageSourceError, match="neither an OCI image layout"):
            await client.images.push(pid, tmp_path / "empty", repository="app")
        with pytest.raises(ValueError, match="not a valid tag"):
            await client.images.push(pid, layout, repository="app", tag="-bad")
        with pytest.raises(ValueError, match="not a valid repository name"):
            await client.images.push(pid, layout, repository="App")
        with pytest.raises(ValueError, match="chunk_size"):
            await client.images.push(pid, layout, repository="app", chunk_size=0)
        with pytest.raises(TypeError, match="expected a project id"):
            await client.images.push(42, layout, repository="app")  # type: ignore[arg-type]
        assert sum(emu.counters.requests.values()) == 0


# ---------------------------------------------------------------------- the emulator's registry


async def test_the_emulator_names_the_registry_and_holds_pushed_images_pending(
    tmp_path: Path, registry: RunningRegistry
) -> None:
    emulator = registry_emulator(registry.address, registry.password, registry_pending=0.3)
    async with emulator as emu, emu.client() as client:
        project = await client.projects.get(emu.project_id)
        assert project.container_registry == f"{registry.address}/rescale/{emu.project_id}/"
        token = await client.images.registry_token(emu.project_id)
        assert token.get_secret_value() == registry.password

        pushed = await client.images.push(
            emu.project_id, small_layout(tmp_path), repository="app", wait=False
        )
        assert not pushed.ready
        assert str((await client.images.status(emu.project_id, pushed.image)).status) == "PENDING"
        task = await client.tasks.create(emu.project_id, name="registry")
        with pytest.raises(BadRequestError, match="unavailable"):
            await client.jobs.submit_batch(
                task, [JobSpec(image=pushed.image, commands=["true"]).to_request()]
            )
        with anyio.fail_after(10):
            batch = await client.jobs.submit(
                task, JobSpec(image=pushed.image, commands=["true"]), image_timeout=10
            )
        assert len(batch.job_ids) == 1
        assert pushed.image in ((await client.images.list(emu.project_id)).images or [])

        with pytest.raises(ImageNotReadyError, match="does not exist"):
            await client.jobs.submit(task, JobSpec(image="app:missing", commands=["true"]))
        with pytest.raises(BadRequestError, match="unavailable"):
            await client.jobs.submit_batch(
                task, [JobSpec(image="app:missing", commands=["true"]).to_request()]
            )


async def test_a_push_under_a_tag_seen_ready_before_waits_for_the_new_image(
    tmp_path: Path, registry: RunningRegistry
) -> None:
    status = "GET /htc/projects/{projectId}/container-registry/images/{imageName}"
    async with registry_emulator(registry.address, registry.password) as emu, emu.client() as c:
        first = small_layout(tmp_path, "first")
        await c.images.push(emu.project_id, first, repository="app", tag="v1")
        asked = emu.counters.requests[status]
        second = small_layout(tmp_path, "second", app__run_py=b"print('a new image')\n")
        pushed = await c.images.push(emu.project_id, second, repository="app", tag="v1")
        assert pushed.ready and pushed.blobs_uploaded >= 1
        # the tag moved to another image: READY seen before says nothing of it
        assert emu.counters.requests[status] > asked


async def test_the_registry_pool_is_closed_with_the_client(
    tmp_path: Path, registry: RunningRegistry
) -> None:
    async with registry_emulator(registry.address, registry.password) as emu:
        client: HTCClient = emu.client()
        async with client:
            view = client.with_options(max_retries=0)
            await view.images.push(emu.project_id, small_layout(tmp_path), repository="view")
        with pytest.raises(RuntimeError, match="closed"):
            await client.images.push(emu.project_id, small_layout(tmp_path, "b"), repository="x")


async def test_a_large_layer_is_pushed_in_flat_memory(
    tmp_path: Path, disk_registry: RunningRegistry
) -> None:
    registry = disk_registry
    size = 256 * 1024 * 1024
    layout = build_oci_layout(tmp_path / "big", {})
    big = tmp_path / "layer.bin"
    digest = hashlib.sha256()
    piece = os.urandom(1024 * 1024)
    with big.open("wb") as file:
        for _ in range(size // len(piece)):
            file.write(piece)
            digest.update(piece)
    _add_layer(layout, big, "sha256:" + digest.hexdigest())
    async with (
        registry_emulator(registry.address, registry.password) as emu,
        emu.client() as client,
    ):
        tracemalloc.start()
        try:
            pushed = await client.images.push(emu.project_id, layout, repository="big")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert pushed.bytes_sent >= size
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes for a {size} byte layer"  # ~3 MiB


def _add_layer(layout: Path, data: Path, digest: str) -> None:
    """Make ``data`` (moved into the layout) the image's only layer."""
    blobs = layout / "blobs" / "sha256"
    data.rename(blobs / digest[7:])
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    manifest["layers"] = [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": digest,
            "size": (blobs / digest[7:]).stat().st_size,
        }
    ]
    content = json.dumps(manifest).encode()
    (blobs / sha256(content)[7:]).write_bytes(content)
    index["manifests"][0].update(digest=sha256(content), size=len(content))
    (layout / "index.json").write_text(json.dumps(index))


async def test_an_unreachable_registry_is_a_502_naming_it() -> None:
    async def no_wait(_: float) -> None:
        await anyio.lowlevel.checkpoint()

    async with (
        registry_emulator("127.0.0.1:9", "password") as emu,  # nothing listens on port 9
        emu.client(sleep=no_wait) as client,
    ):
        with pytest.raises(InternalServerError, match="cannot be reached"):
            await client.images.status(emu.project_id, "app:v1")
        with pytest.raises(InternalServerError, match="cannot be reached"):
            await client.images.list(emu.project_id)
