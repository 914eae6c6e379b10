"""Responses survive a newer API: unknown fields are kept, unknown enum values parse."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import pytest
from htc_spec import EXTRA_REQUIRED, ExampleBuilder, params, schema_params, schemas
from pydantic import TypeAdapter, ValidationError

from rescale_async.htc.types import (
    TERMINAL_JOB_STATUSES,
    APIModel,
    ContainerDetails,
    FailureCode,
    ImageState,
    ImageStatus,
    Job,
    JobList,
    JobStatus,
    JobStatusSummary,
    OAuth2ErrorBody,
    OpenEnum,
    Project,
    Region,
    RequestErrorBody,
    RequestModel,
    SubmittedJob,
)
from rescale_async.htc.types._schemas import REQUEST_TYPES, SCHEMA_TYPES

FUTURE = {"someFutureField": {"nested": [1, "two", None]}, "anotherNewField": 3}


def _models(request: bool) -> Any:
    def make(doc: str, document: dict[str, Any]) -> Any:
        builder = ExampleBuilder(
            document,
            synthesize=True,
            omit="readOnly" if request else "writeOnly",
            extra_required=EXTRA_REQUIRED,
        )
        table = REQUEST_TYPES if request else SCHEMA_TYPES
        for name, model in table.items():
            if not (isinstance(model, type) and issubclass(model, APIModel)):
                continue
            if issubclass(model, RequestModel) != request:
                continue
            payload = builder.build({"$ref": f"#/components/schemas/{name}"})
            yield name, (model, payload)

    return make


@pytest.mark.parametrize(*params("doc, model, payload", _models(False), ("patched",)))
def test_unknown_fields_are_kept_and_sent_back(
    doc: str, model: type[APIModel], payload: dict[str, Any]
) -> None:
    parsed = model.model_validate_json(json.dumps({**payload, **FUTURE}))
    assert parsed.model_extra == FUTURE
    assert parsed.to_api() == model.model_validate(payload).to_api() | FUTURE


@pytest.mark.parametrize(*params("doc, model, payload", _models(True), ("patched",)))
def test_request_models_refuse_unknown_fields(
    doc: str, model: type[APIModel], payload: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError, match="someFutureField") as info:
        model.model_validate({**payload, **FUTURE})
    assert {e["type"] for e in info.value.errors()} == {"extra_forbidden"}


def test_nested_unknown_fields_are_kept() -> None:
    job = Job.model_validate(
        {"jobUUID": "p:0", "container": {"exitCode": 137, "signal": "SIGKILL"}, "x": 1}
    )
    assert job.container == ContainerDetails.model_validate({"exitCode": 137, "signal": "SIGKILL"})
    assert job.to_api() == {
        "jobUUID": "p:0",
        "container": {"exitCode": 137, "signal": "SIGKILL"},
        "x": 1,
    }


@pytest.mark.parametrize(*schema_params("doc, name", lambda s: "enum" in s, ("patched",)))
def test_enums_are_open(doc: str, name: str) -> None:
    enum = SCHEMA_TYPES[name]
    assert isinstance(enum, type)
    assert issubclass(enum, OpenEnum)
    assert [member.value for member in enum] == schemas(doc)[name]["enum"]
    adapter: TypeAdapter[OpenEnum] = TypeAdapter(enum)
    for value in [*schemas(doc)[name]["enum"], "A_VALUE_FROM_THE_FUTURE"]:
        parsed = adapter.validate_json(json.dumps(value))
        assert parsed == value
        assert parsed.value == value
        assert str(parsed) == value
        assert adapter.dump_python(parsed, mode="json") == value
    assert adapter.validate_python(schemas(doc)[name]["enum"][0]) is next(iter(enum))


def test_unknown_enum_value_is_a_value_not_a_crash() -> None:
    status = JobStatus("PAUSED_BY_SCHEDULER")
    assert isinstance(status, JobStatus)
    assert status.name == status.value == "PAUSED_BY_SCHEDULER"
    assert status != JobStatus.RUNNING
    with pytest.raises(ValueError, match="JobStatus"):
        JobStatus(3)


def test_unknown_job_status_region_and_failure_code_parse() -> None:
    job = Job.model_validate(
        {
            "jobUUID": "parent:3",
            "status": "QUARANTINED",
            "region": "AWS_MARS_NORTH_1",
            "failureCode": "ErrorSolarFlare",
        }
    )
    assert job.status == "QUARANTINED"
    assert isinstance(job.status, JobStatus)
    assert isinstance(job.region, Region)
    assert isinstance(job.failure_code, FailureCode)
    assert not job.is_terminal
    assert job.to_api()["region"] == "AWS_MARS_NORTH_1"
    project = Project.model_validate(
        {
            "projectId": "p",
            "projectName": "n",
            "projectDescription": "d",
            "regions": ["AWS_US_EAST_1", "GCP_MOON_1"],
        }
    )
    assert project.regions == [Region.AWS_US_EAST_1, "GCP_MOON_1"]


@pytest.mark.parametrize("status", list(JobStatus))
def test_is_terminal(status: JobStatus) -> None:
    terminal = {"SUCCEEDED", "FAILED", "POD_SUCCEEDED", "POD_FAILED"}
    assert status.is_terminal is (status.value in terminal)
    assert (status in TERMINAL_JOB_STATUSES) is status.is_terminal
    assert Job(job_uuid="p:0", status=status).is_terminal is status.is_terminal


def test_unknown_or_missing_status_is_not_terminal() -> None:
    assert not JobStatus("SOMETHING_NEW").is_terminal
    assert not Job(job_uuid="p:0").is_terminal


def test_job_ids() -> None:
    job = Job.model_validate({"jobUUID": "abc:7", "projectId": "p", "taskId": "t"})
    assert (job.id, job.job_id, job.project_id, job.task_id) == ("abc:7", "abc:7", "p", "t")
    submitted = SubmittedJob.model_validate(
        {"parentJobId": "abc", "batchSize": 3, "htcJobDefinition": {"imageName": "img"}}
    )
    assert submitted.job_ids == ["abc:0", "abc:1", "abc:2"]
    single = SubmittedJob(parent_job_id="abc", htc_job_definition={"imageName": "img"})  # type: ignore[arg-type]
    assert single.job_ids == ["abc:0"]


def test_submission_echo_keeps_fields_the_service_adds() -> None:
    echo = {
        "parentJobId": "abc",
        "htcJobDefinition": {"imageName": "img", "gpuType": "H100"},
        "retryStrategy": {"maxRetries": 2, "backoff": "EXPONENTIAL"},
        "experimental": {"newFeature": True},
    }
    assert SubmittedJob.model_validate(echo).to_api() == echo


def test_job_status_summary_is_a_map_of_status_to_count() -> None:
    summary = JobStatusSummary.model_validate(
        {"group": None, "jobStatuses": {"RUNNING": 2, "SUCCEEDED": 5, "HIBERNATING": 1}}
    )
    assert summary.job_statuses == {JobStatus.RUNNING: 2, JobStatus.SUCCEEDED: 5, "HIBERNATING": 1}
    assert summary.total == 8
    assert summary.to_api()["jobStatuses"]["HIBERNATING"] == 1


def test_naive_timestamps_are_utc_and_nullable_ones_accept_null() -> None:
    job = Job.model_validate(
        {"jobUUID": "p:0", "createdAt": "2024-01-02T03:04:05", "completedAt": None}
    )
    assert job.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert job.completed_at is None
    assert job.to_api() == {
        "jobUUID": "p:0",
        "createdAt": "2024-01-02T03:04:05Z",
        "completedAt": None,
    }


def test_pages_and_error_bodies() -> None:
    page = JobList.model_validate({"items": [{"jobUUID": "p:0"}]})
    assert page.next is None
    assert [job.job_id for job in page.items] == ["p:0"]
    assert JobList.model_validate({}).items == []
    assert OAuth2ErrorBody(error="not_found").detail == "not_found"
    body = RequestErrorBody.model_validate(
        {"errorType": "VALIDATION", "errorDescription": "bad", "message": None}
    )
    assert body.detail == "bad"
    assert ImageStatus(status=ImageState.READY).is_ready
    assert not ImageStatus.model_validate({"status": "SCANNING"}).is_ready


def test_enums_compare_as_strings() -> None:
    assert isinstance(JobStatus.RUNNING, str)
    assert isinstance(JobStatus.RUNNING, Enum)
    assert JobStatus.RUNNING == "RUNNING"
    assert f"{JobStatus.RUNNING}" == "RUNNING"
