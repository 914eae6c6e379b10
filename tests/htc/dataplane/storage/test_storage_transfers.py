"""``client.storage`` moving files through a real moto S3 server (behind the emulator's
storage gate): round trips, multipart in flat memory, credential expiry mid-transfer, resumed
downloads, corruption, listing and deleting. Every test runs under asyncio and trio.
"""

from __future__ import annotations

import base64
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from storage_support import (
    MiB,
    gets,
    make_tree,
    md5_of,
    new_task,
    random_file,
    read_tree,
    running_storage,
    storage_emulator,
)

from rescale_async import HTCClient, TaskRef
from rescale_async.emulator.storage import Fault, StorageServer
from rescale_async.htc.dataplane import (
    StorageError,
    StorageIntegrityError,
    StorageNotFoundError,
    TransferProgress,
)

TOKEN = "GET /htc/projects/{projectId}/tasks/{taskId}/storage/token"
SHARED_TOKEN = "GET /htc/projects/{projectId}/storage/token"


@pytest.fixture(scope="module")
def storage() -> Iterator[StorageServer]:
    yield from running_storage()


@pytest.fixture
async def control(storage: StorageServer) -> object:
    control = storage.control()
    await control.clear_faults()
    await control.clear_requests()
    return control


async def test_a_tree_of_thousands_of_small_files_round_trips(
    storage: StorageServer, tmp_path: Path, anyio_backend: str
) -> None:
    # 2,000 files under asyncio; trio takes the same path through the engine's thread with
    # fewer (moto answers ~200 requests a second: the whole suite has a budget).
    count = 2000 if anyio_backend == "asyncio" else 200
    files = make_tree(tmp_path / "source", count)
    events: list[TransferProgress] = []
    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        uploaded = await client.storage.upload(
            task, tmp_path / "source", "inputs/", progress=events.append, concurrency=32
        )
        assert {o.key for o in uploaded.transferred} == {f"inputs/{k}" for k in files}
        assert uploaded.bytes == sum(len(d) for d in files.values())
        assert events[-1].files_done == count and events[-1].bytes_done == uploaded.bytes

        listed = [o async for o in client.storage.list(task, "inputs/")]
        assert sorted(o.key for o in listed) == sorted(f"inputs/{k}" for k in files)
        assert all(o.checksum and o.modified for o in listed)

        downloaded = await client.storage.download(task, "inputs", tmp_path / "copy")
        assert len(downloaded.transferred) == count and not downloaded.skipped
    assert read_tree(tmp_path / "copy") == files


@asynccontextmanager
async def raw_s3(client: HTCClient, task: TaskRef) -> AsyncIterator[tuple[Any, str]]:
    """A plain aiobotocore client on the task's storage (asyncio only), and its bucket."""
    from aiobotocore.session import get_session  # noqa: PLC0415 - the storage extra

    token = await client.storage.token(task)
    assert token.credentials is not None
    keys = {name: value.get_secret_value() for name, value in token.credentials.items()}
    async with get_session().create_client(
        "s3",
        region_name="us-east-2",
        endpoint_url=keys["AWS_ENDPOINT_URL"],
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys["AWS_SESSION_TOKEN"],
    ) as s3:
        yield s3, str(token.storage_name)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio moves parts in the tests below
