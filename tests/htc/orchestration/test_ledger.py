"""The ledger: a re-run finds its submissions and statuses again, and never sends twice."""

from __future__ import annotations

import os
import sqlite3
import stat
from functools import partial
from pathlib import Path

import anyio
import pytest
from orchestration_support import TRUE, emulated, py
from support import client, mock_api

from rescale_async import Ledger, LedgerError, TaskRef
from rescale_async.htc.orchestration._ledger import Submission, as_ledger, digest_of

BATCH = "/jobs/batch"


async def test_the_ledger_file_is_private_and_other_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sweep.db"
    ledger = Ledger(path)
    assert await ledger.job_states(["x:0"]) == {}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert repr(ledger) == f"Ledger({str(path)!r})"
    ledger.close()

    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a database, " * 100)
    with pytest.raises(LedgerError, match="is not a rescale_async ledger"):
        await Ledger(garbage).job_states([])
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        await Ledger(tmp_path / "missing" / "dir.db").job_states([])
    assert as_ledger(path) is as_ledger(str(path))  # one Ledger per file in a process
    assert as_ledger(ledger) is ledger
    with pytest.raises(TypeError, match="ledger must be a Ledger or a file path"):
        as_ledger(3)  # type: ignore[arg-type]


async def test_a_rerun_gets_its_batches_back_without_sending_anything(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    async with emulated() as s:
        first_run = Ledger(path)
        one = await s.client.jobs.submit(s.task, TRUE, count=3, ledger=first_run)
        two = await s.client.jobs.submit(s.task, TRUE, count=3, ledger=first_run)  # the same again
        other = await s.client.jobs.submit_many(s.task, [TRUE, py("pass")], ledger=first_run)
        assert len({*one.job_ids, *two.job_ids}) == 6
        posts = s.requests("POST", BATCH)
        assert posts == 3

        second_run = Ledger(path)  # a new process: counting starts over
        again = [
            await s.client.jobs.submit(s.task, TRUE, count=3, ledger=second_run),
            await s.client.jobs.submit(s.task, TRUE, count=3, ledger=second_run),
            await s.client.jobs.submit_many(s.task, [TRUE, py("pass")], ledger=second_run),
        ]
        assert [b.job_ids for b in again] == [one.job_ids, two.job_ids, other.job_ids]
        assert [b.groups for b in again] == [one.groups, two.groups, other.groups]
        assert s.requests("POST", BATCH) == posts
        assert len(s.emu.state.jobs) == 8


async def test_keys_and_groups_cannot_be_reused_for_other_jobs(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "keys.db")
    async with emulated() as s:
        await s.client.jobs.submit(s.task, TRUE, ledger=ledger, key="sweep-1", group="g1")
        posts = s.requests("POST", BATCH)
        with pytest.raises(LedgerError, match="holds other jobs under the key 'sweep-1'"):
            await s.client.jobs.submit(s.task, TRUE, count=2, ledger=ledger, key="sweep-1")
        with pytest.raises(LedgerError, match="the group 'g1' already belongs to the submission"):
            await s.client.jobs.submit(s.task, TRUE, count=2, ledger=ledger, group="g1")
        assert s.requests("POST", BATCH) == posts


async def test_a_post_cut_off_after_the_service_acted_is_not_sent_again(tmp_path: Path) -> None:
    """The process stops (here: is cancelled) while its POST is answered slowly; the re-run
    finds the jobs by the group recorded before the POST.
    """
    path = tmp_path / "cut.db"
    async with emulated() as s:
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", hold=30.0, times=1)
        async with anyio.create_task_group() as group:
            group.start_soon(partial(s.client.jobs.submit, s.task, TRUE, 5, ledger=Ledger(path)))
            with anyio.fail_after(10):
                while len(s.emu.state.jobs) < 5:  # noqa: ASYNC110 - the emulator's own state
                    await anyio.sleep(0.01)
            group.cancel_scope.cancel()  # the kill: the answer never arrives
        assert s.requests("POST", BATCH) == 1

        batch = await s.client.jobs.submit(s.task, TRUE, count=5, ledger=Ledger(path))
        assert s.requests("POST", BATCH) == 1
        assert set(batch.job_ids) == set(s.emu.state.jobs)
        assert {job.group for job in s.emu.state.jobs.values()} == {batch.group}


async def test_an_intent_whose_post_never_left_is_sent_once(tmp_path: Path) -> None:
    path = tmp_path / "intent.db"
    async with emulated() as s:
        task = TaskRef(s.task.project_id, s.task.task_id)
        bodies = [[TRUE.to_request(4).to_api()]]
        intent = Submission(key="k", task=task, group="g-intent", bodies=bodies, baseline=0)
        await Ledger(path).record_intent(intent, digest_of(bodies))  # then the process died

        batch = await s.client.jobs.submit(s.task, TRUE, count=4, ledger=Ledger(path), key="k")
        assert batch.group == "g-intent"
        assert s.requests("POST", BATCH) == 1
        assert s.groups() == {"g-intent": 4}
        assert s.requests("GET", "/jobs") >= 1  # it asked before sending


async def test_a_resumed_watch_reports_only_what_changed_since(tmp_path: Path) -> None:
    path = tmp_path / "watch.db"
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, TRUE, count=4, ledger=path)
        with anyio.fail_after(60):
            seen = [e async for e in batch.watch(interval=0.01, ledger=path)]
        assert {e.job_id for e in seen} == set(batch.job_ids)
        recorded = await Ledger(path).job_states(batch.job_ids)
        assert {status for status, _ in recorded.values()} == {"SUCCEEDED"}

        again = [e async for e in s.client.jobs.watch(batch, interval=0.01, ledger=Ledger(path))]
        assert again == []
        result = await s.client.jobs.wait(batch, interval=0.01, ledger=Ledger(path))
        assert result.ok


