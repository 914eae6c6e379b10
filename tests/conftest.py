"""Every async test runs under both asyncio and trio (anyio's pytest plugin, auto mode)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's credentials, profile file or base URL."""
    for name in (
        "RESCALE_API_KEY",
        "RESCALE_API_TOKEN",
        "RESCALE_HTC_REFRESH_TOKEN",
        "RESCALE_HTC_BEARER_TOKEN",
        "RESCALE_HTC_API_URL",
        "RESCALE_API_URL",
        "RESCALE_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
