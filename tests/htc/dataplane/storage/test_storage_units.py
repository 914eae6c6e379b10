"""The storage parts that need no S3: what a token grants, the credentials holder, planning,
checksums, the job environment, argument checks and the bridge to asyncio.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest

from rescale_async import ConfigurationError, HTCClient, Project, TaskRef
from rescale_async.htc.dataplane import (
    StoredObject,
    UnsupportedStorageError,
    current_region,
    current_task,
)
from rescale_async.htc.dataplane.storage import StorageCredentials, TargetArea, area_of
from rescale_async.htc.dataplane.storage._body import FileWindow, SourceShrankError
from rescale_async.htc.dataplane.storage._bridge import AsyncioRunner, CallerLoop, on_asyncio
from rescale_async.htc.dataplane.storage._credentials import Grant, grant_from_token
from rescale_async.htc.dataplane.storage._download import RANGE_SIZE, _ranges
from rescale_async.htc.dataplane.storage._plan import (
    MAX_PARTS,
    MiB,
    check_key,
    local_path,
    part_size_for,
    parts_of,
    plan_upload,
)
from rescale_async.htc.dataplane.storage._transfers import plan_download
from rescale_async.htc.dataplane.storage._verify import composite_etag, etag_parts, matches
from rescale_async.htc.types import StorageAccessToken

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
TASK = TargetArea("p1", "t1")
SHARED = TargetArea("p1")


def token(**fields: Any) -> StorageAccessToken:
    body: dict[str, Any] = {
        "provider": "AWS",
        "region": "AWS_US_EAST_2",
        "storageName": "bucket-a",
        "credentials": {
            "AWS_ACCESS_KEY_ID": "ASIAKEY",
            "AWS_SECRET_ACCESS_KEY": "very-secret-value",
            "AWS_SESSION_TOKEN": "session-secret-value",
        },
        "expiration": (NOW + timedelta(hours=1)).isoformat(),
    }
    body.update(fields)
    return StorageAccessToken.model_validate(body)


# ---------------------------------------------------------------------- what a token grants


def test_a_task_token_grants_its_area_in_its_region() -> None:
    grant = grant_from_token(
        token(storagePath="s3://bucket-b/projects/p1/tasks/t1/"), TASK, generation=1, now=NOW
    )
    location = grant.location
    assert (location.bucket, location.prefix, location.region) == (
        "bucket-b",
        "projects/p1/tasks/t1/",
        "us-east-2",
    )
    assert location.endpoint_url is None
    assert location.key("a/b.txt") == "projects/p1/tasks/t1/a/b.txt"
    assert grant.renew_at == NOW + timedelta(minutes=55)  # 5 min (< 10% of 1 h) ahead
    assert "very-secret-value" not in repr(grant) and "session-secret" not in repr(grant)


def test_without_paths_the_service_layout_is_assumed() -> None:
    grant = grant_from_token(token(), TASK, generation=1, now=NOW)
    assert (grant.location.bucket, grant.location.prefix) == ("bucket-a", "projects/p1/tasks/t1/")
    shared = grant_from_token(
        token(projectSharedStoragePath="s3://bucket-c/projects/p1/shared"),
        SHARED,
        generation=1,
        now=NOW,
    )
    assert (shared.location.bucket, shared.location.prefix) == ("bucket-c", "projects/p1/shared/")
    with pytest.raises(UnsupportedStorageError, match="names no bucket"):
        grant_from_token(token(storageName=None), SHARED, generation=1, now=NOW)


def test_a_short_lived_token_is_renewed_a_tenth_of_its_life_early() -> None:
    grant = grant_from_token(
        token(expiration=(NOW + timedelta(seconds=600)).isoformat()), TASK, generation=1, now=NOW
    )
    assert grant.renew_at == NOW + timedelta(seconds=540)
    assert grant.fresh(NOW + timedelta(seconds=539)) and not grant.fresh(
        NOW + timedelta(seconds=540)
    )
    unbounded = grant_from_token(token(expiration=None), TASK, generation=1, now=NOW)
    assert unbounded.renew_at is None and unbounded.fresh(NOW + timedelta(days=999))


@pytest.mark.parametrize(
    ("provider", "credentials"),
    [
        ("GCP", {"GOOGLE_OAUTH_TOKEN": "gcp-secret-value", "GCS_BUCKET": "b"}),
        ("AZURE", {"AZURE_SAS_TOKEN": "azure-secret-value"}),
        ("AWS", {"AWS_ACCESS_KEY_ID": "only-half-secret"}),
        ("AWS", {}),
    ],
)
def test_credentials_of_an_unknown_kind_are_refused_naming_the_keys(
    provider: str, credentials: dict[str, str]
) -> None:
    with pytest.raises(UnsupportedStorageError) as caught:
        grant_from_token(
            token(provider=provider, credentials=credentials), TASK, generation=1, now=NOW
        )
    message = str(caught.value)
    assert provider in message and "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY" in message
    if credentials:
        assert all(name in message for name in credentials)
    else:
        assert "credential keys none" in message
    assert not any(value in message for value in credentials.values())
    assert isinstance(caught.value, ConfigurationError)


def test_s3_credentials_under_another_provider_are_used() -> None:
    grant = grant_from_token(
        token(provider="GCP", region="GCP_US_CENTRAL1"), TASK, generation=1, now=NOW
    )
    assert grant.location.region == "us-east-1"
    explicit = token(
        credentials={
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_REGION": "eu-west-3",
        }
    )
    assert grant_from_token(explicit, TASK, generation=1, now=NOW).location.region == "eu-west-3"


@pytest.mark.parametrize(
    ("endpoint", "usable"),
    [
        ("http://127.0.0.1:9000", True),
        ("http://localhost:9000/", True),
        ("http://[::1]:9000", True),
        ("https://s3.example.com", True),
        ("http://s3.example.com", False),
        ("http://10.0.0.5:9000", False),
        ("ftp://127.0.0.1", False),
    ],
)
def test_an_endpoint_override_is_https_or_loopback(endpoint: str, usable: bool) -> None:
    given = token(
        credentials={
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_ENDPOINT_URL": endpoint,
        }
    )
    if usable:
        location = grant_from_token(given, TASK, generation=1, now=NOW).location
        assert location.endpoint_url == endpoint.rstrip("/")
    else:
        with pytest.raises(UnsupportedStorageError, match="endpoint the SDK will not use"):
            grant_from_token(given, TASK, generation=1, now=NOW)


# ---------------------------------------------------------------------- the credentials holder


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def test_concurrent_callers_share_one_fetch_and_one_renewal() -> None:
    fetched = 0
    release = anyio.Event()

    async def fetch() -> StorageAccessToken:
        nonlocal fetched
        fetched += 1
        await release.wait()
        return token()

    clock = Clock()
    holder = StorageCredentials(TASK, fetch, now=clock)
    grants: list[Grant] = []
    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(lambda: _append(grants, holder.current()))
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert fetched == 1 and {g.generation for g in grants} == {1}

    # ten calls refused with generation 1: one renewal
    renewed: list[Grant] = []
    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(lambda: _append(renewed, holder.renew_after_rejection(1)))
    assert fetched == 2 and {g.generation for g in renewed} == {2}
    assert holder.renewals == 2

    # close to expiry: the next caller renews first
    clock.now = NOW + timedelta(minutes=56)
    assert (await holder.current()).generation == 3


async def _append(into: list[Any], awaitable: Any) -> None:
    into.append(await awaitable)


# ---------------------------------------------------------------------- planning


def test_parts_grow_only_to_stay_within_ten_thousand() -> None:
    assert part_size_for(60 * MiB, 5 * MiB) == 5 * MiB
    huge = 200 * 1024 * MiB
    part = part_size_for(huge, 8 * MiB)
    assert part % MiB == 0 and len(parts_of(huge, part)) <= MAX_PARTS
    assert len(parts_of(huge, part - MiB)) > MAX_PARTS
    assert parts_of(11, 5) == [(0, 5), (5, 5), (10, 1)]


def test_consecutive_parts_share_a_get_but_never_leave_connections_idle() -> None:
    gib = parts_of(1024 * MiB, 8 * MiB)  # 128 parts
    groups = _ranges(range(128), gib, 16)
    assert len(groups) == 16 and all(len(group) == 8 for group in groups)  # 64 MiB each
    assert [i for group in groups for i in group] == list(range(128))
    small = parts_of(100 * MiB, 8 * MiB)  # 13 parts: fewer than the GETs wanted at once
    assert _ranges(range(13), small, 16) == [[i] for i in range(13)]
    assert _ranges([0, 1, 3, 4], small, 1) == [[0, 1], [3, 4]]  # only neighbours together
    huge = parts_of(10 * 1024 * MiB, 8 * MiB)
    assert max(sum(huge[i][1] for i in g) for g in _ranges(range(1280), huge, 16)) == RANGE_SIZE


def test_a_file_window_reads_only_its_span_and_rewinds(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(range(100)))
    with FileWindow(path, 10, 20) as window:
        assert window.read(5) == bytes(range(10, 15))
        assert window.read() == bytes(range(15, 30))  # stops at the window's end
        assert window.read(1) == b""
        assert window.seek(0, 2) == 20 and window.tell() == 20  # how botocore sizes a body
        window.seek(0)  # how botocore rewinds a body to send it again
        assert window.read() == bytes(range(10, 30))
        with pytest.raises(ValueError, match="before the window"):
            window.seek(-1)


def test_a_file_window_on_a_truncated_file_fails_instead_of_sending_less(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"x" * 100)
    with FileWindow(path, 50, 50) as window:
        path.write_bytes(b"x" * 60)
        assert window.read(8) == b"x" * 8
        with pytest.raises(SourceShrankError, match="truncated"):
            window.read()


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a/.."])
def test_unusable_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="not a usable storage key"):
        check_key(key)


def test_a_download_never_lands_outside_its_destination(tmp_path: Path) -> None:
    assert local_path(tmp_path, "a/b.txt") == tmp_path / "a" / "b.txt"
    for bad in ("../x", "/etc/passwd", "a/../../x", ""):
        with pytest.raises(ValueError, match="unsafe path"):
            local_path(tmp_path, bad)


def test_uploads_are_planned_as_files_keyed_by_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "a.txt").write_text("a")
    (tmp_path / "tree" / "sub" / "b.txt").write_text("bb")
    (tmp_path / "tree" / "link").symlink_to(tmp_path / "tree" / "a.txt")
    single = tmp_path / "tree" / "a.txt"
    assert [i.key for i in plan_upload(single, None)] == ["a.txt"]
    assert [i.key for i in plan_upload(single, "in/")] == ["in/a.txt"]
    assert [i.key for i in plan_upload(single, "x.txt")] == ["x.txt"]
    planned = plan_upload(tmp_path / "tree", "run/")
    assert [(i.key, i.size) for i in planned] == [
        ("run/a.txt", 1),
        ("run/link", 1),
        ("run/sub/b.txt", 2),
    ]
    assert plan_upload(tmp_path / "tree", None)[0].key == "a.txt"
    with pytest.raises(FileNotFoundError, match="no file or directory"):
        plan_upload(tmp_path / "missing", None)


def test_downloads_are_planned_under_their_destination(tmp_path: Path) -> None:
    one = [StoredObject("out/r.txt", 1, None, "e")]
    assert plan_download("out/r.txt", one, tmp_path, dest_is_dir=True)[0].dest == tmp_path / "r.txt"
    assert (
        plan_download("out/r.txt", one, tmp_path / "x", dest_is_dir=False)[0].dest == tmp_path / "x"
    )
    many = [StoredObject("out/a", 1), StoredObject("out/b/c", 1), StoredObject("out", 1)]
    planned = plan_download("out", many, tmp_path, dest_is_dir=True)
    assert [i.dest for i in planned] == [tmp_path / "a", tmp_path / "b" / "c"]
    assert planned[0].partial == tmp_path / ".a.rescale-part"
    everything = plan_download("", many[:2], tmp_path, dest_is_dir=True)
    assert [i.dest for i in everything] == [tmp_path / "out" / "a", tmp_path / "out" / "b" / "c"]


def test_checksums_are_the_stores_etags(tmp_path: Path) -> None:
    parts = [b"a" * 10, b"b" * 10, b"c" * 3]
    digests = [hashlib.md5(p, usedforsecurity=False).digest() for p in parts]
    expected = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest() + "-3"
    assert composite_etag(digests) == expected
    assert etag_parts(expected) == 3 and etag_parts("abc") is None and etag_parts(None) is None
    path = tmp_path / "f"
    path.write_bytes(b"".join(parts))
    assert matches(path, expected, 23, parts_of(23, 10))
    assert not matches(path, expected, 23, parts_of(23, 5))
    assert matches(path, hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest(), 23, None)
    assert not matches(path, expected, 24, parts_of(24, 10))
    assert not matches(tmp_path / "absent", expected, 23, None)


# ---------------------------------------------------------------------- targets, environment


def test_targets_name_a_task_or_a_project() -> None:
    assert area_of(TaskRef("p", "t")) == TargetArea("p", "t")
    assert area_of("p") == TargetArea("p")
    assert area_of(Project(project_id="p")) == TargetArea("p")
    assert "task t" in area_of(TaskRef("p", "t")).describe()
    with pytest.raises(TypeError, match="expected a task"):
        area_of(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lacks a project or task id"):
        area_of(TaskRef("p", ""))
    with pytest.raises(ValueError, match="empty"):
        area_of("")


def test_the_current_task_comes_from_the_job_environment() -> None:
    env = {"RESCALE_HTC_PROJECT_ID": "p", "RESCALE_HTC_TASK_ID": "t", "RESCALE_HTC_REGION": "AWS_X"}
    assert current_task(env) == TaskRef("p", "t")
    assert current_region(env) == "AWS_X" and current_region({}) is None
    with pytest.raises(ConfigurationError, match="RESCALE_HTC_TASK_ID not set"):
        current_task({"RESCALE_HTC_PROJECT_ID": "p"})


# ---------------------------------------------------------------------- arguments, engine


async def test_bad_arguments_fail_before_any_request(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    async with HTCClient(api_key="k", base_url="http://127.0.0.1:9/api/v1") as client:
        with pytest.raises(ValueError, match="part_size must be between 5 MiB"):
            await client.storage.upload(TaskRef("p", "t"), tmp_path / "f", part_size=MiB)
        with pytest.raises(ValueError, match="concurrency must be >= 1"):
            await client.storage.download(TaskRef("p", "t"), "f", tmp_path, concurrency=0)
        with pytest.raises(ValueError, match="not a usable storage key"):
            await client.storage.download(TaskRef("p", "t"), "../f", tmp_path)
        with pytest.raises(ValueError, match="delete every object"):
            await client.storage.delete("p", "/")


async def test_a_missing_engine_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("x")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "aiobotocore" else real(name, *a),
    )
    async with HTCClient(api_key="k", base_url="http://127.0.0.1:9/api/v1") as client:
        with pytest.raises(ConfigurationError, match=r"pip install 'rescale-async\[storage\]'"):
            await client.storage.upload(TaskRef("p", "t"), tmp_path / "f")


async def test_engine_work_runs_on_asyncio_and_calls_back(anyio_backend: str) -> None:
    runner = AsyncioRunner()
    here = threading.get_ident()
    seen: dict[str, Any] = {}

    async def in_caller() -> int:
        seen["callback thread"] = threading.get_ident()
        return 41

    async def work(caller: CallerLoop) -> int:
        seen["on asyncio"] = on_asyncio()
        seen["work thread"] = threading.get_ident()
        return await caller.call(in_caller) + 1

    try:
        assert await runner.run(work) == 42
    finally:
        await runner.aclose()
    assert seen["on asyncio"] and seen["callback thread"] == here
    assert (seen["work thread"] == here) == (anyio_backend == "asyncio")


async def test_cancelling_the_caller_cancels_the_engine_work() -> None:
    runner = AsyncioRunner()
    started, unwound = threading.Event(), threading.Event()

    async def work(caller: CallerLoop) -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            unwound.set()

    try:
        with anyio.move_on_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(runner.run, work)
                await anyio.to_thread.run_sync(started.wait)
                group.cancel_scope.cancel()
    finally:
        await runner.aclose()
    assert unwound.is_set()