async def test_a_file_of_many_parts_round_trips_in_flat_memory(
    storage: StorageServer, tmp_path: Path
) -> None:
    size = 12 * 5 * MiB - 12345  # 12 parts of 5 MiB, the last one short
    digest = random_file(tmp_path / "big.bin", size)
    (tmp_path / "small.txt").write_text("warm-up")
    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        await client.storage.upload(task, tmp_path / "small.txt")  # loads botocore's models
        tracemalloc.start()
        try:
            uploaded = await client.storage.upload(
                task, tmp_path / "big.bin", "data/big.bin", part_size=5 * MiB, concurrency=3
            )
            _, upload_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            await client.storage.download(
                task, "data/big.bin", tmp_path / "copy.bin", concurrency=3
            )
            _, download_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        async with raw_s3(client, task) as (s3, bucket):
            head = await s3.head_object(
                Bucket=bucket,
                Key=f"projects/{task.project_id}/tasks/{task.task_id}/data/big.bin",
                ChecksumMode="ENABLED",
            )
    # S3 checked every part's CRC32 and keeps their composite (``<crc of the CRCs>-12``)
    data = (tmp_path / "big.bin").read_bytes()
    crcs = b"".join(
        zlib.crc32(data[i : i + 5 * MiB]).to_bytes(4, "big") for i in range(0, size, 5 * MiB)
    )
    composite = base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode()
    assert head["ChecksumCRC32"].partition("-")[0] == composite
    (stored,) = uploaded.transferred
    assert stored.checksum is not None and stored.checksum.endswith("-12")
    assert md5_of(tmp_path / "copy.bin") == digest
    # three parts in flight (5 MiB each up, 1 MiB buffers down), never the 60 MiB file
    print("PEAK", upload_peak, download_peak)
    assert upload_peak < 25 * MiB, upload_peak
    assert download_peak < 20 * MiB, download_peak


async def test_a_file_that_changes_mid_upload_fails_and_leaves_nothing_stored(
    storage: StorageServer, tmp_path: Path
) -> None:
    path = tmp_path / "growing.bin"
    random_file(path, 3 * 5 * MiB)

    def grow(event: TransferProgress) -> None:
        if event.bytes_done and path.stat().st_size == 3 * 5 * MiB:
            with path.open("ab") as file:  # the test's own file, appended once
                file.write(b"more")

    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        with pytest.raises(StorageIntegrityError, match="changed while it was uploaded"):
            await client.storage.upload(
                task, path, "data/growing.bin", part_size=5 * MiB, concurrency=1, progress=grow
            )
        assert [o async for o in client.storage.list(task)] == []


async def test_credentials_that_expire_mid_transfer_are_renewed_once(
    storage: StorageServer, control: object, tmp_path: Path
) -> None:
    random_file(tmp_path / "big.bin", 5 * 5 * MiB)
    make_tree(tmp_path / "tree", 30)
    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        await control.expire_tokens(after_requests=3)  # type: ignore[attr-defined]
        await client.storage.upload(task, tmp_path / "big.bin", part_size=5 * MiB, concurrency=4)
        assert emu.counters.requests[TOKEN] == 2
        refused = [r for r in await control.requests() if r["status"] == 400]  # type: ignore[attr-defined]
        assert refused, "the gate never refused the expired token"

        await control.expire_tokens(after_requests=10)  # type: ignore[attr-defined]
        await client.storage.upload(task, tmp_path / "tree", "tree", concurrency=8)
        await client.storage.download(task, "", tmp_path / "copy", concurrency=8)
        assert emu.counters.requests[TOKEN] == 3
    assert md5_of(tmp_path / "copy" / "big.bin") == md5_of(tmp_path / "big.bin")
    assert read_tree(tmp_path / "copy" / "tree") == read_tree(tmp_path / "tree")


