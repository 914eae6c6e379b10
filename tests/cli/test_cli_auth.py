"""``auth login``: the key is checked, stored in the apiconfig profile (0600), never shown."""

from __future__ import annotations

import configparser
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli, error_line, served_emulator

from rescale_async import ConfigurationError
from rescale_async._core.config import apiconfig_path
from rescale_async.cli._auth import store_api_key
from rescale_async.emulator import ServedEmulator


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with served_emulator() as served:
        yield served


@pytest.fixture
def cli(
    served: ServedEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    cli = Cli(served, capsys, monkeypatch)
    monkeypatch.delenv("RESCALE_API_KEY")  # logging in is what provides it here
    return cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def profile(path: Path, name: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return dict(parser.items(name))


async def test_login_from_stdin_writes_a_0600_profile_that_whoami_then_uses(cli: Cli) -> None:
    path = apiconfig_path()
    assert not path.exists()
    key = cli.served.api_key
    result = await cli("auth", "login", stdin=f"{key}\n")
    assert result.code == 0, result.err
    assert result.out == (
        f"stored the API key for emulator@example.com in profile [default] of {path} (mode 0600)\n"
    )
    assert key not in result.out + result.err
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert profile(path, "default") == {"apikey": key, "htcbaseurl": cli.served.base_url}
    assert [p.name for p in path.parent.iterdir()] == ["apiconfig"]  # no temporary left

    # no RESCALE_API_KEY, no --base-url: the profile holds both
    who = await cli("auth", "whoami", base_url=False)
    assert who.code == 0, who.err
    assert "emulator@example.com" in who.out
    assert f"profile [default] of {path}" in who.out
    assert key not in who.out


async def test_login_to_another_profile_keeps_the_rest_of_the_file(cli: Cli) -> None:
    path = apiconfig_path()
    path.parent.mkdir(parents=True)
    path.write_text("[default]\napikey = old-key\napibaseurl = https://platform\n")
    path.chmod(0o644)
    key = cli.served.api_key
    data = await cli.json("--profile", "work", "auth", "login", "--api-key", key)
    assert data == {
        "profile": "work",
        "path": str(path),
        "verified": True,
        "user": data["user"],
    }
    assert data["user"]["email"] == "emulator@example.com"
    assert mode(path) == 0o600  # tightened, though it was 0644
    assert profile(path, "default") == {"apikey": "old-key", "apibaseurl": "https://platform"}
    assert profile(path, "work")["apikey"] == key
    who = await cli.json("--profile", "work", "auth", "whoami", "--base-url", cli.served.base_url)
    assert who["credentials"] == f"profile [work] of {path}"
    # logging in again replaces the key in place
    again = await cli("--profile", "work", "auth", "login", "--no-verify", stdin="newer-key")
    assert again.code == 0 and "stored the API key in profile [work]" in again.out
    assert profile(path, "work")["apikey"] == "newer-key"


async def test_a_refused_key_is_not_stored(cli: Cli) -> None:
    result = await cli("auth", "login", stdin="wrong-SECRET-key\n")
    assert result.code == 3
    line = error_line(result)
    assert "the API key was refused" in line and "nothing was stored" in line
    assert "wrong-SECRET-key" not in result.out + result.err
    assert not apiconfig_path().exists()


async def test_login_input_errors(cli: Cli) -> None:
    empty = await cli("auth", "login", stdin="\n")
    assert empty.code == 2 and "no API key given" in error_line(empty)
    spaced = await cli("auth", "login", "--api-key", "two words")
    assert spaced.code == 2 and "whitespace" in error_line(spaced)
    bad_profile = await cli("--profile", "a]b", "auth", "login", stdin="k\n")
    assert bad_profile.code == 2 and "not a usable profile name" in error_line(bad_profile)
    default_section = await cli("--profile", "DEFAULT", "auth", "login", stdin="k\n")
    assert default_section.code == 2
    assert not apiconfig_path().exists()


def test_an_unreadable_profile_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "apiconfig"
    path.write_text("no section header\n")
    with pytest.raises(
        ConfigurationError, match=r"cannot read .*apiconfig: MissingSectionHeaderError"
    ):
        store_api_key(path, "default", "key")
    assert path.read_text() == "no section header\n"
