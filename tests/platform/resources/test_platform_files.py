"""``client.files``: metadata endpoints, streamed upload, streamed (ranged) contents."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from platform_support import API_KEY, BASE_URL, FILE, api, client, file_json, page, query, sent
from pydantic import ValidationError

from rescale_async import (
    APIConnectionError,
    InternalServerError,
    PermissionDeniedError,
    RescaleError,
)
from rescale_async.platform.types import File, FileType

FILE_PATH = f"/files/{FILE}/"


def multipart_parts(request: httpx.Request) -> list[tuple[object, object, object]]:
    """(field name, filename, content) of each part of a multipart request."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]


# --- metadata ---------------------------------------------------------------------------------


async def test_get_list_update_delete_lines() -> None:
    async with api() as (router, c):
        router.get(FILE_PATH).respond(json=file_json())
        listing = router.get("/files/").respond(json=page([file_json(), file_json("f2")]))
        patch = router.patch(FILE_PATH).respond(json=file_json(typeId=4))
        delete = router.delete(FILE_PATH).respond(204)
        router.get(f"{FILE_PATH}lines/").respond(json={"lines": ["Traceback...\n", "Error\n"]})
        file = await c.files.get(FILE)
        files = await c.files.list(search="out").to_list()
        script = await c.files.update(file, type_id=FileType.SCRIPT)
        await c.files.delete(file)
        lines = await c.files.lines(FILE)
        with pytest.raises(ValidationError):
            await c.files.update(FILE, name="")
    assert isinstance(file, File) and file.size == 1234 and file.sha512 == "ab" * 64
    assert file.type_id is FileType.OUTPUT
    assert [f.id for f in files] == [FILE, "f2"]
    assert query(listing) == {"search": "out", "page_size": "1000"}
    assert sent(patch) == {"typeId": 4} and script.type_id is FileType.SCRIPT
    assert delete.call_count == 1
    assert lines == ["Traceback...\n", "Error\n"]


# --- upload -----------------------------------------------------------------------------------


async def test_upload_sends_one_multipart_part_named_file(tmp_path: Path) -> None:
    source = tmp_path / 'range "1".inp'
    source.write_bytes(b"1000000\n" * 1000)
    seen: list[tuple[int, int]] = []
    async with api() as (router, c):
        route = router.post("/files/contents/").respond(201, json=file_json(typeId=1))
        uploaded = await c.files.upload(
            source, progress=lambda done, total: seen.append((done, total)), chunk_size=3000
        )
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Token {API_KEY}"
    assert int(request.headers["content-length"]) == len(request.content)
    assert "transfer-encoding" not in request.headers
    assert multipart_parts(request) == [("file", "range %221%22.inp", source.read_bytes())]
    assert seen == [(0, 8000), (3000, 8000), (6000, 8000), (8000, 8000)]
    assert uploaded.type_id is FileType.INPUT


async def test_upload_of_another_type_patches_it_after(tmp_path: Path) -> None:
    source = tmp_path / "run.sh"
    source.write_text("echo hi\n")
    async with api() as (router, c):
        router.post("/files/contents/").respond(201, json=file_json(typeId=1))
        patch = router.patch(FILE_PATH).respond(json=file_json(typeId=4))
        uploaded = await c.files.upload(source, type_id=4, name="renamed.sh")
        body = router.calls[0].request
    assert multipart_parts(body)[0][1] == "renamed.sh"
    assert sent(patch) == {"typeId": 4} and uploaded.type_id is FileType.SCRIPT


async def test_upload_of_a_missing_file_fails_before_any_request(tmp_path: Path) -> None:
    async with api() as (router, c):
        with pytest.raises(FileNotFoundError):
            await c.files.upload(tmp_path / "absent")
        with pytest.raises(IsADirectoryError):
            await c.files.upload(tmp_path)
        assert not router.calls


async def test_upload_is_not_resent_after_a_5xx(tmp_path: Path) -> None:
    source = tmp_path / "in.dat"
    source.write_bytes(b"x" * 10)
    async with api() as (router, c):
        route = router.post("/files/contents/").respond(502, text="<title>Bad Gateway</title>")
        with pytest.raises(InternalServerError, match="Bad Gateway"):
            await c.files.upload(source)
    assert route.call_count == 1


