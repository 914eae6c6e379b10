"""Helpers for the emulator tests: a quick emulator, raw API calls, job definitions."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import httpx

from rescale_async.emulator import Emulator

SPEC_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "api"
PATCHED_SPEC = SPEC_DIR / "htc-openapi-patched.json"

FAST: dict[str, Any] = {
    "refresh_interval": 0.02,
    "seed": 7,
    "kill_grace": 0.5,
    "persist_interval": 0.05,
}
"""Emulator settings that keep tests quick."""


def instant(text: str) -> datetime:
    """An API timestamp (``...Z``, with or without fraction) as a datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def py(code: str) -> list[str]:
    """A job command running ``code`` with this interpreter (no shell)."""
    return [sys.executable, "-c", code]


def job(
    commands: list[str] | None = None,
    *,
    image: str = "python:3.11",
    batch_size: int = 1,
    timeout: int | None = 60,
    **definition: Any,
) -> dict[str, Any]:
    """One HTCJobSubmitRequest (API form)."""
    body: dict[str, Any] = {"imageName": image, **definition}
    if commands is not None:
        body["commands"] = commands
    if timeout is not None:
        body["execTimeoutSeconds"] = timeout
    return {"batchSize": batch_size, "htcJobDefinition": body}


@asynccontextmanager
async def running(**overrides: Any) -> AsyncIterator[Emulator]:
    """An emulator with quick settings (``overrides`` win)."""
    async with Emulator(**{**FAST, **overrides}) as emu:
        yield emu


class Api:
    """Raw calls to an emulator with a valid bearer token; asserts nothing by itself."""

    def __init__(self, emu: Emulator, http: httpx.AsyncClient) -> None:
        self.emu = emu
        self.http = http
        self.project = f"htc/projects/{emu.project_id}"

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params or None)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None

    async def task(self, name: str = "task") -> str:
        body = await self.ok(
            "POST", f"{self.project}/tasks", json={"taskName": name, "taskDescription": "t"}
        )
        return str(body["taskId"])

    def task_path(self, task_id: str) -> str:
        return f"{self.project}/tasks/{task_id}"

    async def submit(
        self, task_id: str, *requests: dict[str, Any], group: str | None = None
    ) -> list[str]:
        """Submit ``requests``; the ids of the jobs created."""
        params = {"group": group} if group else None
        body = await self.ok(
            "POST", f"{self.task_path(task_id)}/jobs/batch", json=list(requests), params=params
        )
        return [f"{item['parentJobId']}:{i}" for item in body for i in range(item["batchSize"])]

    async def job(self, task_id: str, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.ok("GET", f"{self.task_path(task_id)}/jobs/{job_id}")
        return result

    async def logs(self, task_id: str, job_id: str, **params: Any) -> list[str]:
        """Every log line, oldest first (following ``next``)."""
        url: str | None = f"{self.task_path(task_id)}/jobs/{job_id}/logs"
        query: dict[str, Any] | None = {"sort": "asc", **params}
        lines: list[str] = []
        while url is not None:
            body = await self.ok("GET", url, params=query)
            lines += [item["message"] for item in body["items"]]
            url, query = body.get("next"), None
        return lines

    async def finish(self, job_ids: list[str] | None = None) -> None:
        """Wait (20 s at most) until the jobs (default: all) are finished as the API shows."""
        with anyio.fail_after(20):
            await self.emu.wait_for_jobs(job_ids)


@asynccontextmanager
async def api(**overrides: Any) -> AsyncIterator[Api]:
    """A running emulator and an ``Api`` on it."""
    async with running(**overrides) as emu, emu.http(token=emu.issue_token()) as http:
        yield Api(emu, http)


async def until(check: Callable[[], bool], *, interval: float = 0.01) -> None:
    """Poll ``check`` until it holds (bound it with ``anyio.fail_after``): for conditions on
    emulator state or other processes that no event announces.
    """
    while not check():  # noqa: ASYNC110 - nothing to wait on but time
        await anyio.sleep(interval)


def env_from_logs(lines: list[str]) -> dict[str, str]:
    """The environment a job printed as one JSON line starting with ``ENV``."""
    for line in lines:
        if line.startswith("ENV "):
            result: dict[str, str] = json.loads(line[4:])
            return result
    raise AssertionError(f"no ENV line in {lines!r}")


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return any(line.startswith("State:") and "Z" in line.split()[1] for line in status.splitlines())
