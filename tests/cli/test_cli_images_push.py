"""``images push PROJECT SOURCE --repository NAME [--tag T]`` against a served emulator whose
registry is a real ``docker-registry``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import anyio.from_thread
import pytest
from cli_support import Cli, error_line, served_emulator

from rescale_async.emulator import ServedEmulator, local_registry, registry_missing
from rescale_async.htc.dataplane import build_oci_layout


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    missing = registry_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must run these tests")
        pytest.skip(missing)
    with (
        anyio.from_thread.start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(local_registry(storage="memory")) as registry,
        served_emulator(
            registry_address=registry.address, registry_password=registry.password
        ) as served,
    ):
        yield served


@pytest.fixture
def cli(
    served: ServedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    return Cli(served, capsys, monkeypatch)


def layout(tmp_path: Path, text: bytes = b"print('cli')\n") -> Path:
    return build_oci_layout(tmp_path / "image", {"app/run.py": text}, cmd=["python", "/app/run.py"])


async def test_push_prints_the_image_to_run_and_a_second_push_sends_no_blob(
    cli: Cli, tmp_path: Path, anyio_backend: str
) -> None:
    source = layout(tmp_path)
    repository = f"team/{anyio_backend}"  # one emulator for both backends: a repository each
    out = await cli.ok("images", "push", cli.project, str(source), "--repository", repository)
    first, details = out.splitlines()
    assert first.startswith(f"pushed {repository}:")
    image = first.removeprefix("pushed ")
    assert "2 blobs uploaded" in details and "READY for jobs" in details
    assert (await cli.ok("images", "status", cli.project, image)).strip() == f"{image}: READY"

    again = await cli.json(
        "images", "push", cli.project, str(source), "--repository", repository, "--tag", "v1"
    )
    assert again["image"] == f"{repository}:v1" and again["tag"] == "v1"
    assert (again["blobs_uploaded"], again["blobs_skipped"], again["bytes_sent"]) == (0, 2, 0)
    assert again["reference"] == f"{again['registry']}/{repository}@{again['digest']}"
    assert again["registry"].endswith(f"/rescale/{cli.project}")


async def test_push_draws_a_progress_bar_on_a_terminal(
    cli: Cli, tmp_path: Path, anyio_backend: str
) -> None:
    result = await cli(
        "images",
        "push",
        cli.project,
        str(layout(tmp_path, b"other\n" * 1000)),
        "--repository",
        f"bar-{anyio_backend}",
        "--no-wait",
        terminal=True,
    )
    assert result.code == 0, result.err
    assert "pushing bar" in result.out and "2/2 blobs" in result.out  # the bar's last state
    assert f"pushed bar-{anyio_backend}:" in result.out and "READY" not in result.out


async def test_an_unusable_source_is_one_usage_error_line(cli: Cli, tmp_path: Path) -> None:
    result = await cli(
        "images", "push", cli.project, str(tmp_path / "missing.tar"), "--repository", "x"
    )
    assert result.code == 2
    assert "does not exist" in error_line(result)
    missing_option = await cli("images", "push", cli.project, str(tmp_path))
    assert missing_option.code == 2
    assert "--repository" in missing_option.err