async def test_watching_without_submitting_through_the_ledger_records_states(
    tmp_path: Path,
) -> None:
    path = tmp_path / "task.db"
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, TRUE, count=2)
        with anyio.fail_after(60):
            await s.client.jobs.wait(s.task, interval=0.01, ledger=path)
        recorded = await Ledger(path).job_states([*batch.job_ids, "unknown:0"])
        assert set(recorded) == set(batch.job_ids)


def test_ledger_paths_expand_the_home_directory(tmp_path: Path) -> None:
    assert as_ledger("~/x.db") is as_ledger(Path(os.environ["HOME"]) / "x.db")


async def test_a_ledger_is_not_touched_when_input_is_bad(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    with mock_api():
        async with client() as c:
            with pytest.raises(ValueError, match="count must be"):
                await c.jobs.submit(TaskRef("p", "t"), TRUE, count=0, ledger=path)
    assert not path.exists()


async def test_a_ledger_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    await Ledger(path).job_states([])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE ledger_meta SET value = 'rescale_async ledger 0' WHERE name = 'format'")
    with pytest.raises(LedgerError, match="is a ledger of another format"):
        await Ledger(path).job_states([])


async def test_a_resumed_watch_keeps_the_recorded_failure_codes(tmp_path: Path) -> None:
    path = tmp_path / "codes.db"
    failing = py("import sys; sys.exit(3)")
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, failing, count=2, ledger=path)
        with anyio.fail_after(60):
            await batch.wait(interval=0.01, ledger=path)
            s.emu.faults.add(path_regex="/jobs$", method="GET", error_rate=1.0)  # listings fail
            s.emu.counters.reset()
            resumed = await s.client.jobs.wait(batch, interval=0.01, ledger=Ledger(path))
        assert {f.failure_code for f in resumed.failed} == {"ErrorNonZeroContainerExitCode"}
        assert sum(s.emu.counters.requests.values()) == 0  # all ended, as the ledger says