class DiscardingTransport(httpx.AsyncBaseTransport):
    """Reads each request body chunk by chunk (hashing, keeping nothing); the first
    ``refuse`` requests fail to connect before reading anything.
    """

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.received: list[tuple[int, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse:
            self.refuse -= 1
            raise httpx.ConnectError("connection refused", request=request)
        digest = hashlib.sha256()
        size = 0
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for chunk in request.stream:
            digest.update(chunk)
            size += len(chunk)
        self.received.append((size, digest.hexdigest()))
        return httpx.Response(201, json=file_json(typeId=1, decryptedSize=size))


async def test_a_large_upload_streams_from_disk_within_a_small_memory_bound(tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    source = tmp_path / "big.bin"
    with source.open("wb") as handle:  # sparse: quick to make, read back as zeros
        handle.truncate(size)
    transport = DiscardingTransport()
    calls = 0

    def progress(done: int, total: int) -> None:
        nonlocal calls
        calls += 1

    async with client(transport=transport) as c:
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            await c.files.upload(source, progress=progress)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert transport.received[0][0] > size
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte file"
    assert calls == 65  # the start, then one per 1 MiB chunk


async def test_an_upload_refused_at_connect_is_sent_again_whole(tmp_path: Path) -> None:
    source = tmp_path / "in.dat"
    source.write_bytes(bytes(range(256)) * 100)
    transport = DiscardingTransport(refuse=1)
    async with client(transport=transport) as c:
        await c.files.upload(source, chunk_size=1000)
    assert len(transport.received) == 1
    assert transport.received[0][0] > source.stat().st_size


# --- contents ---------------------------------------------------------------------------------


async def test_contents_asks_for_a_range_and_tells_partial_content() -> None:
    async with api() as (router, c):
        route = router.get(f"{FILE_PATH}contents/").respond(
            206, content=b"abcd", headers={"Content-Range": "bytes 10-13/100"}
        )
        async with c.files.contents(FILE, range=(10, 13)) as content:
            body = b"".join([chunk async for chunk in content.aiter_bytes()])
            assert content.is_partial and content.status_code == 206
            assert content.content_range is not None and content.content_range.length == 4
            assert (content.content_range.first, content.total_size) == (10, 100)
        async with c.files.contents(FILE, range=(10, None)):
            pass
    assert body == b"abcd"
    headers = route.calls[0].request.headers
    assert headers["range"] == "bytes=10-13" and headers["accept-encoding"] == "identity"
    assert route.calls[1].request.headers["range"] == "bytes=10-"


async def test_contents_of_a_server_that_ignores_ranges_is_the_whole_file() -> None:
    async with api() as (router, c):
        router.get(f"{FILE_PATH}contents/").respond(200, content=b"0123456789")
        async with c.files.contents(FILE, range=(2, 3)) as content:
            assert not content.is_partial and content.content_range is None
            assert content.total_size == 10 == content.content_length
            assert b"".join([chunk async for chunk in content.aiter_bytes(4)]) == b"0123456789"


@pytest.mark.parametrize("bad", [(-1, 3), (5, 4)])
async def test_a_range_that_is_not_one_fails_before_any_request(bad: tuple[int, int]) -> None:
    async with api() as (router, c):
        with pytest.raises(ValueError, match="first <= last"):
            async with c.files.contents(FILE, range=bad):
                pass
        assert not router.calls


async def test_a_redirect_to_storage_is_followed_without_authorization() -> None:
    storage = "https://storage.test/bucket/blob?sig=abc"
    async with api() as (router, c):
        router.get(f"{FILE_PATH}contents/").respond(302, headers={"Location": storage})
        blob = router.get(storage).respond(
            206, content=b"xy", headers={"Content-Range": "bytes 0-1/2"}
        )
        async with c.files.contents(FILE, range=(0, 1)) as content:
            assert b"".join([chunk async for chunk in content.aiter_bytes()]) == b"xy"
            assert content.url.host == "storage.test"
        first = router.calls[0].request
    assert first.headers["authorization"] == f"Token {API_KEY}"
    sent_to_storage = blob.calls.last.request
    assert "authorization" not in sent_to_storage.headers
    assert sent_to_storage.headers["range"] == "bytes=0-1"


async def test_a_same_origin_redirect_keeps_authorization() -> None:
    async with api() as (router, c):
        router.get(f"{FILE_PATH}contents/").respond(
            302, headers={"Location": f"{BASE_URL}/blobs/1"}
        )
        blob = router.get("/blobs/1").respond(200, content=b"z")
        async with c.files.contents(FILE) as content:
            assert b"".join([chunk async for chunk in content.aiter_bytes()]) == b"z"
    assert blob.calls.last.request.headers["authorization"] == f"Token {API_KEY}"


async def test_contents_rides_out_a_5xx_before_the_body() -> None:
    async with api() as (router, c):
        route = router.get(f"{FILE_PATH}contents/").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, content=b"ok")]
        )
        async with c.files.contents(FILE) as content:
            assert b"".join([chunk async for chunk in content.aiter_bytes()]) == b"ok"
    assert route.call_count == 2


class BreakingStream(httpx.AsyncByteStream):
    """A body whose connection drops after the first chunk."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"first"
        raise httpx.ReadError("connection reset by peer")


async def test_a_connection_lost_midway_raises_the_sdks_connection_error() -> None:
    async with api() as (router, c):
        router.get(f"{FILE_PATH}contents/").respond(200, stream=BreakingStream())
        received: list[bytes] = []

        async def download() -> None:
            async with c.files.contents(FILE) as content:
                async for chunk in content.aiter_bytes():
                    received.append(chunk)

        with pytest.raises(APIConnectionError, match="ReadError while reading the body"):
            await download()
    assert received == [b"first"]


async def test_an_error_answer_is_raised_with_its_message_and_the_slot_is_freed() -> None:
    async with api(max_concurrency=1) as (router, c):
        router.get(f"{FILE_PATH}contents/").respond(403, json={"detail": "Not allowed."})
        router.get(FILE_PATH).respond(json=file_json())
        with pytest.raises(PermissionDeniedError, match=r"403: Not allowed\."):
            async with c.files.contents(FILE):
                pass
        assert (await c.files.get(FILE)).id == FILE  # the one slot is free again


def test_the_file_encryption_key_stays_out_of_reprs() -> None:
    file = File.model_validate(file_json())
    assert "ENC-KEY-SECRET" not in repr(file) and "ENC-KEY-SECRET" not in str(file)
    assert json.dumps(file.to_api()).count("ENC-KEY-SECRET") == 1


async def test_a_file_that_shrinks_during_its_upload_fails_clearly(tmp_path: Path) -> None:
    source = tmp_path / "growing.log"
    source.write_bytes(b"x" * 3000)

    def shrink(done: int, total: int) -> None:
        if done == 1000:
            source.write_bytes(b"x" * 1500)

    async with api() as (router, c):
        router.post("/files/contents/").respond(201, json=file_json())
        with pytest.raises(RescaleError, match="changed while it was being uploaded"):
            await c.files.upload(source, progress=shrink, chunk_size=1000)
