"""``platform cluster start|run|put|get|stop`` against a served emulator whose clusters answer
on SSH, both backends: the whole lifetime, exit statuses passed through, host keys refused with
the CLI's hint, a start that cannot log in leaving nothing running.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest
from platform_cli_support import (
    PYTHON,
    PlatformCli,
    cli,  # noqa: F401 - fixtures
    error_line,
)

from rescale_async.emulator import PlatformConfig, ServedEmulator, background_server

QUICK = ("--interval", "0.02", "--ready-timeout", "30")
"""Poll the quick emulator often; give up soon."""

SIZED = ("--coretype", "granite", "--cores", "2")


def _key_pair(directory: Path, name: str) -> tuple[Path, str]:
    """A new private key file (0600) and its OpenSSH public key line."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = directory / name
    path.write_bytes(key.export_private_key())
    os.chmod(path, 0o600)
    return path, key.export_public_key().decode().strip()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The key registered in the profile, and one that is not."""
    directory = tmp_path_factory.mktemp("keys")
    registered, _ = _key_pair(directory, "registered")
    stranger, _ = _key_pair(directory, "stranger")
    return registered, stranger


@pytest.fixture(scope="module")
def served(keys: tuple[Path, Path]) -> Iterator[ServedEmulator]:
    """The emulator over HTTP, its profile holding the registered key's public half."""
    public = asyncssh.read_private_key(keys[0]).export_public_key().decode().strip()
    config = PlatformConfig(status_delay=0.01, ssh_public_key=public)
    with background_server(platform=config, kill_grace=0.5, seed=5) as served:
        yield served


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of the test's own: the default known_hosts file lands there."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


async def _stopped(cli: PlatformCli, job_id: str) -> None:
    """The job is stopped (as the user asked) and its cluster is down."""
    stopped = await cli.json("cluster", "stop", job_id, "--wait", "--interval", "0.02")
    assert stopped == {"jobId": job_id, "stopRequested": True, "clusterStopped": True}
    outcome = (await cli.json("jobs", "get", job_id))["outcome"]
    assert outcome["completed"] is True
    assert outcome["statusReason"] == "Job stopped by user request"


