"""Files: upload (streamed multipart), list, get, update, delete, contents (ranges), lines."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from starlette.responses import Response

from .._errors import bad_request, detail
from .._files import FileSlice, RangeNotSatisfiable, byte_range, open_for_reading
from .._multipart import MultipartError, MultipartReader, boundary_of
from .._records import FileRecord
from .._views import file_document
from ._base import Call, RouteSpec, json_response

__all__ = ["MAX_LINES_BYTES", "routes"]

FILE = "/files/{fileId}/"
FILE_TYPES = frozenset({1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12})
MAX_LINES_BYTES = 16 * 1024 * 1024
"""Largest file ``lines/`` returns (a bigger one: 400; download it instead)."""


def routes() -> list[RouteSpec]:
    return [
        RouteSpec("POST", "/files/contents/", upload),
        RouteSpec("GET", "/files/", list_files),
        RouteSpec("GET", FILE, get_file),
        RouteSpec("PATCH", FILE, update_file),
        RouteSpec("DELETE", FILE, delete_file),
        RouteSpec("GET", FILE + "contents/", contents),
        RouteSpec("GET", FILE + "lines/", lines),
    ]


async def upload(call: Call) -> Response:
    """Store the part named ``file`` of a multipart body (streamed to disk): 201, a File."""
    state = call.state
    content_type = call.request.headers.get("content-type", "")
    boundary = boundary_of(content_type)
    if boundary is None:
        raise detail(415, f'Unsupported media type "{content_type}" in request.')
    received: tuple[str, Path, int, str] | None = None
    try:
        async with aclosing(call.request.stream()) as chunks:
            reader = MultipartReader(chunks, boundary)
            while (part := await reader.next_part()) is not None:
                if part.name == "file" and part.filename is not None and received is None:
                    file_id = state.new_id()
                    path, size, digest = await state.store.receive(file_id, part.filename, reader)
                    received = (file_id, path, size, digest)
            async for _ in chunks:  # the epilogue: read the body to its end
                pass
    except MultipartError as exc:
        if received is not None:
            await state.store.remove(received[0])
        raise detail(400, f"Multipart form parse error - {exc}") from None
    if received is None:
        raise bad_request({"file": ["No file was submitted."]})
    file_id, path, size, digest = received
    record = state.register_file(file_id, path.name, path, size, digest)
    return json_response(file_document(record, call.root), 201)


async def list_files(call: Call) -> Response:
    """The user's files (inputs and outputs), newest first; ``search`` filters by name."""
    search = call.request.query_params.get("search", "").lower()
    chosen = [r for r in reversed(call.state.live_files()) if search in r.name.lower()]
    return call.page(chosen, lambda record: file_document(record, call.root))


async def get_file(call: Call) -> Response:
    return json_response(file_document(call.state.file(call.path("fileId")), call.root))


def _changes(body: Any) -> dict[str, Any]:
    """The fields a PATCH may change (``typeId``, ``name``), checked; 400 otherwise."""
    if not isinstance(body, dict):
        raise bad_request({"non_field_errors": ["Invalid data. Expected a dictionary."]})
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if "typeId" in body:
        value = body["typeId"]
        if isinstance(value, bool) or not isinstance(value, int) or value not in FILE_TYPES:
            errors["typeId"] = [f'"{value}" is not a valid choice.']
        else:
            changes["type_id"] = value
    if "name" in body:
        value = body["name"]
        if not isinstance(value, str) or not value.strip():
            errors["name"] = ["This field may not be blank."]
        else:
            changes["name"] = value
    if errors:
        raise bad_request(errors)
    return changes


async def update_file(call: Call) -> Response:
    record = call.state.file(call.path("fileId"))
    for name, value in _changes(await call.body()).items():
        setattr(record, name, value)
    return json_response(file_document(record, call.root))


async def delete_file(call: Call) -> Response:
    """Delete a file and its bytes: 204."""
    record = call.state.file(call.path("fileId"))
    record.deleted = True
    if record.job_id is None:
        await call.state.store.remove(record.file_id)
    else:
        await anyio.to_thread.run_sync(_unlink, record.path)
    return Response(status_code=204)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _disposition(record: FileRecord) -> str:
    return f"attachment; filename*=UTF-8''{quote(record.name)}"


async def contents(call: Call) -> Response:
    """The file's bytes streamed from disk: 200 whole, or 206 for a ``Range: bytes=a-b``
    (a range past the end clamped; one starting past it: 416). With ``ignore_range`` every
    answer is 200 whole.
    """
    record = call.state.file(call.path("fileId"))
    headers = {"content-disposition": _disposition(record)}
    size = record.size
    span: tuple[int, int] | None = None
    if not call.settings.ignore_range:
        headers["accept-ranges"] = "bytes"
        try:
            span = byte_range(call.request.headers.get("range"), size)
        except RangeNotSatisfiable:
            return Response(status_code=416, headers={"content-range": f"bytes */{size}"})
    handle = await open_for_reading(record.path)
    if handle is None:
        raise detail(404, "Not found.")
    if span is None:
        return FileSlice(handle, 0, size, status_code=200, headers=headers)
    first, last = span
    headers["content-range"] = f"bytes {first}-{last}/{size}"
    return FileSlice(handle, first, last - first + 1, status_code=206, headers=headers)


def _read_lines(path: Path) -> list[str]:
    if path.stat().st_size > MAX_LINES_BYTES:
        raise ValueError("too large")
    return path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)


async def lines(call: Call) -> Response:
    """The file as text lines (each with its line break): ``{"lines": [...]}``."""
    record = call.state.file(call.path("fileId"))
    try:
        found = await anyio.to_thread.run_sync(_read_lines, record.path)
    except FileNotFoundError:
        raise detail(404, "Not found.") from None
    except ValueError:
        raise detail(
            400, f"The file is larger than {MAX_LINES_BYTES} bytes: download its contents."
        ) from None
    return json_response({"lines": found})
