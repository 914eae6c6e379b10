"""Platform jobs run for real: statuses, outputs with SHA-512, failures, stop, delete, walltime."""

from __future__ import annotations

import hashlib
import io
import zipfile

import anyio
import httpx
from platform_emulator_support import (
    analysis,
    content,
    create,
    every,
    job_body,
    ok,
    outputs,
    platform,
    quick,
    run,
    statuses,
    submit,
    upload,
)

SCRIPT = b"""
echo "cores=$RESCALE_CORES_PER_SLOT slots=$RESCALE_SLOTS nodes=$RESCALE_NODES job=$RESCALE_JOB_ID"
echo "home=$HOME pwd=$PWD"
cat inputs/range.inp
mkdir -p results
printf 'pi=3.14\\n' > results/pi_estimate.res
head -c 3000 /dev/zero | tr '\\0' 'x' > results/big.bin
echo "to stderr" >&2
"""


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


async def test_a_job_end_to_end_runs_its_command_and_keeps_its_outputs() -> None:
    async with platform() as (emu, http):
        archive = await upload(http, "inputs.zip", _zip({"inputs/range.inp": "1000\n"}))
        script = await upload(http, "run.sh", SCRIPT)
        inputs = ({"id": archive["id"]}, {"id": script["id"]})
        body = job_body(analysis("bash run.sh", core="emerald_max", cores=8, inputs=inputs))
        job_id = await create(http, body)
        assert await statuses(http, job_id) == []
        assert (await http.get(f"jobs/{job_id}/cluster_statuses/")).status_code == 404
        await submit(http, job_id)
        with anyio.fail_after(20):
            await emu.platform.wait_for(job_id, cluster="Stopped")

        assert await statuses(http, job_id) == [
            ("Completed", "Completed successfully"),
            ("Executing", None),
            ("Validated", None),
            ("Started", None),
            ("Queued", None),
            ("Pending", None),
        ]
        cluster = await every(http, f"jobs/{job_id}/cluster_statuses/")
        assert [c["status"] for c in cluster] == [
            "Stopped",
            "Stopping",
            "Stop Requested",
            "Started",
            "Starting",
            "Not Started",
        ]
        files = await outputs(http, job_id)
        assert set(files) == {"process_output.log", "results/pi_estimate.res", "results/big.bin"}
        for entry in files.values():
            assert entry["typeId"] == 5
            body_bytes = (await content(http, entry["id"])).content
            assert entry["decryptedSize"] == len(body_bytes)
            [checksum] = entry["fileChecksums"]
            assert checksum == {
                "hashFunction": "sha512",
                "fileHash": hashlib.sha512(body_bytes).hexdigest(),
            }
        assert files["results/big.bin"]["decryptedSize"] == 3000
        assert files["results/pi_estimate.res"]["name"] == "pi_estimate.res"
        log = (await content(http, files["process_output.log"]["id"])).text
        assert f"cores=8 slots=1 nodes=1 job={job_id}" in log
        home = emu.platform_runner.jobs_root / job_id
        assert f"home={home} pwd={home / 'work'}" in log
        assert "1000" in log  # the zip was extracted
        assert "to stderr" in log
        [run_document] = await every(http, f"jobs/{job_id}/runs/")
        assert run_document["id"] == "1"
        assert run_document["outputFileCount"] == 3
        assert len(await every(http, f"jobs/{job_id}/runs/1/files/")) == 3
        searched = await outputs(http, job_id, search="OUTPUT")
        assert list(searched) == ["process_output.log"]
        [summary] = await every(http, "jobs/")
        assert summary["jobStatus"]["content"] == "Completed"
        assert summary["clusterStatusDisplay"]["content"] == "Stopped"
        assert summary["analysisNames"] == ["Bring Your Own Software"]
        job = await ok(await http.get(f"jobs/{job_id}/"))
        assert "jobStatus" not in job
        assert job["jobanalyses"][0]["hardware"]["coresPerSlot"] == 8
        assert emu.platform.jobs_created == 1
        assert emu.platform.submissions == 1


async def test_a_zip_with_decompress_false_stays_a_zip() -> None:
    async with platform() as (emu, http):
        archive = await upload(http, "data.zip", _zip({"a": "x"}))
        command = "echo * > listing.txt"  # the glob is expanded before listing.txt exists
        body = job_body(analysis(command, inputs=({"id": archive["id"], "decompress": False},)))
        job_id = await run(emu, http, body)
        files = await outputs(http, job_id)
        listing = (await content(http, files["listing.txt"]["id"])).text.split()
        assert listing == ["data.zip"]  # not extracted
        assert "data.zip" not in files  # an unchanged input is not an output


async def test_a_failing_command_completes_with_its_exit_code_as_reason() -> None:
    async with platform() as (emu, http):
        body = job_body(analysis("echo about to fail; exit 3"), analysis("echo never"))
        job_id = await run(emu, http, body)
        [latest, *_] = await statuses(http, job_id)
        assert latest == ("Completed", "Command exited with code 3")
        log = (await outputs(http, job_id))["process_output.log"]
        lines = await ok(await http.get(f"files/{log['id']}/lines/"))
        assert lines == {"lines": ["about to fail\n"]}  # the second command never ran
        tail = await ok(await http.get(f"jobs/{job_id}/runs/1/tail/process_output.log/"))
        assert tail["lines"] == ["about to fail\n"]


