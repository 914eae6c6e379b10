"""``platform files upload|ls|download|rm`` against a served emulator."""

from __future__ import annotations

import hashlib
from pathlib import Path

from platform_cli_support import (
    PlatformCli,
    cli,  # noqa: F401 - fixtures
    error_line,
    served,  # noqa: F401 - fixtures
)


async def test_upload_list_download_and_remove(cli: PlatformCli, tmp_path: Path) -> None:
    small = tmp_path / "notes_cli.txt"
    small.write_text("some notes\n")
    big = tmp_path / "blob_cli.bin"
    big.write_bytes(bytes(range(256)) * 8192)  # 2 MiB

    uploaded = await cli.json("files", "upload", str(small), str(big))
    assert [f["name"] for f in uploaded] == ["notes_cli.txt", "blob_cli.bin"]
    assert uploaded[1]["decryptedSize"] == 2 * 1024 * 1024
    assert uploaded[1]["fileChecksums"] == [
        {"hashFunction": "sha512", "fileHash": hashlib.sha512(big.read_bytes()).hexdigest()}
    ]
    assert uploaded[1]["encodedEncryptionKey"] == "**********"  # never shown
    small_id, big_id = (f["id"] for f in uploaded)

    listed = (await cli.ok("files", "ls", "--search", "_cli.")).out.splitlines()
    assert listed[0].split() == ["FILE", "ID", "NAME", "PATH", "SIZE", "UPLOADED"]
    assert sorted(line.split()[0] for line in listed[2:]) == sorted([small_id, big_id])
    assert len(await cli.json("files", "ls", "--search", "_cli.", "--limit", "1")) == 1

    into = tmp_path / "down"
    into.mkdir()
    fetched = await cli.json("files", "download", big_id, str(into), "--connections", "3")
    assert fetched["path"] == str(into / "blob_cli.bin") and fetched["verified"] is True
    assert (into / "blob_cli.bin").read_bytes() == big.read_bytes()
    shown = await cli.ok("files", "download", small_id, str(tmp_path / "renamed.txt"))
    assert (tmp_path / "renamed.txt").read_text() == "some notes\n"
    assert shown.out.endswith(f"downloaded 1 file (11 bytes) to {tmp_path}\n")

    removed = await cli.ok("files", "rm", small_id, big_id)
    assert removed.out == f"deleted file {small_id}\ndeleted file {big_id}\n"
    assert "no files match" in (await cli.ok("files", "ls", "--search", "_cli.")).out
    gone = await cli("files", "download", small_id, str(into))
    assert gone.code == 4
    assert error_line(gone).startswith("not found")
    # the same below progress bars: the error as itself, after the bars are put away
    drawn = await cli("files", "download", small_id, str(into), terminal=True)
    assert drawn.code == 4
    assert "Traceback" not in drawn.err
    last = drawn.err.splitlines()[-1].removeprefix("\x1b[?25h")  # the cursor shown again
    assert last.startswith("rescale-async: error: not found")


async def test_uploading_what_is_not_a_file_is_a_usage_error(
    cli: PlatformCli, tmp_path: Path
) -> None:
    missing = await cli("files", "upload", str(tmp_path / "absent.bin"))
    assert missing.code == 2
    assert str(tmp_path / "absent.bin") in error_line(missing)
    directory = await cli("files", "upload", str(tmp_path))
    assert directory.code == 2
    assert str(tmp_path) in error_line(directory)
