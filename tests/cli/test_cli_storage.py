"""``storage upload|download|ls|rm PROJECT [TASK] ...`` against a served emulator whose storage
is a real moto S3 server (behind the emulator's storage gate).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli, error_line, served_emulator

from rescale_async.emulator import ServedEmulator
from rescale_async.emulator.storage import moto_installed, storage_server


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    if not moto_installed():
        if os.environ.get("CI"):
            pytest.fail("moto[server] is not installed; CI must run these tests")
        pytest.skip("moto[server] is not installed")
    with storage_server() as storage, served_emulator(**storage.config()) as served:
        yield served


@pytest.fixture
def cli(
    served: ServedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    return Cli(served, capsys, monkeypatch)


def tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha\n",
        "empty": b"",
        "sub/b.bin": bytes(range(256)),
        "sub/deeper/c.csv": b"1,2\n",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


async def test_a_task_tree_goes_up_lists_comes_back_and_is_removed(
    cli: Cli, tmp_path: Path, anyio_backend: str
) -> None:
    files = tree(tmp_path / "in")
    task = await cli.task(f"storage-{anyio_backend}")
    out = await cli.ok(
        "storage", "upload", cli.project, task, str(tmp_path / "in"), "--dest", "run1/"
    )
    assert out == "uploaded 4 files (266 bytes)\n"
    listed = await cli.json("storage", "ls", cli.project, task, "--prefix", "run1/sub")
    assert sorted(o["key"] for o in listed) == ["run1/sub/b.bin", "run1/sub/deeper/c.csv"]
    assert listed[0]["size"] == 256 and listed[0]["checksum"]

    # on a terminal, with a progress bar (gone once done)
    result = await cli(
        "storage", "download", cli.project, task, "run1", str(tmp_path / "out"), terminal=True
    )
    assert result.code == 0, result.err
    assert result.out.rstrip().endswith("downloaded 4 files (266 bytes)")
    for name, data in files.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    again = await cli.json("storage", "download", cli.project, task, "run1", str(tmp_path / "out"))
    assert again["transferred"] == [] and len(again["skipped"]) == 4

    assert await cli.ok("storage", "rm", cli.project, task, "run1/sub") == "deleted 2 objects\n"
    table = await cli.ok("storage", "ls", cli.project, task)
    assert "run1/a.txt" in table and "b.bin" not in table


async def test_without_a_task_the_project_shared_storage_is_used(
    cli: Cli, tmp_path: Path, anyio_backend: str
) -> None:
    (tmp_path / "lib.py").write_text("VALUE = 1\n")
    key = f"shared-{anyio_backend}/lib.py"
    await cli.ok("storage", "upload", cli.project, str(tmp_path / "lib.py"), "--dest", key)
    listed = await cli.json("storage", "ls", cli.project, "--prefix", f"shared-{anyio_backend}")
    assert [o["key"] for o in listed] == [key]
    await cli.ok("storage", "download", cli.project, key, str(tmp_path / "copy.py"))
    assert (tmp_path / "copy.py").read_text() == "VALUE = 1\n"


async def test_usage_and_missing_objects_are_one_line_errors(cli: Cli, tmp_path: Path) -> None:
    result = await cli("storage", "download", cli.project)
    assert "storage download takes PROJECT [TASK] KEY DEST, got 1 operands" in error_line(result)
    result = await cli("storage", "upload", cli.project, str(tmp_path / "absent"))
    assert result.code != 0 and "no file or directory" in error_line(result)
    result = await cli("storage", "download", cli.project, "nothing/here", str(tmp_path / "x"))
    assert "no object 'nothing/here'" in error_line(result)
    result = await cli("storage", "rm", cli.project, "../up")
    assert "not a usable storage key" in error_line(result)
