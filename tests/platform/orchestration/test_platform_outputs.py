"""``download_outputs``: every output of a job, concurrently, in its relative path; nothing
clobbered, nothing written outside the directory; uploads that never hold a file whole.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest
from transfer_support import (
    FileServer,
    MiB,
    client,
    content_of,
    facades,
    file_json,
    page,
)

from rescale_async.platform.orchestration import DownloadError

JOB = "ObMcJc"


def with_job_files(server: FileServer, listed: list[dict[str, Any]]) -> None:
    """``GET jobs/{JOB}/files/`` answers ``listed``."""

    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == f"/api/v2/jobs/{JOB}/files/":
            return httpx.Response(200, json=page(listed))
        return None

    server.extra = answer


async def test_every_output_lands_in_its_relative_path(tmp_path: Path) -> None:
    server = FileServer()
    contents = {
        "log": ("process_output.log", b"hello\n"),
        "res": ("run1/results/pi.res", content_of(700_000, seed=2)),
        "bin": ("run1/pi.bin", content_of(3 * MiB, seed=3)),
    }
    listed = []
    for file_id, (relative, data) in contents.items():
        server.add(file_id, relative.rsplit("/", 1)[-1], data)
        listed.append(file_json(file_id, relative.rsplit("/", 1)[-1], data, relativePath=relative))
    with_job_files(server, listed)
    seen: list[tuple[int, int]] = []
    async with client(server.transport()) as c:
        jobs, files = facades(c)
        done = await files.download_outputs(
            JOB,
            tmp_path,
            chunk_size=MiB,
            connections=3,
            progress=lambda n, total: seen.append((n, total)),
        )
        again = await jobs.download_outputs(JOB, tmp_path / "again")
    assert [d.file.id for d in done] == ["log", "res", "bin"]
    for relative, data in contents.values():
        assert (tmp_path / relative).read_bytes() == data
        assert (tmp_path / "again" / relative).read_bytes() == data
    assert all(d.verified for d in [*done, *again])
    total = sum(len(data) for _, data in contents.values())
    assert seen[-1] == (total, total)
    # the listing's metadata was enough: no GET files/{id}/ per output
    assert not [
        r for r in server.requests if r.path.startswith("/api/v2/files/") and r.path.count("/") == 5
    ]


async def test_outputs_on_the_same_path_do_not_clobber_each_other(tmp_path: Path) -> None:
    server = FileServer()
    one, two, three = b"first", b"second", b"third"
    server.add("a1", "out.txt", one)
    server.add("a2", "out.txt", two)
    server.add("a3", "OUT.txt", three)
    with_job_files(
        server,
        [
            file_json("a1", "out.txt", one, relativePath="out.txt"),
            file_json("a2", "out.txt", two, relativePath="out.txt"),
            file_json("a3", "OUT.txt", three, relativePath="OUT.txt"),  # a case-blind disk
        ],
    )
    async with client(server.transport()) as c:
        _, files = facades(c)
        done = await files.download_outputs(JOB, tmp_path)
    assert [d.path.name for d in done] == ["out.txt", "out.a2.txt", "OUT.a3.txt"]
    assert [d.path.read_bytes() for d in done] == [one, two, three]


@pytest.mark.parametrize("relative", ["../escape.txt", "/etc/passwd", "a/../../b", "C:/x.txt"])
async def test_a_path_escaping_the_directory_is_refused(tmp_path: Path, relative: str) -> None:
    server = FileServer()
    server.add("bad", "x.txt", b"evil")
    server.add("ok", "fine.txt", b"fine")
    with_job_files(
        server,
        [
            file_json("ok", "fine.txt", b"fine", relativePath="fine.txt"),
            file_json("bad", "x.txt", b"evil", relativePath=relative),
        ],
    )
    target = tmp_path / "out"
    async with client(server.transport()) as c:
        _, files = facades(c)
        with pytest.raises(DownloadError, match="not inside the job's directory"):
            await files.download_outputs(JOB, target)
    assert not target.exists()  # refused before anything was written
    assert not server.contents_requests


async def test_a_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "out"
    target.mkdir()
    (target / "link").symlink_to(outside)
    server = FileServer()
    server.add("f", "x.txt", b"data")
    with_job_files(server, [file_json("f", "x.txt", b"data", relativePath="link/x.txt")])
    async with client(server.transport()) as c:
        _, files = facades(c)
        with pytest.raises(DownloadError, match="outside"):
            await files.download_outputs(JOB, target)
    assert list(outside.iterdir()) == []


class ConsumingTransport(httpx.AsyncBaseTransport):
    """Reads an upload's body as it streams (hashing it), then answers the File it made."""

    def __init__(self) -> None:
        self.received = 0
        self.tail = b""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v2/files/contents/"
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for chunk in request.stream:
            self.received += len(chunk)
            self.tail = (self.tail + chunk)[-64:]
        body = file_json("up1", "big.bin", None, size=self.received, typeId=1)
        return httpx.Response(201, content=json.dumps(body).encode())


async def test_an_upload_never_holds_the_file_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    size = 24 * MiB
    with path.open("wb") as out:
        for seed in range(size // MiB):
            out.write(content_of(MiB, seed=seed))
    transport = ConsumingTransport()
    seen: list[tuple[int, int]] = []
    async with client(transport) as c:
        _, files = facades(c)
        tracemalloc.start()
        try:
            uploaded = await files.upload(path, progress=lambda n, total: seen.append((n, total)))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert uploaded.id == "up1"
    assert transport.received > size  # the file and the multipart framing
    assert transport.tail.endswith(b"--\r\n")  # the body was sent to its end
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB uploading {size / MiB:.0f} MiB"
