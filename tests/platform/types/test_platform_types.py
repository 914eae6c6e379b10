"""The platform models: tolerant responses (unknown fields and enum values kept, every observed
date format), strict requests, and the outcome rule (``Completed`` includes failures).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from rescale_async.platform.types import (
    ClusterStatus,
    CoreType,
    File,
    FileType,
    Hardware,
    Job,
    JobAnalysis,
    JobCreate,
    JobOutcome,
    JobStatus,
    JobStatusEntry,
    JobSummary,
    chronological,
)

MAY_6 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-06T07:08:09Z", MAY_6),
        ("2024-05-06T07:08:09+00:00", MAY_6),
        ("2024-05-06T00:08:09-07:00", MAY_6),
        ("2024-05-06T07:08:09.1Z", MAY_6 + timedelta(microseconds=100000)),
        ("2024-05-06T07:08:09.12+00:00", MAY_6 + timedelta(microseconds=120000)),
        ("2024-05-06T09:08:09.123+02:00", MAY_6 + timedelta(microseconds=123000)),
        ("2024-05-06T07:08:09.1234Z", MAY_6 + timedelta(microseconds=123400)),
        ("2024-05-06T07:08:09.12345Z", MAY_6 + timedelta(microseconds=123450)),
        ("2024-05-06T00:08:09.123456-07:00", MAY_6 + timedelta(microseconds=123456)),
        ("2024-05-06T07:08:09", MAY_6),  # naive: UTC
    ],
)
def test_every_observed_date_format_parses_to_an_aware_datetime(
    text: str, expected: datetime
) -> None:
    parsed = File.model_validate({"id": "f", "dateUploaded": text}).date_uploaded
    assert parsed == expected and parsed.tzinfo is not None


def test_dates_are_compared_as_instants_not_strings() -> None:
    entries = [
        JobStatusEntry.model_validate(
            {"status": "Executing", "statusDate": "2024-05-06T01:00:00-07:00"}
        ),
        JobStatusEntry.model_validate({"status": "Queued", "statusDate": "2024-05-06T07:30:00Z"}),
        JobStatusEntry.model_validate({"status": "Pending", "statusDate": None}),
    ]
    assert [e.status for e in chronological(entries)] == [
        JobStatus.PENDING,  # undated first
        JobStatus.QUEUED,
        JobStatus.EXECUTING,  # 08:00 UTC, although its text sorts first
    ]


def test_unknown_fields_and_enum_values_are_kept() -> None:
    file = File.model_validate(
        {"id": "f", "typeId": 42, "newField": [1, 2], "decryptedSize": "not a size"}
    )
    assert file.type_id == 42 and file.type_id.name == "VALUE_42"
    assert file.model_extra == {"newField": [1, 2], "decryptedSize": "not a size"}
    assert file.decrypted_size is None  # a descriptive field that does not fit is set aside
    entry = JobStatusEntry.model_validate(
        {"status": "Hibernating", "statusDate": "2024-05-06T07:08:09Z"}
    )
    assert entry.status == "Hibernating" and not entry.is_terminal
    assert ClusterStatus("Thawing") == "Thawing"


def test_only_identifying_fields_are_required() -> None:
    for model in (File, Job, JobSummary):
        with pytest.raises(ValidationError, match="id"):
            model.model_validate({"name": "no id"})
        assert model.model_validate({"id": 7}).id == "7"
    job = Job.model_validate(
        {"id": "j", "jobanalyses": [{"hardware": {"coreType": {"code": "granite"}}}]}
    )
    assert job.jobanalyses and job.jobanalyses[0].hardware
    assert job.jobanalyses[0].hardware.model_extra == {"coreType": {"code": "granite"}}


def test_a_file_tells_its_checksum() -> None:
    file = File.model_validate(
        {
            "id": "f",
            "fileChecksums": [
                {"hashFunction": "md5", "fileHash": "X"},
                {"hashFunction": "SHA512", "fileHash": "ABCD"},
            ],
        }
    )
    assert file.sha512 == "abcd" and file.checksum("md5") == "x"
    assert File.model_validate({"id": "f", "fileChecksums": []}).sha512 is None
    assert FileType(5) is FileType.OUTPUT


def analysis(**changes: Any) -> dict[str, Any]:
    return {
        "analysis": {"code": "user_included", "version": "0"},
        "command": "python3 calculate_pi.py range.inp",
        "hardware": {"coreType": "granite", "coresPerSlot": 2},
        **changes,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"jobanalyses": [analysis()]}, "name"),
        ({"name": "n", "jobanalyses": []}, "jobanalyses"),
        ({"name": "n"}, "jobanalyses"),
        ({"name": "n", "jobanalyses": [analysis(command=None)]}, "command"),
        ({"name": "n", "jobanalyses": [analysis(analysis={"code": "user_included"})]}, "version"),
        ({"name": "n", "jobanalyses": [analysis(analysis={"code": "", "version": "0"})]}, "code"),
        (
            {
                "name": "n",
                "jobanalyses": [analysis(hardware={"coreType": "granite", "coresPerSlot": 0})],
            },
            "coresPerSlot",
        ),
        ({"name": "n", "jobanalyses": [analysis(hardware={"coresPerSlot": 2})]}, "coreType"),
        (
            {"name": "n", "jobanalyses": [analysis(inputFiles=[{"id": "a", "decompres": False}])]},
            "decompres",
        ),
        ({"name": "n", "project_idd": "p", "jobanalyses": [analysis()]}, "project_idd"),
        (
            {"name": "n", "jobanalyses": [analysis(command="# "), analysis(command="  ")]},
            "no analysis has a command",
        ),
    ],
)
def test_job_create_refuses_what_is_missing_or_mistyped(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobCreate.model_validate(body)


def test_job_create_sends_camel_case_and_takes_file_ids() -> None:
    file = File.model_validate({"id": "in2"})
    body = JobCreate(
        name="n",
        is_low_priority=True,
        jobanalyses=[
            JobAnalysis.model_validate(analysis(command="# ")),
            JobAnalysis.model_validate(
                analysis(
                    inputFiles=["in1", file, {"id": "z.zip", "decompress": False}],
                    envVars={"A": "1"},
                )
            ),
        ],
    )
    wire = body.to_api()
    assert wire["isLowPriority"] is True
    assert wire["jobanalyses"][1]["inputFiles"] == [
        {"id": "in1"},
        {"id": "in2"},
        {"id": "z.zip", "decompress": False},
    ]
    assert wire["jobanalyses"][1]["envVars"] == {"A": "1"}
    assert wire["jobanalyses"][0]["hardware"] == {"coreType": "granite", "coresPerSlot": 2}


def test_check_hardware_says_what_is_allowed() -> None:
    body = JobCreate.model_validate(
        {
            "name": "n",
            "jobanalyses": [
                analysis(hardware={"coreType": "granite", "coresPerSlot": 1}),
                analysis(hardware={"coreType": "emerald_mx", "coresPerSlot": 4}),
                analysis(hardware={"coreType": "onyx", "coresPerSlot": 3}),
            ],
        }
    )
    catalogue = [
        CoreType(code="granite", cores=[2, 4]),
        CoreType(code="emerald_max", cores=[4]),
        CoreType(code="onyx"),
    ]
    with pytest.raises(ValueError, match="coresPerSlot") as err:
        body.check_hardware(catalogue)
    assert str(err.value) == (
        "jobanalyses[0].hardware.coresPerSlot: coretype 'granite' does not offer 1 cores per slot; allowed: 2, 4; "
        "jobanalyses[1].hardware.coreType: no coretype 'emerald_mx' (did you mean emerald_max?)"
    )
    JobCreate.model_validate({"name": "n", "jobanalyses": [analysis()]}).check_hardware(
        {c.code: c for c in catalogue}
    )
    assert Hardware(core_type="onyx", cores_per_slot=3).to_api() == {
        "coreType": "onyx",
        "coresPerSlot": 3,
    }


def history(*entries: tuple[str, str, str | None]) -> list[JobStatusEntry]:
    return [
        JobStatusEntry.model_validate({"status": s, "statusDate": d, "statusReason": r})
        for s, d, r in entries
    ]


@pytest.mark.parametrize(
    ("entries", "succeeded", "failure"),
    [
        ([("Completed", "2024-01-01T00:10:00Z", "Completed successfully")], True, None),
        ([("Completed", "2024-01-01T00:10:00Z", "completed successfully.")], True, None),
        (
            [("Completed", "2024-01-01T00:10:00Z", "Exceeded max number of restarts")],
            False,
            "Exceeded max number of restarts",
        ),
        (
            [
                (
                    "Completed",
                    "2024-01-01T00:10:00Z",
                    "Could not allocate compute resources from the compute provider",
                )
            ],
            False,
            "Could not allocate compute resources from the compute provider",
        ),
        ([("Completed", "2024-01-01T00:10:00Z", None)], False, None),  # no reason: not a success
        (
            [
                ("Completed", "2024-01-01T00:10:00Z", "Completed successfully"),
                ("Stopping", "2024-01-01T00:09:00Z", "A run failed"),
            ],
            False,
            "A run failed",
        ),
    ],
)
def test_completed_includes_failures_and_the_reason_decides(
    entries: list[tuple[str, str, str | None]], succeeded: bool, failure: str | None
) -> None:
    outcome = JobOutcome.from_history(history(*entries))
    assert outcome.is_terminal and outcome.status is JobStatus.COMPLETED
    assert outcome.succeeded is succeeded and outcome.failed is not succeeded
    assert outcome.failure_reason == failure


def test_an_outcome_in_progress_is_neither() -> None:
    outcome = JobOutcome.from_history(
        history(
            ("Executing", "2024-01-01T00:05:00Z", None), ("Pending", "2024-01-01T00:00:00Z", None)
        )
    )
    assert outcome.status is JobStatus.EXECUTING and not outcome.is_terminal
    assert not outcome.succeeded and not outcome.failed and outcome.failure_reason is None
    assert outcome.statuses() == [JobStatus.PENDING, JobStatus.EXECUTING]
    assert JobOutcome.from_history([]).status is None
