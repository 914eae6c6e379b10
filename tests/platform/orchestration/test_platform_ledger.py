"""The run ledger: a private SQLite file, shared with HTC's ledger, refusing what is not its own."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rescale_async import Ledger, LedgerError, TaskRef
from rescale_async.platform.orchestration import RunLedger
from rescale_async.platform.orchestration._ledger import (
    RecordedOutput,
    RunRecord,
    Stage,
    as_run_ledger,
)


async def test_a_run_is_found_again_as_it_was_recorded(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    ledger = RunLedger(path)
    key = ledger.next_key("d" * 64)
    assert key != ledger.next_key("d" * 64)  # the same run twice in a process: two runs
    record = RunRecord(key, "d" * 64, "rescale_async run 0123")
    await ledger.begin(record)
    await ledger.record_input(record, 1, "file-b")
    await ledger.record_input(record, 0, "file-a")
    await ledger.record_stage(record, Stage.CREATED, "job-1")
    output = RecordedOutput("out-1", tmp_path / "x.txt", 3, "sha512", "ab" * 64)
    await ledger.record_output("job-1", output)
    ledger.close()

    again = RunLedger(path)  # another process
    assert again.next_key("d" * 64) == key
    found = await again.find(key, "d" * 64)
    assert found is not None
    assert (found.marker, found.stage, found.job_id) == (record.marker, Stage.CREATED, "job-1")
    assert found.inputs == {0: "file-a", 1: "file-b"}
    assert await again.outputs("job-1") == {"out-1": output}
    assert await again.find("run/other/0", "d" * 64) is None
    with pytest.raises(LedgerError, match="holds another run under the key"):
        await again.find(key, "e" * 64)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert repr(again) == f"RunLedger({str(path)!r})"


async def test_one_file_serves_htc_and_the_platform(tmp_path: Path) -> None:
    path = tmp_path / "both.db"
    runs = RunLedger(path)
    await runs.begin(RunRecord("k", "d", "m"))
    htc = Ledger(path)
    assert await htc.job_states(["x:0"]) == {}
    await htc.record_states([(TaskRef("p", "t"), "x:0", "RUNNING", None)])
    assert (await runs.find("k", "d")) is not None
    assert await Ledger(path).job_states(["x:0"]) == {"x:0": ("RUNNING", None)}


async def test_other_files_and_values_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a database, " * 100)
    with pytest.raises(LedgerError, match="is not a rescale_async ledger"):
        await RunLedger(garbage).find("k", "d")
    path = tmp_path / "runs.db"
    assert as_run_ledger(path) is as_run_ledger(str(path))
    assert as_run_ledger(None) is None
    with pytest.raises(TypeError, match="ledger must be a RunLedger or a file path"):
        as_run_ledger(3)  # type: ignore[arg-type]
