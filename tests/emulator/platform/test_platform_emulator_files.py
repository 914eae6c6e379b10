"""Platform files: streamed multipart uploads, metadata, lines, and ranged contents."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncGenerator
from contextlib import aclosing

import pytest
from platform_emulator_support import content, every, ok, platform, quick, upload

from rescale_async.emulator.platform._multipart import (
    MultipartError,
    MultipartReader,
    boundary_of,
)

DATA = bytes(range(256)) * 40  # 10240 bytes


async def test_an_upload_is_stored_with_its_size_and_sha512() -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several write chunks, an odd tail
    async with platform() as (emu, http):
        document = await upload(http, "dir\\big input.bin", payload)
        assert document["name"] == "big input.bin"  # the directory part is dropped
        assert document["typeId"] == 1
        assert document["decryptedSize"] == len(payload)
        assert document["fileChecksums"] == [
            {"hashFunction": "sha512", "fileHash": hashlib.sha512(payload).hexdigest()}
        ]
        assert document["downloadUrl"] == (
            f"http://htc-emulator/api/v2/files/{document['id']}/contents/"
        )
        assert document["dateUploaded"].endswith("-07:00")
        record = emu.platform.files[document["id"]]
        assert record.path.read_bytes() == payload
        assert (await content(http, document["id"])).content == payload


async def test_uploads_need_a_multipart_part_named_file() -> None:
    async with platform() as (_, http):
        wrong_part = await http.post("files/contents/", files={"data": ("a.txt", b"a")})
        assert wrong_part.status_code == 400
        assert wrong_part.json() == {"file": ["No file was submitted."]}
        not_multipart = await http.post("files/contents/", json={"file": "a"})
        assert not_multipart.status_code == 415
        truncated = await http.post(
            "files/contents/",
            content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nab',
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
        assert truncated.status_code == 400
        assert truncated.json()["detail"].startswith("Multipart form parse error")


async def test_files_are_listed_searched_updated_and_deleted() -> None:
    async with platform() as (emu, http):
        first = await upload(http, "testfile.1", b"one")
        second = await upload(http, "other.txt", b"line one\nline two\nno newline")
        listed = await every(http, "files/")
        assert [f["id"] for f in listed] == [second["id"], first["id"]]  # newest first
        assert [f["id"] for f in await every(http, "files/", search="TESTFILE")] == [first["id"]]
        updated = await ok(await http.patch(f"files/{first['id']}/", json={"typeId": 4}))
        assert updated["typeId"] == 4
        refused = await http.patch(f"files/{first['id']}/", json={"typeId": 99})
        assert refused.status_code == 400
        assert refused.json() == {"typeId": ['"99" is not a valid choice.']}
        lines = await ok(await http.get(f"files/{second['id']}/lines/"))
        assert lines == {"lines": ["line one\n", "line two\n", "no newline"]}
        assert (await http.delete(f"files/{first['id']}/")).status_code == 204
        assert (await http.get(f"files/{first['id']}/")).status_code == 404
        assert (await content(http, first["id"])).status_code == 404
        assert not emu.platform.files[first["id"]].path.exists()
        assert [f["id"] for f in await every(http, "files/")] == [second["id"]]


async def test_contents_honour_ranges() -> None:
    async with platform() as (emu, http):
        file_id = (await upload(http, "data.bin", DATA))["id"]
        whole = await content(http, file_id)
        assert whole.status_code == 200
        assert whole.headers["accept-ranges"] == "bytes"
        assert whole.content == DATA
        part = await content(http, file_id, Range="bytes=100-299")
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-299/{len(DATA)}"
        assert part.headers["content-length"] == "200"
        assert part.content == DATA[100:300]
        past_end = await content(http, file_id, Range=f"bytes=10000-{len(DATA) + 1}")
        assert past_end.status_code == 206  # the tutorial's last chunk asks past the end
        assert past_end.headers["content-range"] == f"bytes 10000-10239/{len(DATA)}"
        assert past_end.content == DATA[10000:]
        open_ended = await content(http, file_id, Range="bytes=10200-")
        assert open_ended.content == DATA[10200:]
        suffix = await content(http, file_id, Range="bytes=-16")
        assert suffix.content == DATA[-16:]
        beyond = await content(http, file_id, Range=f"bytes={len(DATA)}-")
        assert beyond.status_code == 416
        assert beyond.headers["content-range"] == f"bytes */{len(DATA)}"
        head = await http.head(f"files/{file_id}/contents/")
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(DATA))
        assert head.content == b""
        several = await content(http, file_id, Range="bytes=0-1,5-6")
        assert several.status_code == 200  # a server may answer several ranges whole
        assert several.content == DATA
        assert emu.counters.responses[("GET /files/{fileId}/contents/", 206)] == 4


async def test_contents_can_ignore_ranges() -> None:
    async with platform(quick(ignore_range=True)) as (_, http):
        file_id = (await upload(http, "data.bin", DATA))["id"]
        response = await content(http, file_id, Range="bytes=0-9")
        assert response.status_code == 200
        assert "accept-ranges" not in response.headers
        assert response.content == DATA


async def _chunks(data: bytes, size: int) -> AsyncGenerator[bytes, None]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


BODY = (
    b"preamble\r\n--BOUND\r\n"
    b'Content-Disposition: form-data; name="note"\r\n\r\n'
    b"hello\r\n--BOUND\r\n"
    b"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt\r\n"
    b"Content-Type: text/plain\r\n\r\n"
    b"a\r\n--BOUN not yet\r\n--BOUND\r\n"
    b'Content-Disposition: form-data; name="empty"; filename="x;\\"y\\".txt"\r\n\r\n'
    b"\r\n--BOUND--\r\nepilogue"
)


@pytest.mark.parametrize("size", [1, 2, 7, 64, len(BODY)])
async def test_the_multipart_reader_splits_parts_across_any_chunking(size: int) -> None:
    found = []
    async with aclosing(_chunks(BODY, size)) as chunks:
        reader = MultipartReader(chunks, b"BOUND")
        while (part := await reader.next_part()) is not None:
            data = b""
            while piece := await reader.read():
                data += piece
            found.append((part.name, part.filename, part.content_type, data))
    assert found == [
        ("note", None, None, b"hello"),
        ("file", "résumé.txt", "text/plain", b"a\r\n--BOUN not yet"),
        ("empty", 'x;"y".txt', None, b""),
    ]


async def test_the_multipart_reader_refuses_a_body_without_its_end() -> None:
    body = b'--B\r\nContent-Disposition: form-data; name="f"\r\n\r\nab'
    async with aclosing(_chunks(body, 3)) as chunks:
        reader = MultipartReader(chunks, b"B")
        assert await reader.next_part() is not None
        with pytest.raises(MultipartError):
            await _drain(reader)


async def _drain(reader: MultipartReader) -> None:
    while await reader.read():
        pass


def test_only_multipart_form_data_has_a_boundary() -> None:
    assert boundary_of('multipart/form-data; boundary="a b"') == b"a b"
    assert boundary_of("multipart/form-data; charset=utf-8; boundary=xyz") == b"xyz"
    assert boundary_of("application/json") is None
    assert boundary_of("multipart/form-data") is None
