"""``files.download``: concurrent ranges hashed in order, a single stream when ranges are
ignored, lost connections and interrupted calls resumed, corruption caught before anything
reaches the destination, redirects to storage without our Authorization, bounded memory.
"""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import httpx
import pytest
from transfer_support import API_KEY, FileServer, MiB, client, content_of, facades, file_json

from rescale_async import InternalServerError
from rescale_async.platform.orchestration import ChecksumMismatchError, DownloadError
from rescale_async.platform.orchestration._download import chunk_size_for
from rescale_async.platform.types import File

CHUNK = 256 * 1024


def leftovers(directory: Path) -> list[str]:
    """Files in ``directory`` other than the finished downloads (temporaries, sidecars)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def starts(server: FileServer) -> list[int]:
    """The first byte of each range request, in order."""
    return [int(r.range.split("=")[1].split("-")[0]) for r in server.contents_requests if r.range]


async def test_a_ranged_download_fetches_concurrent_chunks_and_verifies(tmp_path: Path) -> None:
    data = content_of(10 * CHUNK + 123)
    server = FileServer()
    server.add("big", "result.bin", data)
    seen: list[tuple[int, int]] = []
    async with client(server.transport()) as c:
        _, files = facades(c)
        done = await files.download(
            "big",
            tmp_path / "result.bin",
            chunk_size=CHUNK,
            connections=4,
            progress=lambda n, total: seen.append((n, total)),
        )
    assert (tmp_path / "result.bin").read_bytes() == data
    assert done.verified and done.size == len(data) and done.hash_function == "sha512"
    assert done.path == tmp_path / "result.bin"
    assert sorted(starts(server)) == [i * CHUNK for i in range(11)]  # each chunk once
    assert all(r.range and r.range.startswith("bytes=") for r in server.contents_requests)
    assert seen[-1] == (len(data), len(data)) and [n for n, _ in seen] == sorted(n for n, _ in seen)
    assert leftovers(tmp_path) == []


async def test_a_corrupted_chunk_is_detected_and_nothing_reaches_dest(tmp_path: Path) -> None:
    data = content_of(6 * CHUNK)
    server = FileServer(corrupt={4 * CHUNK + 17})
    server.add("big", "result.bin", data)
    async with client(server.transport()) as c:
        _, files = facades(c)
        with pytest.raises(ChecksumMismatchError) as caught:
            await files.download("big", tmp_path / "result.bin", chunk_size=CHUNK)
    message = str(caught.value)
    assert "result.bin (big)" in message and caught.value.expected[:16] in message
    assert caught.value.actual[:16] in message and caught.value.actual != caught.value.expected
    assert not (tmp_path / "result.bin").exists()
    assert leftovers(tmp_path) == []  # no temporary file, no sidecar


async def test_a_dropped_connection_resumes_its_chunk_from_the_byte_reached(
    tmp_path: Path,
) -> None:
    data = content_of(4 * CHUNK)
    server = FileServer(cuts={2}, cut_after=100_000, piece=10_000)  # the 2nd request breaks
    server.add("big", "result.bin", data)
    async with client(server.transport()) as c:
        _, files = facades(c)
        done = await files.download("big", tmp_path / "r.bin", chunk_size=CHUNK, connections=1)
    assert (tmp_path / "r.bin").read_bytes() == data and done.verified
    # chunk 1 broke after 100,000 bytes: only its rest was asked for again
    assert starts(server) == [0, CHUNK, CHUNK + 100_000, 2 * CHUNK, 3 * CHUNK]


async def test_a_body_that_ends_early_is_asked_again_for_the_rest(tmp_path: Path) -> None:
    data = content_of(2 * CHUNK)
    server = FileServer(short={1})
    server.add("big", "result.bin", data)
    async with client(server.transport()) as c:
        _, files = facades(c)
        done = await files.download("big", tmp_path / "r.bin", chunk_size=CHUNK, connections=1)
        assert done.verified and (tmp_path / "r.bin").read_bytes() == data
        assert starts(server) == [0, CHUNK // 2, CHUNK]

        server.short = set(range(100))  # every answer ends early: given up in the end
        with pytest.raises(DownloadError, match="keep ending before the end"):
            await files.download("big", tmp_path / "s.bin", chunk_size=CHUNK, connections=1)


async def test_a_server_that_ignores_ranges_streams_the_whole_file_once(tmp_path: Path) -> None:
    data = content_of(5 * CHUNK + 7)
    server = FileServer(honour_ranges=False)
    server.add("big", "result.bin", data)
    async with client(server.transport()) as c:
        _, files = facades(c)
        done = await files.download("big", tmp_path / "r.bin", chunk_size=CHUNK, connections=8)
    assert (tmp_path / "r.bin").read_bytes() == data and done.verified
    assert len(server.contents_requests) == 1  # the first answer was 200: no other request
    assert leftovers(tmp_path) == []


async def test_a_whole_stream_cut_off_starts_again_when_ranges_are_ignored(
    tmp_path: Path,
) -> None:
    data = content_of(3 * CHUNK)
    server = FileServer(honour_ranges=False, cuts={1}, cut_after=CHUNK)
    server.add("big", "result.bin", data)
    async with client(server.transport()) as c:
        _, files = facades(c)
        done = await files.download("big", tmp_path / "r.bin", chunk_size=CHUNK)
    assert (tmp_path / "r.bin").read_bytes() == data and done.verified
    assert len(server.contents_requests) == 2


async def test_a_later_call_resumes_what_an_interrupted_one_left(tmp_path: Path) -> None:
    data = content_of(8 * CHUNK)
    server = FileServer(fail_offsets={5 * CHUNK})  # chunk 5 fails on every try
    server.add("big", "result.bin", data)
    dest = tmp_path / "r.bin"
    async with client(server.transport()) as c:
        _, files = facades(c)
        with pytest.raises(InternalServerError):
            await files.download("big", dest, chunk_size=CHUNK, connections=1)
        assert not dest.exists()
        assert leftovers(tmp_path) == [".r.bin.part", ".r.bin.part.json"]
        first = set(starts(server))
        assert {0, CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK} <= first

        server.fail_offsets.clear()
        server.requests.clear()
        done = await files.download("big", dest, connections=1)  # chunk size from the sidecar
    assert dest.read_bytes() == data and done.verified
    assert starts(server) == [5 * CHUNK, 6 * CHUNK, 7 * CHUNK]  # only what was missing
    assert leftovers(tmp_path) == []


async def test_a_redirect_to_storage_goes_without_our_authorization(tmp_path: Path) -> None:
    data = content_of(3 * CHUNK)
    server = FileServer(redirect=True)
    server.add("big", "result.bin", data)
    async with client(server.transport()) as c:
        _, files = facades(c)
        done = await files.download("big", tmp_path, chunk_size=CHUNK)  # a directory: its name
    assert done.path == tmp_path / "result.bin" and done.path.read_bytes() == data
    api = [r for r in server.requests if r.host == "platform.test"]
    storage = [r for r in server.requests if r.host == "storage.test"]
    assert len(storage) == 3 and all(r.authorization is None for r in storage)
    assert all(r.range for r in storage)  # the range goes along
    assert api and all(r.authorization == f"Token {API_KEY}" for r in api)


async def test_a_file_without_checksums_or_bytes(tmp_path: Path) -> None:
    server = FileServer()
    server.add("empty", "empty.txt", b"")
    server.files["plain"] = b"no checksum"
    async with client(server.transport()) as c:
        _, files = facades(c)
        empty = await files.download("empty", tmp_path / "empty.txt")
        plain = File.model_validate(file_json("plain", "plain.txt", None, size=11))
        unchecked = await files.download(plain, tmp_path / "plain.txt")
        unsized = File.model_validate(file_json("plain", "plain.txt", None, size=None))
        streamed = await files.download(unsized, tmp_path / "unsized.txt")
        with pytest.raises(ValueError, match="connections must be"):
            await files.download("empty", tmp_path / "x", connections=0)
    assert empty.verified and (tmp_path / "empty.txt").read_bytes() == b""
    assert not unchecked.verified and (tmp_path / "plain.txt").read_bytes() == b"no checksum"
    assert streamed.size == 11 and (tmp_path / "unsized.txt").read_bytes() == b"no checksum"
    assert not any(r.path.endswith("/contents/") for r in server.requests[:1])  # empty: no body


async def test_a_server_sending_more_than_the_file_has_is_refused(tmp_path: Path) -> None:
    server = FileServer(honour_ranges=False)
    server.add("f", "f.bin", b"x" * 1000)
    lying = File.model_validate(file_json("f", "f.bin", b"x" * 10))  # says 10 bytes
    async with client(server.transport()) as c:
        _, files = facades(c)
        with pytest.raises(DownloadError, match="more than the 10 bytes"):
            await files.download(lying, tmp_path / "f.bin")
    assert not (tmp_path / "f.bin").exists()


async def test_memory_stays_bounded_whatever_the_file_size(tmp_path: Path) -> None:
    size = 32 * MiB
    data = content_of(size)
    server = FileServer(piece=256 * 1024)
    server.add("big", "big.bin", data)
    async with client(server.transport()) as c:
        _, files = facades(c)
        meta = await files.get("big")
        tracemalloc.start()
        try:
            done = await files.download(
                meta, tmp_path / "big.bin", chunk_size=2 * MiB, connections=4
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert done.verified and done.size == size
    assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB file"


async def test_a_client_error_is_not_retried_per_chunk(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/contents/"):
            return httpx.Response(403, json={"detail": "You do not have permission."})
        return None

    server = FileServer(extra=refuse)
    server.add("big", "r.bin", content_of(CHUNK))
    async with client(server.transport()) as c:
        _, files = facades(c)
        with pytest.raises(Exception, match="permission"):
            await files.download("big", tmp_path / "r.bin")
    assert not (tmp_path / "r.bin").exists()


@pytest.mark.parametrize(
    ("size_mib", "connections", "chunks"),
    [(1024, 10, 40), (256, 10, 30), (100, 10, 10), (20, 10, 3), (4096, 10, 64)],
)
def test_chunks_come_in_whole_rounds_over_the_connections(
    size_mib: int, connections: int, chunks: int
) -> None:
    size = size_mib * 1024 * 1024
    chunk = chunk_size_for(size, connections)
    assert 8 * 1024 * 1024 <= chunk <= 64 * 1024 * 1024
    assert math.ceil(size / chunk) == chunks