async def test_start_run_put_get_and_stop_a_cluster(
    cli: PlatformCli, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    key = str(keys[0])
    known_hosts = tmp_path / "known_hosts"
    login = ("--private-key", key, "--known-hosts", str(known_hosts), *QUICK)
    started = await cli.json("cluster", "start", *SIZED, "--trust-on-first-use", *login)
    job_id = started["jobId"]
    assert started["head"]["host"] == "127.0.0.1" and started["nodes"] >= 1
    port = started["head"]["port"]
    assert f"[127.0.0.1]:{port} ssh-" in known_hosts.read_text()  # recorded for what follows
    assert oct(known_hosts.stat().st_mode & 0o777) == "0o600"

    shown = await cli("cluster", "run", job_id, *login, "--", "echo", "a b", ";", "echo", "$HOME")
    assert shown.code == 0, shown.err
    assert shown.out == "a b ; echo $HOME\n"  # several words: quoted as given, no shell in them
    both = await cli("cluster", "run", job_id, *login, "echo out; echo err >&2; exit 3")
    assert both.code == 3  # the command's exit status, its output shown
    assert both.out.splitlines() == ["out", "err"]
    assert "Traceback" not in both.err
    apart = await cli("--json", "cluster", "run", job_id, *login, "echo out; echo err >&2")
    assert apart.code == 0, apart.err
    assert {k: apart.json()[k] for k in ("jobId", "exit_status", "stdout", "stderr")} == {
        "jobId": job_id,
        "exit_status": 0,
        "stdout": "out\n",
        "stderr": "err\n",
    }
    python = await cli("cluster", "run", job_id, *login, "--", sys.executable, "-c", "exit(7)")
    assert python.code == 7

    tree = tmp_path / "model"
    (tree / "sub").mkdir(parents=True)
    (tree / "params.txt").write_text("x=1.5\n")
    (tree / "sub" / "mesh.bin").write_bytes(bytes(range(256)) * 16)
    sent = await cli("cluster", "put", job_id, str(tree), "model", *login, terminal=True)
    assert sent.code == 0, sent.err
    assert "model -> model" in sent.err and "4.1/4.1 kB" in sent.err  # the bar, filled
    assert sent.out == f"copied 2 files (4.1 kB) from {tree} to model, verified by SHA-256\n"
    solve = f"cd model && {PYTHON} -c \"print(open('params.txt').read().strip())\" > out.txt"
    assert (await cli("cluster", "run", job_id, *login, solve)).code == 0
    back = await cli.json("cluster", "get", job_id, "model", str(tmp_path / "back"), *login)
    assert back["jobId"] == job_id and back["verified"] == "sha256"
    assert sorted(back["files"]) == sorted(
        str(tmp_path / "back" / name) for name in ("params.txt", "out.txt", "sub/mesh.bin")
    )
    assert (tmp_path / "back" / "out.txt").read_text() == "x=1.5\n"
    assert (tmp_path / "back" / "sub" / "mesh.bin").read_bytes() == bytes(range(256)) * 16

    await _stopped(cli, job_id)
    secret = keys[0].read_text().splitlines()[1]
    assert secret not in sent.out + sent.err + both.out + both.err


async def test_an_unknown_host_key_is_refused_with_how_to_trust_it(
    cli: PlatformCli, keys: tuple[Path, Path], tmp_path: Path, home: Path
) -> None:
    key = ("--private-key", str(keys[0]))
    started = await cli("cluster", "start", *SIZED, *key, "--trust-on-first-use", *QUICK)
    assert started.code == 0, started.err
    job_id = started.out.strip()
    assert f"cluster job {job_id} is up" in started.err
    assert f"'rescale-async platform cluster stop {job_id}'" in started.err
    default = home / ".config" / "rescale" / "known_hosts"
    assert "[127.0.0.1]:" in default.read_text()

    elsewhere = tmp_path / "empty_known_hosts"
    refused = await cli("cluster", "run", job_id, *key, "--known-hosts", str(elsewhere), "true")
    assert refused.code == 3
    message = error_line(refused)
    assert message.startswith("the host key of 127.0.0.1:")
    assert f"is not in {elsewhere}" in message
    assert "'platform cluster start --trust-on-first-use'" in message
    assert "SHA256:" in message
    trusted = await cli("cluster", "run", job_id, *key, *QUICK, "echo", "known")
    assert (trusted.code, trusted.out) == (0, "known\n")  # checked against the default file
    await _stopped(cli, job_id)


async def _the_new_job(cli: PlatformCli, before: set[str]) -> str:
    [job_id] = {job["id"] for job in await cli.json("jobs", "list")} - before
    waited = await cli("--json", "jobs", "wait", job_id, "--timeout", "20", "--interval", "0.02")
    assert waited.code == 5  # the service counts a stopped job as failed
    assert waited.json()["statusReason"] == "Job stopped by user request"  # nothing left running
    return str(job_id)


async def test_a_start_that_cannot_log_in_stops_its_job(
    cli: PlatformCli, keys: tuple[Path, Path]
) -> None:
    before = {job["id"] for job in await cli.json("jobs", "list")}
    unknown = await cli("-q", "cluster", "start", *SIZED, "--private-key", str(keys[0]), *QUICK)
    assert unknown.code == 3
    message = error_line(unknown)
    assert message.startswith("the host key of 127.0.0.1:")
    assert "pass --trust-on-first-use to accept the key it offers and record it in" in message
    job_id = await _the_new_job(cli, before)
    assert message.endswith(f"; job {job_id} is stopped, nothing is left running")

    before.add(job_id)
    stranger = ("--private-key", str(keys[1]), "--trust-on-first-use")
    refused = await cli("-q", "cluster", "start", *SIZED, *stranger, *QUICK)
    assert refused.code == 3
    message = error_line(refused)
    assert f"refused the private key {keys[1]}" in message
    assert "pass --private-key with the key whose public half is in your profile" in message
    job_id = await _the_new_job(cli, before)
    assert message.endswith(f"; job {job_id} is stopped, nothing is left running")
    assert keys[1].read_text().splitlines()[1] not in refused.err


async def test_a_missing_key_is_refused_before_any_job_is_created(
    cli: PlatformCli, tmp_path: Path
) -> None:
    before = await cli.json("jobs", "list")
    missing = tmp_path / "nope"
    failed = await cli("cluster", "start", *SIZED, "--private-key", str(missing), *QUICK)
    assert failed.code == 2
    assert (
        error_line(failed)
        == f"--private-key {missing}: no such file (give an OpenSSH private key file)"
    )
    assert await cli.json("jobs", "list") == before
