"""Helpers for the platform emulator tests: a quick emulator, raw v2 calls, job bodies."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from rescale_async.emulator import Emulator, PlatformConfig

FAST_PLATFORM = PlatformConfig(status_delay=0.01)
"""Platform settings that keep tests quick."""


@asynccontextmanager
async def platform(
    settings: PlatformConfig = FAST_PLATFORM, **overrides: Any
) -> AsyncIterator[tuple[Emulator, httpx.AsyncClient]]:
    """A running emulator with quick platform settings, and a plain client on ``/api/v2/``."""
    async with (
        Emulator(platform=settings, seed=11, kill_grace=0.5, **overrides) as emu,
        emu.platform_http() as http,
    ):
        yield emu, http


def quick(**fields: Any) -> PlatformConfig:
    """``FAST_PLATFORM`` with ``fields`` changed."""
    return dataclasses.replace(FAST_PLATFORM, **fields)


def analysis(
    command: str,
    *,
    core: str = "granite",
    cores: int = 2,
    inputs: tuple[dict[str, Any], ...] = (),
    walltime: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """One ``jobanalyses`` entry running ``command`` with Bring Your Own Software."""
    return {
        "analysis": {"code": "user_included", "version": "0"},
        "command": command,
        "hardware": {"coreType": core, "coresPerSlot": cores, "walltime": walltime},
        "inputFiles": list(inputs),
        **extra,
    }


def job_body(*analyses: dict[str, Any], name: str = "emulated job") -> dict[str, Any]:
    return {"name": name, "jobanalyses": list(analyses)}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


async def upload(http: httpx.AsyncClient, name: str, content: bytes) -> dict[str, Any]:
    """``POST files/contents/``; the File."""
    result: dict[str, Any] = await ok(
        await http.post("files/contents/", files={"file": (name, content)}), 201
    )
    return result


async def create(http: httpx.AsyncClient, body: dict[str, Any]) -> str:
    """``POST jobs/``; the new job's id."""
    return str((await ok(await http.post("jobs/", json=body), 201))["id"])


async def submit(http: httpx.AsyncClient, job_id: str) -> None:
    response = await http.post(f"jobs/{job_id}/submit/")
    assert response.status_code == 200, response.text
    assert response.content == b""


async def run(
    emu: Emulator, http: httpx.AsyncClient, body: dict[str, Any], *, until_stopped: bool = True
) -> str:
    """Create and submit a job, wait until it is Completed (and its cluster Stopped)."""
    job_id = await create(http, body)
    await submit(http, job_id)
    with anyio.fail_after(20):
        await emu.platform.wait_for(job_id, cluster="Stopped" if until_stopped else None)
    return job_id


async def every(http: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged listing, following ``next``."""
    items: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = params
    while url is not None:
        page = await ok(await http.get(url, params=query))
        items += page["results"]
        url, query = page["next"], None
    return items


async def statuses(http: httpx.AsyncClient, job_id: str) -> list[tuple[str, str | None]]:
    """The job's (status, reason) pairs as listed (newest first)."""
    found = await every(http, f"jobs/{job_id}/statuses/")
    return [(entry["status"], entry["statusReason"]) for entry in found]


async def outputs(http: httpx.AsyncClient, job_id: str, **params: Any) -> dict[str, dict[str, Any]]:
    """The job's output files by relative path."""
    return {f["relativePath"]: f for f in await every(http, f"jobs/{job_id}/files/", **params)}


async def content(http: httpx.AsyncClient, file_id: str, **headers: str) -> httpx.Response:
    return await http.get(f"files/{file_id}/contents/", headers=headers)
