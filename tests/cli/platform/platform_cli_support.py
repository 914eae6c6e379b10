"""Helpers for the platform CLI tests: a served emulator, the CLI run in process against it,
and job definition files.
"""

from __future__ import annotations

import io
import json
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rescale_async.cli import run
from rescale_async.emulator import PlatformConfig, ServedEmulator, background_server

FAST_PLATFORM = PlatformConfig(status_delay=0.01)
POLL = ("--interval", "0.02")
"""Poll the quick emulator's statuses often (the CLI's default is every 10 s)."""

PYTHON = shlex.quote(sys.executable)


@contextmanager
def served_platform() -> Iterator[ServedEmulator]:
    """The emulator over HTTP on a free port (both APIs), its platform jobs quick."""
    with background_server(platform=FAST_PLATFORM, kill_grace=0.5, seed=5) as served:
        yield served


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class PlatformCli:
    """``rescale-async platform ...`` run in process against ``served``: its key in
    ``RESCALE_API_KEY``, its platform root as ``--base-url`` (before the group's name).
    """

    def __init__(
        self,
        served: ServedEmulator,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.served = served
        self.capsys = capsys
        monkeypatch.setenv("RESCALE_API_KEY", served.platform_api_key)

    async def __call__(self, *argv: str, terminal: bool | None = None) -> Result:
        self.capsys.readouterr()  # what came before is not this command's
        argv_ = ["--base-url", self.served.platform_url, "platform", *argv]
        code = await run(argv_, stdin=io.StringIO(""), terminal=terminal)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    async def ok(self, *argv: str) -> Result:
        result = await self(*argv)
        assert result.code == 0, result.err
        return result

    async def json(self, *argv: str) -> Any:
        return (await self.ok("--json", "--quiet", *argv)).json()


def error_line(result: Result) -> str:
    """The one line a failed command wrote to stderr (no traceback)."""
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("rescale-async: error: "), lines[0]
    return lines[0].removeprefix("rescale-async: error: ")


def job_file(directory: Path, text: str, name: str = "job.yaml") -> Path:
    """A job definition file ``name`` in ``directory`` holding ``text``."""
    path = directory / name
    path.write_text(text)
    return path


def python_job(directory: Path, code: str, *, name: str = "cli job", **extra: str) -> Path:
    """A job definition running ``code`` (written to ``main.py``, an input) with this
    interpreter on 1 core of emerald; ``extra`` adds top-level ``key: value`` lines.
    """
    (directory / "main.py").write_text(code)
    lines = [
        f"name: {name}",
        "analysis: {code: user_included, version: '0'}",
        f"command: {PYTHON} main.py",
        "coretype: emerald",
        "cores: 1",
        "walltime: 1",
        "inputs: [main.py]",
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    return job_file(directory, "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    """One served emulator per test module (a module may override it)."""
    with served_platform() as emulator:
        yield emulator


@pytest.fixture
def cli(
    served: ServedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> PlatformCli:
    """The platform CLI on ``served``."""
    return PlatformCli(served, capsys, monkeypatch)