async def test_an_interrupted_download_resumes_without_fetching_again(
    storage: StorageServer, control: object, tmp_path: Path
) -> None:
    part = 5 * MiB
    source = tmp_path / "source"
    files = make_tree(source / "tree", 12)
    random_file(source / "tree" / "z-parts.bin", 4 * part)  # multipart: 4 parts
    random_file(source / "z-stream.bin", 10 * MiB)  # one part: streamed in order
    dest = tmp_path / "copy"
    async with storage_emulator(storage) as emu, emu.client(max_retries=0) as client:
        task = await new_task(client, emu.project_id)
        await client.storage.upload(task, source / "tree", "tree", part_size=part)
        await client.storage.upload(task, source / "z-stream.bin", part_size=16 * MiB)

        # 1. the streamed object's connection drops after 3 MiB, on every attempt
        await control.add_faults(  # type: ignore[attr-defined]
            Fault(method="GET", key="z-stream.bin", truncate=3 * MiB + 17)
        )
        with pytest.raises(StorageError, match="failed 3 times"):
            await client.storage.download(task, "z-stream.bin", dest / "z-stream.bin")
        kept = (dest / ".z-stream.bin.rescale-part").stat().st_size
        assert 3 * MiB < kept < 10 * MiB  # each attempt continued from the last
        # 2. the multipart object's parts come in one GET, whose connection drops 3 MiB into
        # its second part on every attempt (what the server had not flushed yet is lost, but
        # not 3 MiB of it): each attempt finishes one part and the next resumes at the
        # first part not finished; the tree's download stops after three
        await control.clear_faults()  # type: ignore[attr-defined]
        await control.add_faults(  # type: ignore[attr-defined]
            Fault(method="GET", key="z-parts.bin", truncate=part + 3 * MiB)
        )
        with pytest.raises(StorageError, match="failed 3 times"):
            await client.storage.download(task, "tree", dest / "tree", concurrency=1)
        journal = json.loads((dest / "tree" / ".z-parts.bin.rescale-part.json").read_text())
        assert sorted(journal["done"]) == ["0", "1", "2"]  # one part per attempt; 4 is left
        assert not (dest / "tree" / "z-parts.bin").exists()
        complete = {f"tree/{k}" for k in files if (dest / "tree" / k).exists()}

        # 3. everything, without faults: only what is missing is fetched
        await control.clear_faults()  # type: ignore[attr-defined]
        await control.clear_requests()  # type: ignore[attr-defined]
        again = await client.storage.download(task, "", dest, concurrency=2)
        fetched = gets(await control.requests())  # type: ignore[attr-defined]
    assert {o.key for o in again.skipped} == complete
    by_key = {f"tree/{k}": [r for r in fetched if r["key"].endswith(f"tree/{k}")] for k in files}
    assert all(by_key[key] == [] for key in complete)
    assert all(len(by_key[key]) == 1 for key in set(by_key) - complete)
    parts = sorted(r["range"] for r in fetched if r["key"].endswith("z-parts.bin"))
    assert parts == [f"bytes={3 * part}-{4 * part - 1}"]
    streamed = [r["range"] for r in fetched if r["key"].endswith("z-stream.bin")]
    assert streamed == [f"bytes={kept}-"]
    assert read_tree(dest) == read_tree(source)  # no partial file or journal left over


async def test_a_part_that_breaks_off_is_fetched_again_and_counted_once(
    storage: StorageServer, control: object, tmp_path: Path
) -> None:
    part = 5 * MiB
    digest = random_file(tmp_path / "parts.bin", 3 * part)
    events: list[TransferProgress] = []
    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        await client.storage.upload(task, tmp_path / "parts.bin", part_size=part)
        await control.add_faults(  # type: ignore[attr-defined]
            Fault(method="GET", key="parts.bin", truncate=part + 3 * MiB, times=1)
        )
        await client.storage.download(
            task, "parts.bin", tmp_path / "copy.bin", concurrency=1, progress=events.append
        )
        got = [r for r in await control.requests() if r["method"] == "GET" and r["key"]]  # type: ignore[attr-defined]
    ranges = [r["range"] for r in got]
    # one GET for the three parts, broken inside the second: again from the second (3 MiB in,
    # so the first one surely arrived)
    assert ranges == [f"bytes=0-{3 * part - 1}", f"bytes={part}-{3 * part - 1}"]
    assert md5_of(tmp_path / "copy.bin") == digest
    assert max(e.bytes_done for e in events) == events[-1].bytes_done == 3 * part


@pytest.mark.parametrize("size", [1000, 3 * 5 * MiB], ids=["one-part", "multipart"])
async def test_a_corrupted_object_is_detected_and_nothing_is_written(
    storage: StorageServer, control: object, tmp_path: Path, size: int
) -> None:
    random_file(tmp_path / "data.bin", size)
    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        await client.storage.upload(task, tmp_path / "data.bin", part_size=5 * MiB)
        await control.add_faults(Fault(method="GET", key="data.bin", corrupt=True))  # type: ignore[attr-defined]
        with pytest.raises(StorageIntegrityError, match="does not match the store's checksum"):
            await client.storage.download(task, "data.bin", tmp_path / "out" / "data.bin")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