async def test_tail_reads_the_last_lines_of_files_inside_the_job_only() -> None:
    async with platform() as (emu, http):
        command = "seq 1 500 > sub/numbers.txt; ln -s /etc/hostname outside"
        job_id = await run(emu, http, job_body(analysis(f"mkdir sub; {command}")))
        run_path = f"jobs/{job_id}/runs/1/tail"
        tail = await ok(await http.get(f"{run_path}/sub/numbers.txt/", params={"lines": 3}))
        assert tail == {"fileType": "text", "lines": ["498\n", "499\n", "500\n"]}
        default = await ok(await http.get(f"{run_path}/sub/numbers.txt/"))
        assert len(default["lines"]) == 100
        assert (await http.get(f"{run_path}/outside/")).status_code == 404  # a link out
        assert (await http.get(f"{run_path}/missing.txt/")).status_code == 404
        assert (await http.get(f"{run_path}/sub/numbers.txt/", params={"lines": "x"})).json() == {
            "lines": ["A valid integer is required."]
        }
        assert (await http.get(f"jobs/{job_id}/runs/2/")).status_code == 404


async def test_commands_of_several_analyses_run_in_order() -> None:
    async with platform() as (emu, http):
        first = analysis("echo one > order.txt")
        second = analysis("# ")
        third = analysis("echo three >> order.txt", envVars={"GREETING": "hi"})
        fourth = analysis('echo "$GREETING-${GREETING_NOT:-unset}" >> order.txt')
        job_id = await run(emu, http, job_body(first, second, third, fourth))
        order = (await outputs(http, job_id))["order.txt"]
        assert (await content(http, order["id"])).text == "one\nthree\n-unset\n"
        assert (await statuses(http, job_id))[0] == ("Completed", "Completed successfully")


async def test_stop_terminates_the_command_gracefully_and_keeps_its_files() -> None:
    script = (
        "trap 'echo got TERM; echo partial > partial.txt; exit 143' TERM; "
        "echo started; while true; do sleep 0.02; done"
    )
    async with platform() as (emu, http):
        job_id = await create(http, job_body(analysis(script, cores=4)))
        assert (await http.post(f"jobs/{job_id}/stop/")).status_code == 400  # not submitted
        await submit(http, job_id)
        with anyio.fail_after(20):
            await emu.platform.wait_for(job_id, "Executing")
        [instance] = await every(http, f"jobs/{job_id}/instances/")
        assert instance["publicIp"] == "127.0.0.1"
        assert instance["role"] == "MPI_MASTER"
        assert instance["sshPort"] == emu.platform_runner.ssh.port(job_id)
        refused = await http.delete(f"jobs/{job_id}/")
        assert refused.status_code == 400
        assert "cluster is stopped" in refused.json()["detail"]
        with anyio.fail_after(20):  # the trap is set once the command has printed
            while "started" not in (await _tail(http, job_id)):  # noqa: ASYNC110 - no event
                await anyio.sleep(0.02)
        assert (await http.post(f"jobs/{job_id}/stop/")).status_code == 202
        with anyio.fail_after(20):
            await emu.platform.wait_for(job_id, cluster="Stopped")
        history = await statuses(http, job_id)
        assert history[0] == ("Completed", "Job stopped by user request")
        assert history[1] == ("Stopping", "Stop requested by user")
        files = await outputs(http, job_id)
        assert (await content(http, files["partial.txt"]["id"])).text == "partial\n"
        assert "got TERM" in (await content(http, files["process_output.log"]["id"])).text
        assert await every(http, f"jobs/{job_id}/instances/") == []
        assert emu.platform_runner.processes == 0


async def _tail(http: httpx.AsyncClient, job_id: str) -> str:
    """What the job has printed so far ("" before its run exists)."""
    response = await http.get(f"jobs/{job_id}/runs/1/tail/process_output.log/")
    return "".join(response.json()["lines"]) if response.status_code == 200 else ""


async def test_stop_before_the_command_starts_completes_the_job_at_once() -> None:
    async with platform(quick(status_delay=5.0)) as (emu, http):
        job_id = await create(http, job_body(analysis("echo never")))
        await submit(http, job_id)
        assert (await http.post(f"jobs/{job_id}/stop/")).status_code == 202
        with anyio.fail_after(10):
            await emu.platform.wait_for(job_id)
        assert (await statuses(http, job_id))[0] == ("Completed", "Job stopped by user request")
        assert emu.platform_runner.started == 0
        response = await http.delete(f"jobs/{job_id}/")
        assert response.status_code == 204  # no cluster was ever started


