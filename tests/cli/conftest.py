"""Fixtures of the CLI tests: a served emulator per module, and a CLI runner on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_support import Cli, served_emulator

from rescale_async.emulator import ServedEmulator


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with served_emulator() as served:
        yield served


@pytest.fixture
def cli(
    served: ServedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    return Cli(served, capsys, monkeypatch)
