"""Helpers for the CLI tests: a served emulator, and the CLI run in process against it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from rescale_async.cli import run
from rescale_async.emulator import ServedEmulator, background_server

FAST: dict[str, Any] = {"refresh_interval": 0.02, "seed": 7, "kill_grace": 0.5}


@contextmanager
def served_emulator(**overrides: Any) -> Iterator[ServedEmulator]:
    """The emulator over HTTP on a free port, from a background thread (any test backend)."""
    with background_server(**{**FAST, **overrides}) as served:
        yield served


def py(code: str) -> list[str]:
    """A job command running ``code`` with this interpreter (no shell)."""
    return [sys.executable, "-c", code]


def request(code: str, *, batch_size: int = 1) -> dict[str, Any]:
    """One submit request in the API's (camelCase) form."""
    return {
        "batchSize": batch_size,
        "htcJobDefinition": {"imageName": "python:3.11", "commands": py(code)},
    }


def gated(gate: Path, before: str = "first", after: str = "second") -> str:
    """Job code printing ``before``, waiting until ``gate`` exists, then printing ``after``."""
    return (
        "import pathlib, time\n"
        f"print({before!r}, flush=True)\n"
        f"while not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.01)\n"
        f"print({after!r}, flush=True)\n"
    )


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """``rescale-async`` run in process (``await cli("projects", "list")``) against ``served``,
    with its API key in ``RESCALE_API_KEY`` and its URL passed as ``--base-url``.
    """

    def __init__(
        self,
        served: ServedEmulator,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.served = served
        self.capsys = capsys
        self.project = served.project_id
        monkeypatch.setenv("RESCALE_API_KEY", served.api_key)

    def argv(self, argv: tuple[str, ...], *, base_url: bool = True) -> list[str]:
        return ["--base-url", self.served.base_url, *argv] if base_url else [*argv]

    async def __call__(
        self,
        *argv: str,
        stdin: str = "",
        terminal: bool | None = None,
        base_url: bool = True,
    ) -> Result:
        self.capsys.readouterr()  # what came before is not this command's
        code = await run(
            self.argv(argv, base_url=base_url), stdin=io.StringIO(stdin), terminal=terminal
        )
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    async def ok(self, *argv: str, stdin: str = "") -> str:
        result = await self(*argv, stdin=stdin)
        assert result.code == 0, result.err
        assert result.err == "" or result.err.startswith("watch them:"), result.err
        return result.out

    async def json(self, *argv: str, stdin: str = "") -> Any:
        return json.loads(await self.ok("--output", "json", *argv, stdin=stdin))

    async def task(self, name: str = "cli-test") -> str:
        created = await self.json("tasks", "create", self.project, name)
        return str(created["taskId"])

    async def submit(self, task: str, *requests: dict[str, Any], group: str = "") -> list[str]:
        extra = ["--group", group] if group else []
        body = json.dumps(list(requests))
        submitted = await self.json("jobs", "submit", self.project, task, "-", *extra, stdin=body)
        return [str(job_id) for job_id in submitted["jobIds"]]

    async def finish(self, job_ids: list[str] | None = None) -> None:
        """Wait (20 s at most) until the jobs (default: all) are finished as the API shows."""
        with anyio.fail_after(20):
            await self.served.call(self.served.emulator.wait_for_jobs, job_ids)


def error_line(result: Result) -> str:
    """The one line a failed command wrote to stderr (asserting it is one line, no traceback)."""
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("rescale-async"), lines[0]
    return lines[0]


def cli_process(
    *argv: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python -m rescale_async ...`` as a real process (no shell)."""
    return subprocess.run(
        [sys.executable, "-m", "rescale_async", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
