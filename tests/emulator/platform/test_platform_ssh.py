"""An executing platform job's "cluster" answers on SSH (asyncssh, both backends): the profile's
key logs in, commands run in the job's working directory, SFTP is rooted there, the instances
report the port, stopping the job closes the server.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import anyio
import asyncssh
import pytest
from platform_emulator_support import analysis, create, job_body, ok, platform, quick, submit

from rescale_async._core.asyncio_bridge import AsyncioBridge

T = TypeVar("T")

KEY = asyncssh.generate_private_key("ssh-ed25519")
OTHER_KEY = asyncssh.generate_private_key("ssh-ed25519")
PUBLIC = KEY.export_public_key().decode()


async def _executing(http: Any, emu: Any) -> tuple[str, dict[str, Any]]:
    job_id = await create(http, job_body(analysis("sleep 600")))
    await submit(http, job_id)
    with anyio.fail_after(20):
        await emu.platform.wait_for(job_id, "Executing")
    page = await ok(await http.get(f"jobs/{job_id}/instances/"))
    return job_id, page["results"][0]


def _connect(
    instance: dict[str, Any], key: asyncssh.SSHKey
) -> Callable[[], Coroutine[Any, Any, Any]]:
    async def connect() -> asyncssh.SSHClientConnection:
        return await asyncssh.connect(
            instance["publicIp"],
            instance["sshPort"],
            username=instance["username"],
            client_keys=[key],
            known_hosts=None,
            agent_path=None,
            config=[],
        )

    return connect


async def test_the_profile_key_logs_in_runs_commands_and_copies_files(tmp_path: Path) -> None:
    bridge = AsyncioBridge()
    try:
        async with platform(quick(ssh_public_key=PUBLIC)) as (emu, http):
            me = await ok(await http.get("users/me/"))
            assert me["publicKey"] == PUBLIC
            job_id, instance = await _executing(http, emu)
            assert instance["publicIp"] == "127.0.0.1"
            assert instance["sshPort"] not in (None, 22)
            conn = await bridge.run(_connect(instance, KEY))

            async def commands() -> tuple[Any, Any]:
                done = await conn.run('pwd; echo "job=$RESCALE_JOB_ID"; echo oops >&2; exit 3')
                local = tmp_path / "data.txt"
                local.write_text("payload\n")
                async with conn.start_sftp_client() as sftp:
                    await sftp.put(str(local), "copied.txt")
                return done, await conn.run("cat copied.txt")

            done, copied = await bridge.run(commands)
            work = emu.platform_runner.jobs_root / job_id / "work"
            assert done.exit_status == 3
            assert done.stdout.splitlines() == [str(work), f"job={job_id}"]
            assert done.stderr == "oops\n"
            assert copied.stdout == "payload\n"
            assert (work / "copied.txt").read_text() == "payload\n"

            await http.post(f"jobs/{job_id}/stop/")
            with anyio.fail_after(20):
                await emu.platform.wait_for(job_id, "Completed")

            async def closed() -> None:
                await conn.wait_closed()

            with anyio.fail_after(10):
                await bridge.run(closed)
            assert emu.platform_runner.ssh.open_count == 0
            with pytest.raises(ConnectionRefusedError):
                await bridge.run(_connect(instance, KEY))
    finally:
        await bridge.aclose()


async def test_a_key_not_in_the_profile_is_refused() -> None:
    bridge = AsyncioBridge()
    try:
        async with platform(quick(ssh_public_key=PUBLIC)) as (emu, http):
            _, instance = await _executing(http, emu)
            with pytest.raises(asyncssh.PermissionDenied):
                await bridge.run(_connect(instance, OTHER_KEY))
    finally:
        await bridge.aclose()
