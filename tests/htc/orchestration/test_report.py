"""``client.jobs.report(task)``: counts per status and failure code, durations, vCPU-hours,
the failed jobs; ``to_rows()`` as plain dicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from orchestration_support import TRUE, emulated, py
from support import BASE_URL, TokenEndpoint, client, mock_api

from rescale_async import FailureCode, JobSpec, TaskRef

PID, TID = "proj-1", "task-1"
JOBS = f"/htc/projects/{PID}/tasks/{TID}/jobs"


async def test_a_report_of_an_emulated_task(tmp_path: Path) -> None:
    missing = JobSpec(image="python:3.11", commands=[str(tmp_path / "absent")])
    specs = [TRUE, py("import time; time.sleep(0.2)", vcpus=2), py("raise SystemExit(3)"), missing]
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit_many(s.task, specs)
        await batch.wait(interval=0.01)
        report = await s.client.jobs.report(s.task)
        assert report.total == 4 and report.succeeded == 2
        assert report.by_status == {"SUCCEEDED": 2, "FAILED": 2}
        assert report.by_failure_code == {
            "ErrorNonZeroContainerExitCode": 1,
            "ErrorStartingContainer": 1,
        }
        assert sorted(f.job.job_id for f in report.failed) == sorted(batch.job_ids[2:])
        durations = report.durations
        assert durations.count >= 3
        assert durations.min is not None and durations.median is not None
        assert durations.max is not None
        assert 0 <= durations.min <= durations.median <= durations.max
        assert durations.max >= 0.2  # the sleeper ran that long at least
        rows = report.to_rows()
        assert sorted(row["job_id"] for row in rows) == sorted(batch.job_ids)
        sleeper = next(row for row in rows if row["job_id"] == batch.job_ids[1])
        assert sleeper["vcpus"] == 2 and sleeper["vcpu_hours"] >= 2 * 0.2 / 3600
        assert report.vcpu_hours == pytest.approx(sum(row["vcpu_hours"] for row in rows))
        grouped = await s.client.jobs.report(s.task, group=batch.group)
        assert grouped.total == 4 and grouped.group == batch.group
        with pytest.raises(ValueError, match="group must be a non-empty name"):
            await s.client.jobs.report(s.task, group=" ")


def _job(job_id: str, status: str, *, start: str | None, end: str | None, **extra: Any) -> Any:
    return {
        "jobUUID": job_id,
        "projectId": PID,
        "taskId": TID,
        "group": "g",
        "status": status,
        "maxVCpus": 4,
        "startedAt": start,
        "completedAt": end,
        **extra,
    }


async def test_a_report_over_a_mocked_listing_counts_exactly() -> None:
    jobs = [
        _job("p:0", "SUCCEEDED", start="2026-01-01T00:00:00Z", end="2026-01-01T00:30:00Z"),
        _job("p:1", "SUCCEEDED", start="2026-01-01T00:00:00Z", end="2026-01-01T01:00:00Z"),
        _job(
            "p:2",
            "FAILED",
            start="2026-01-01T00:00:00Z",
            end="2026-01-01T02:00:00Z",
            failureCode="ErrorNotEnoughMemory",
        ),
        _job("p:3", "FAILED", start=None, end=None, failureCode="ErrorProviderDown"),
        _job("p:4", "A_STATUS_FROM_THE_FUTURE", start=None, end=None),
    ]
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.get(JOBS).respond(json={"items": jobs})
        async with client() as c:
            report = await c.jobs.report(TaskRef(PID, TID), group="g")
    params = dict(route.calls.last.request.url.params.multi_items())
    assert params["viewType"] == "FULL" and params["group"] == "g"
    assert BASE_URL in str(route.calls.last.request.url)
    assert report.by_status == {"SUCCEEDED": 2, "FAILED": 2, "A_STATUS_FROM_THE_FUTURE": 1}
    assert report.by_failure_code == {"ErrorNotEnoughMemory": 1, "ErrorProviderDown": 1}
    assert (report.durations.count, report.durations.min) == (3, 1800.0)
    assert (report.durations.median, report.durations.max) == (3600.0, 7200.0)
    assert report.vcpu_hours == pytest.approx(4 * 3.5)
    assert [(f.job.job_id, f.failure_code) for f in report.failed] == [
        ("p:2", FailureCode.ErrorNotEnoughMemory),
        ("p:3", FailureCode.ErrorProviderDown),
    ]
    data = report.to_dict()
    assert data["durations"]["medianSeconds"] == 3600.0
    assert data["failed"][0] == {
        "jobId": "p:2",
        "status": "FAILED",
        "failureCode": "ErrorNotEnoughMemory",
    }
    rows = report.to_rows()
    assert [row["seconds"] for row in rows] == [1800.0, 3600.0, 7200.0, None, None]
    assert all(set(row) == set(rows[0]) for row in rows)