async def test_delete_is_refused_until_the_cluster_has_stopped() -> None:
    async with platform(quick(cluster_stop_delay=60.0)) as (emu, http):
        job_id = await run(emu, http, job_body(analysis("true")), until_stopped=False)
        refused = await http.delete(f"jobs/{job_id}/")
        assert refused.status_code == 400  # Completed, but its cluster is still stopping
        assert "cluster status: Started" in refused.json()["detail"]
        assert job_id in emu.platform.jobs


async def test_delete_takes_the_outputs_and_on_request_the_inputs_along() -> None:
    async with platform() as (emu, http):
        kept = await upload(http, "kept.txt", b"kept")
        gone = await upload(http, "gone.txt", b"gone")
        body = job_body(analysis("cp gone.txt copy.txt", inputs=({"id": gone["id"]},)))
        job_id = await run(emu, http, body)
        copy_id = (await outputs(http, job_id))["copy.txt"]["id"]
        directory = emu.platform_runner.jobs_root / job_id
        assert directory.exists()
        deleted = await http.delete(f"jobs/{job_id}/", params={"deleteInputFiles": "true"})
        assert deleted.status_code == 204
        assert (await http.get(f"jobs/{job_id}/")).status_code == 404
        assert (await http.get(f"files/{gone['id']}/")).status_code == 404
        assert (await http.get(f"files/{copy_id}/")).status_code == 404
        assert (await http.get(f"files/{kept['id']}/")).status_code == 200
        assert not directory.exists()
        saved = await create(http, job_body(analysis("true")))
        assert (await http.delete(f"jobs/{saved}/")).status_code == 204  # never submitted


async def test_walltime_is_enforced_on_the_scaled_clock() -> None:
    async with platform(quick(walltime_hour=0.3)) as (emu, http):
        job_id = await run(emu, http, job_body(analysis("sleep 30", walltime=1)))
        assert (await statuses(http, job_id))[0] == (
            "Completed",
            "Exceeded the walltime of 1 hour",
        )


async def test_patch_changes_a_saved_job_and_nothing_once_submitted() -> None:
    async with platform() as (emu, http):
        job_id = await create(http, job_body(analysis("exit 1"), name="first"))
        patched = await ok(
            await http.patch(f"jobs/{job_id}/", json={"name": "second", "isLowPriority": True})
        )
        assert patched["name"] == "second"
        assert patched["isLowPriority"] is True
        bad = await http.patch(f"jobs/{job_id}/", json={"name": ""})
        assert bad.json() == {"name": ["This field may not be blank."]}
        await submit(http, job_id)
        with anyio.fail_after(20):
            await emu.platform.wait_for(job_id)
        unchanged = await http.patch(f"jobs/{job_id}/", json={"name": "third"})
        assert unchanged.status_code == 200
        assert unchanged.json()["name"] == "second"
        await submit(http, job_id)  # 200, and no second run
        assert emu.platform.submissions == 1
        assert emu.platform.duplicate_submissions == 1


async def test_job_listing_filters_on_state_and_status() -> None:
    async with platform() as (emu, http):
        saved = await create(http, job_body(analysis("true"), name="saved"))
        done = await run(emu, http, job_body(analysis("true"), name="done"))
        listed = await every(http, "jobs/")
        assert [j["id"] for j in listed] == [done, saved]  # newest first
        assert listed[1]["jobStatus"]["content"] == ""
        assert [j["id"] for j in await every(http, "jobs/", state="completed")] == [done]
        assert [j["id"] for j in await every(http, "jobs/", state="not_completed")] == [saved]
        assert [j["id"] for j in await every(http, "jobs/", job_status="COMPLETED")] == [done]
        assert await every(http, "jobs/", job_status="EXECUTING") == []
        refused = await http.get("jobs/", params={"job_status": "DONE"})
        assert refused.status_code == 400
        assert "job_status" in refused.json()


async def test_the_job_environment_names_the_hardware() -> None:
    async with platform() as (emu, http):
        hardware = {"coreType": "emerald", "coresPerSlot": 32, "slots": 2, "walltime": 3}
        entry = analysis("env | sort > env.txt", envVars={"MY_SETTING": "on"})
        entry["hardware"] = hardware
        job_id = await run(emu, http, job_body(entry))
        env_file = (await outputs(http, job_id))["env.txt"]
        env = dict(
            line.split("=", 1)
            for line in (await content(http, env_file["id"])).text.splitlines()
            if "=" in line
        )
        assert env["RESCALE_CORES_PER_SLOT"] == "32"
        assert env["RESCALE_SLOTS"] == "2"
        assert env["RESCALE_CORE_TYPE"] == "emerald"
        assert env["RESCALE_NODES_PER_SLOT"] == "1"
        assert env["RESCALE_NODES"] == "2"
        assert env["RESCALE_WALLTIME_HOURS"] == "3"
        assert env["MY_SETTING"] == "on"
        assert env["RESCALE_API_KEY"].startswith("job-key-")
        assert env["RESCALE_API_KEY"] not in emu.platform.job_keys  # valid only while running
        assert "RESCALE_API_URL" not in env  # in process: no URL to call back
