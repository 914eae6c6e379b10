"""``client.clusters`` against the emulator, both backends: the whole lifetime, stop on exit
whatever ends the block, host keys, a wrong key, a failing command.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import asyncssh
import pytest
from cluster_support import QUICK, emulated, key_pair

from rescale_async.emulator import Emulator
from rescale_async.platform.orchestration import (
    ClusterAuthenticationError,
    CommandError,
    HostKeyError,
)


def _the_job(emu: Emulator) -> str:
    (job_id,) = emu.platform.jobs
    return job_id


async def _stopped(emu: Emulator, job_id: str) -> None:
    with anyio.fail_after(20):
        job = await emu.platform.wait_for(job_id, "Completed")
    assert job.reason == "Job stopped by user request"
    assert emu.platform_runner.ssh.open_count == 0


async def test_a_cluster_runs_commands_streams_and_copies_trees_then_stops(
    tmp_path: Path,
) -> None:
    key, public = key_pair(tmp_path)
    known_hosts = tmp_path / "known_hosts"
    tree = tmp_path / "inputs"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("alpha\n")
    (tree / "sub" / "b.bin").write_bytes(bytes(range(256)) * 40)
    seen: list[tuple[int, int]] = []
    async with emulated(public) as (emu, client):
        async with client.clusters.start(
            coretype="granite",
            cores=2,
            private_key=key,
            known_hosts=known_hosts,
            trust_on_first_use=True,
            **QUICK,
        ) as cluster:
            job_id = cluster.job_id
            assert str(key) in repr(cluster)
            assert public.split()[1] not in repr(cluster)
            done = await cluster.run("echo hi; echo $GREETING; pwd", env={"GREETING": "a b'c"})
            work = emu.platform_runner.jobs_root / job_id / "work"
            assert done.ok
            assert done.stdout.splitlines() == ["hi", "a b'c", str(work)]

            lines = [line async for line in cluster.stream("for i in 1 2 3; do echo n$i; done")]
            assert lines == ["n1", "n2", "n3"]

            sent = await cluster.put(tree, "inputs", progress=lambda d, t: seen.append((d, t)))
            assert sent.verified == "sha256"
            assert sorted(sent.files) == ["inputs/a.txt", "inputs/sub/b.bin"]
            assert (work / "inputs" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 40
            assert seen[-1] == (sent.bytes, sent.bytes)

            await cluster.run("mkdir -p out/deep && cp -r inputs/* out/deep && echo x > out/top")
            back = await cluster.get("out", tmp_path / "back")
            assert back.verified == "sha256"
            assert (tmp_path / "back" / "top").read_text() == "x\n"
            assert (tmp_path / "back" / "deep" / "a.txt").read_text() == "alpha\n"
            assert not list((tmp_path / "back").rglob("*.part"))
            assert not emu.platform.jobs[job_id].completed
        await _stopped(emu, job_id)
    assert "[127.0.0.1]:" in known_hosts.read_text()  # the pinned key, recorded


async def test_every_node_of_a_multi_node_cluster_runs_a_command(
    tmp_path: Path,
) -> None:
    key, public = key_pair(tmp_path)
    async with (
        emulated(public) as (_, client),
        client.clusters.start(
            coretype="granite",
            cores=2,
            slots=3,
            max_nodes=2,
            private_key=key,
            trust_on_first_use=True,
            **QUICK,
        ) as cluster,
    ):
        assert len(cluster.nodes) == 3 and cluster.head is cluster.nodes[0]
        results = await cluster.run_on_all("echo up; sleep 0.2")
        assert [result.stdout for result in results] == ["up\n"] * 3
        # (put_on_all is not tried here: the emulator's nodes share one directory, so their
        # copies of one file would overwrite each other; real nodes have disks of their own)


async def test_an_exception_in_the_block_still_stops_the_job(tmp_path: Path) -> None:
    key, public = key_pair(tmp_path)
    async with emulated(public) as (emu, client):
        with pytest.raises(KeyError, match="in the block"):
            async with client.clusters.start(
                coretype="granite", cores=2, private_key=key, trust_on_first_use=True, **QUICK
            ):
                raise KeyError("in the block")
        await _stopped(emu, _the_job(emu))


async def test_a_cancellation_in_the_block_still_stops_the_job(tmp_path: Path) -> None:
    key, public = key_pair(tmp_path)
    async with emulated(public) as (emu, client):
        with anyio.move_on_after(30) as scope:
            async with client.clusters.start(
                coretype="granite", cores=2, private_key=key, trust_on_first_use=True, **QUICK
            ) as cluster:
                async for line in cluster.stream("echo started; sleep 600"):
                    assert line == "started"
                    scope.cancel()  # the command runs: cancel the block in the middle of it
        assert scope.cancelled_caught
        await _stopped(emu, _the_job(emu))


async def test_an_unknown_host_key_is_refused_by_default(tmp_path: Path) -> None:
    key, public = key_pair(tmp_path)
    async with emulated(public) as (emu, client):
        with pytest.raises(HostKeyError) as caught:
            async with client.clusters.start(coretype="granite", cores=2, private_key=key, **QUICK):
                pytest.fail("the block must not run")
        message = str(caught.value)
        assert "127.0.0.1:" in message
        assert "trust_on_first_use=True" in message
        assert caught.value.fingerprint and caught.value.fingerprint.startswith("SHA256:")
        await _stopped(emu, _the_job(emu))


async def test_a_key_other_than_the_known_one_is_refused_even_when_trusting_first_use(
    tmp_path: Path,
) -> None:
    key, public = key_pair(tmp_path)
    known_hosts = tmp_path / "known_hosts"
    async with (
        emulated(public) as (_, client),
        client.clusters.start(
            coretype="granite",
            cores=2,
            private_key=key,
            known_hosts=known_hosts,
            trust_on_first_use=True,
            **QUICK,
        ) as cluster,
    ):
        [entry] = known_hosts.read_text().splitlines()
        address = entry.split()[0]
        other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
        known_hosts.write_text(f"{address} {other}")  # the file now names another key
        with pytest.raises(HostKeyError, match="differs from the one the known_hosts"):
            async with client.clusters.attach(
                cluster.job_id,
                private_key=key,
                known_hosts=known_hosts,
                trust_on_first_use=True,
                **QUICK,
            ):
                pytest.fail("the block must not run")
        assert (await cluster.run("echo still")).stdout == "still\n"  # pinned: unaffected


async def test_a_key_not_in_the_profile_is_refused_clearly(tmp_path: Path) -> None:
    key, _ = key_pair(tmp_path, "mine")
    _, other_public = key_pair(tmp_path, "registered")
    secret = key.read_text()
    async with emulated(other_public) as (emu, client):
        with pytest.raises(ClusterAuthenticationError) as caught:
            async with client.clusters.start(
                coretype="granite", cores=2, private_key=key, trust_on_first_use=True, **QUICK
            ):
                pytest.fail("the block must not run")
        message = str(caught.value)
        assert str(key) in message
        assert "user profile" in message
        assert secret.splitlines()[1] not in message
        await _stopped(emu, _the_job(emu))


async def test_a_failing_command_raises_with_the_tail_of_its_stderr(tmp_path: Path) -> None:
    key, public = key_pair(tmp_path)
    async with emulated(public) as (emu, client):
        async with client.clusters.start(
            coretype="granite", cores=2, private_key=key, trust_on_first_use=True, **QUICK
        ) as cluster:
            with pytest.raises(CommandError) as caught:
                await cluster.run("echo out; echo first >&2; echo 'it broke' >&2; exit 4")
            assert caught.value.result.exit_status == 4
            assert caught.value.result.stdout == "out\n"
            assert str(caught.value).endswith("first\nit broke")
            unchecked = await cluster.run("exit 5", check=False)
            assert unchecked.exit_status == 5
            with pytest.raises(CommandError):
                async for _ in cluster.stream("echo partial; exit 2"):
                    pass
        await _stopped(emu, _the_job(emu))


async def test_attach_leaves_the_job_running_unless_asked(tmp_path: Path) -> None:
    key, public = key_pair(tmp_path)
    async with emulated(public) as (emu, client):
        async with client.clusters.start(
            coretype="granite", cores=2, private_key=key, trust_on_first_use=True, **QUICK
        ) as cluster:
            async with client.clusters.attach(
                cluster.job_id, private_key=key, trust_on_first_use=True, **QUICK
            ) as attached:
                assert (await attached.run("echo attached")).stdout == "attached\n"
            assert not emu.platform.jobs[cluster.job_id].stop_requested.is_set()
            results = await cluster.run_on_all("echo node")
            assert [r.stdout for r in results] == ["node\n"] * len(cluster.nodes)
        await _stopped(emu, cluster.job_id)
