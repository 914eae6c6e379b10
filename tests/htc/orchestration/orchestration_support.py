"""Helpers for the orchestration tests: a quick emulator with a client and a task."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from rescale_async import HTCClient, JobSpec, Task
from rescale_async.emulator import Emulator, JobRecord

FAST: dict[str, Any] = {"refresh_interval": 0.02, "seed": 7, "kill_grace": 0.5}

TRUE = JobSpec(image="python:3.11", commands=["true"])
"""A job that ends at once, successfully."""


def py(code: str, **fields: Any) -> JobSpec:
    """A job running ``code`` with this interpreter."""
    return JobSpec(image="python:3.11", commands=[sys.executable, "-c", code], **fields)


@dataclass
class Setup:
    emu: Emulator
    client: HTCClient
    task: Task

    def group(self, name: str) -> list[JobRecord]:
        """The emulator's own records of a job group."""
        return [job for job in self.emu.state.jobs.values() if job.group == name]

    def groups(self) -> Counter[str]:
        """Jobs per group, as the emulator holds them."""
        return Counter(job.group for job in self.emu.state.jobs.values())

    def requests(self, method: str, suffix: str) -> int:
        """Requests the emulator received on the endpoints ending with ``suffix``."""
        counts = self.emu.counters.requests
        return sum(
            n for key, n in counts.items() if key.startswith(method + " ") and key.endswith(suffix)
        )


@asynccontextmanager
async def emulated(**overrides: Any) -> AsyncIterator[Setup]:
    """An emulator (quick settings, ``overrides`` win), a client on it (``settle_delay=0``
    unless ``client=`` options say otherwise) and a fresh task.
    """
    client_options = {"settle_delay": 0.0, **overrides.pop("client", {})}
    async with Emulator(**{**FAST, **overrides}) as emu, emu.client(**client_options) as client:
        task = await client.tasks.create(emu.project_id, name="test")
        emu.counters.reset()
        yield Setup(emu, client, task)
