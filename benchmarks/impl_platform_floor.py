"""(f)'s floors: plain ``httpx.AsyncClient`` putting a file's bytes on disk with nothing else.

``download`` fetches the same ranges the SDK asks for (handed over by the runner),
``connections`` at a time, each connection taking the next range when it is done, every piece
written at its offset as it arrives; ``single_stream`` is one GET of the whole file. No
metadata request, no retries, no hashing (the runner checks each file's SHA-512 afterwards):
the time bytes alone take on this server.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

import anyio
import httpx

__all__ = ["download", "single_stream"]

TIMEOUT = httpx.Timeout(300.0)
PIECE = 1024 * 1024


def _client(params: dict[str, Any], connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=params["base_url"] + "/",
        headers={"Authorization": f"Token {params['api_key']}"},
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def download(params: dict[str, Any]) -> dict[str, Any]:
    """The runner's ``ranges`` (inclusive ``[first, last]`` pairs), ``connections`` at once."""
    url = f"files/{params['file_id']}/contents/"
    pending: deque[tuple[int, int]] = deque(tuple(pair) for pair in params["ranges"])
    received = 0
    fd = os.open(params["dest"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        async with _client(params, params["connections"]) as http:

            async def connection() -> None:
                nonlocal received
                while pending:
                    first, last = pending.popleft()
                    offset = first
                    async with http.stream(
                        "GET", url, headers={"Range": f"bytes={first}-{last}"}
                    ) as response:
                        if response.status_code != 206:
                            raise RuntimeError(f"expected 206, got {response.status_code}")
                        async for piece in response.aiter_bytes(PIECE):
                            offset += os.pwrite(fd, piece, offset)
                    received += offset - first

            async with anyio.create_task_group() as group:
                for _ in range(min(params["connections"], len(pending))):
                    group.start_soon(connection)
    finally:
        os.close(fd)
    return {"bytes": received, "requests": len(params["ranges"])}


async def single_stream(params: dict[str, Any]) -> dict[str, Any]:
    """One GET of the whole file, streamed to disk."""
    received = 0
    async with (
        _client(params, 1) as http,
        await anyio.open_file(params["dest"], "wb") as out,
        http.stream("GET", f"files/{params['file_id']}/contents/") as response,
    ):
        response.raise_for_status()
        async for piece in response.aiter_bytes(PIECE):
            await out.write(piece)
            received += len(piece)
    return {"bytes": received, "requests": 1}