async def test_project_shared_storage_list_and_delete(
    storage: StorageServer, tmp_path: Path
) -> None:
    make_tree(tmp_path / "tree", 9)
    (tmp_path / "notes.txt").write_text("shared notes")
    async with storage_emulator(storage) as emu, emu.client() as client:
        project = emu.project_id
        await client.storage.upload(project, tmp_path / "tree", "lib")
        await client.storage.upload(project, tmp_path / "notes.txt", "lib-notes.txt")
        keys = sorted([o.key async for o in client.storage.list(project)])
        assert len(keys) == 10 and keys[-1] == "lib/d6/s0/f00006.bin"
        assert emu.counters.requests[SHARED_TOKEN] == 1  # one token for every call
        assert await client.storage.delete(project, "lib") == 9  # not lib-notes.txt
        assert [o.key async for o in client.storage.list(project)] == ["lib-notes.txt"]
        await client.storage.download(project, "lib-notes.txt", tmp_path)
        assert (tmp_path / "lib-notes.txt").read_text() == "shared notes"
        with pytest.raises(StorageNotFoundError):
            await client.storage.download(project, "lib", tmp_path / "gone")
        with pytest.raises(ValueError, match="delete every object"):
            await client.storage.delete(project, "")


async def test_a_presigned_url_takes_a_plain_put(storage: StorageServer) -> None:
    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        presigned = await client.storage.presigned_url(task, "uploads/hello.txt")
        assert presigned.url is not None
        async with httpx.AsyncClient() as http:
            answer = await http.put(presigned.url, content=b"hello")
        assert answer.status_code == 200, answer.text
        (stored,) = [o async for o in client.storage.list(task)]
    assert (stored.key, stored.size) == ("uploads/hello.txt", 5)


async def test_the_areas_are_apart(storage: StorageServer, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    async with storage_emulator(storage) as emu, emu.client() as client:
        first = await new_task(client, emu.project_id, "one")
        second = await new_task(client, emu.project_id, "two")
        await client.storage.upload(first, tmp_path / "a.txt")
        assert [o.key async for o in client.storage.list(second)] == []
        assert [o.key async for o in client.storage.list(emu.project_id)] == []
        with pytest.raises(StorageNotFoundError):
            await client.storage.download(TaskRef(*second), "a.txt", tmp_path / "b.txt")


async def test_cancelling_an_upload_aborts_it(storage: StorageServer, tmp_path: Path) -> None:
    random_file(tmp_path / "big.bin", 6 * 5 * MiB)
    started = anyio.Event()
    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        with anyio.move_on_after(30):
            async with anyio.create_task_group() as group:

                async def upload() -> None:
                    await client.storage.upload(
                        task,
                        tmp_path / "big.bin",
                        part_size=5 * MiB,
                        concurrency=1,
                        progress=lambda _: started.set(),
                    )

                group.start_soon(upload)
                await started.wait()
                group.cancel_scope.cancel()
        assert [o async for o in client.storage.list(task)] == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the raw upload uses aiobotocore
async def test_parts_of_uneven_sizes_are_verified_by_their_real_boundaries(
    storage: StorageServer, control: object, tmp_path: Path
) -> None:
    sizes = [6 * MiB, 5 * MiB, 5 * MiB]  # 16 MiB in 3 parts, but not cut every 6 MiB
    parts = [bytes([n]) * size for n, size in enumerate(sizes)]
    async with storage_emulator(storage) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        key = f"projects/{task.project_id}/tasks/{task.task_id}/uneven.bin"
        async with raw_s3(client, task) as (s3, bucket):
            upload = await s3.create_multipart_upload(Bucket=bucket, Key=key)
            done = []
            for number, data in enumerate(parts, 1):
                answer = await s3.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload["UploadId"],
                    PartNumber=number,
                    Body=data,
                )
                done.append({"PartNumber": number, "ETag": answer["ETag"]})
            await s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
            )
        await control.clear_requests()  # type: ignore[attr-defined]
        await client.storage.download(task, "uneven.bin", tmp_path / "uneven.bin")
        heads = [r for r in await control.requests() if r["method"] == "HEAD"]  # type: ignore[attr-defined]
    assert (tmp_path / "uneven.bin").read_bytes() == b"".join(parts)
    assert len(heads) == 1 + 3  # part 1 (assumed even), then every part's real size
