"""Responses are parsed tolerantly: only a missing identifying field fails, and names itself.

For every response schema, an example built from the spec has each non-identifying property
deleted, nulled, given an unexpected enum value and given a value of the wrong type: the model
still parses, the field is unset (or keeps the new value) and ``to_api()`` sends back what came.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from htc_spec import EXTRA_REQUIRED, IDENTIFYING, MISSING, ExampleBuilder, merged, params, spec
from pydantic import BaseModel, ValidationError

from rescale_async import ResponseValidationError
from rescale_async._core.parsing import parse
from rescale_async.htc.types import (
    APIModel,
    Job,
    JobDefinition,
    JobList,
    JobLogList,
    JobSubmitRequest,
    LogEvent,
    Project,
    ProjectCreate,
    ProjectLimit,
    ProjectList,
    RequestModel,
    RetryStrategy,
    SubmittedJob,
    SubmittedJobs,
    Task,
    TaskList,
)
from rescale_async.htc.types._schemas import SCHEMA_TYPES

FUTURE_VALUE = "A_VALUE_FROM_THE_FUTURE"


def _field_name(model: type[BaseModel], wire: str) -> str:
    return next(name for name, f in model.model_fields.items() if (f.alias or name) == wire)


def _default(model: type[BaseModel], wire: str) -> Any:
    return model.model_fields[_field_name(model, wire)].get_default(call_default_factory=True)


def _wrong_type(schema: dict[str, Any]) -> Any:
    """A value no property of ``schema``'s type would accept as is."""
    if schema.get("format") == "date-time":
        return "not-a-date"
    if schema.get("type") in {"integer", "number", "boolean"}:
        return "not-a-number"
    return {"not": "a list"} if schema.get("type") == "array" else 12345


def _is_enum(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An enum property, or a list of enum values (not the published spec's object "enum")."""
    if schema.get("type") == "array":
        return "enum" in merged(document, schema["items"])
    return "enum" in schema and schema.get("type") != "object"


def _response_models(doc: str, document: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """``(schema, model, payload)`` for every response model, with the spec's own example
    where it has one and with a value for every property.
    """
    for synthesize in (False, True):
        builder = ExampleBuilder(
            document, synthesize=synthesize, omit="writeOnly", extra_required=EXTRA_REQUIRED
        )
        for name in document["components"]["schemas"]:
            model = SCHEMA_TYPES[name]
            if not (isinstance(model, type) and issubclass(model, APIModel)):
                continue
            if issubclass(model, RequestModel):
                continue
            payload = builder.build({"$ref": f"#/components/schemas/{name}"})
            if payload is MISSING or not payload:
                continue
            label = "every-property" if synthesize else "example"
            yield f"{name}-{label}", (name, model, payload)


def _properties(document: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    schema = merged(document, {"$ref": f"#/components/schemas/{name}"})
    return {prop: merged(document, sub) for prop, sub in schema.get("properties", {}).items()}


def _parsed(model: type[APIModel], payload: dict[str, Any]) -> APIModel:
    """``payload`` parsed from JSON, as a response is, and from Python: both must agree."""
    from_json = model.model_validate_json(json.dumps(payload))
    assert model.model_validate(payload) == from_json
    return from_json


def _response(payload: Any) -> httpx.Response:
    request = httpx.Request("GET", "https://htc.example.com/api/v1/htc/projects")
    return httpx.Response(200, content=json.dumps(payload).encode(), request=request)


@pytest.mark.parametrize(*params("doc, name, model, payload", _response_models))
def test_descriptive_fields_never_fail_a_response(
    doc: str, name: str, model: type[APIModel], payload: dict[str, Any]
) -> None:
    properties = _properties(spec(doc), name)
    descriptive = [prop for prop in payload if prop not in IDENTIFYING.get(name, set())]
    for prop in descriptive:
        attribute = _field_name(model, prop)
        deleted = {k: v for k, v in payload.items() if k != prop}
        assert getattr(_parsed(model, deleted), attribute) == _default(model, prop), prop

        nulled = _parsed(model, {**payload, prop: None})
        assert getattr(nulled, attribute) in (None, []), prop
        assert nulled.to_api()[prop] in (None, []), prop

        sub = properties.get(prop, {})
        if _is_enum(spec(doc), sub):
            value: Any = [FUTURE_VALUE] if sub.get("type") == "array" else FUTURE_VALUE
            parsed = _parsed(model, {**payload, prop: value})
            assert getattr(parsed, attribute) == value, prop
            assert parsed.to_api()[prop] == value, prop

        if _field_name(model, prop) in model._strict_fields:
            continue
        wrong = _wrong_type(sub)
        parsed = _parsed(model, {**payload, prop: wrong})
        assert parsed.to_api()[prop] == wrong, prop  # kept as it came, sent back unchanged


@pytest.mark.parametrize(*params("doc, name, model, payload", _response_models))
def test_a_missing_identifying_field_is_named(
    doc: str, name: str, model: type[APIModel], payload: dict[str, Any]
) -> None:
    identifying = IDENTIFYING.get(name, set())
    assert {f.alias or n for n, f in model.model_fields.items() if f.is_required()} == identifying
    for prop in identifying:
        incomplete = {k: v for k, v in payload.items() if k != prop}
        with pytest.raises(ResponseValidationError) as info:
            parse(_response(incomplete), model)
        assert f"the identifying field {prop!r} is missing or null" in str(info.value)
        assert f"{prop}: Field required" in str(info.value)
        with pytest.raises(ResponseValidationError, match=f"{prop}: .*{prop!r} is missing or null"):
            parse(_response({**payload, prop: None}), model)


PAGES: list[tuple[type[APIModel], dict[str, Any], str]] = [
    (ProjectList, {"projectId": "p-1"}, "projectId"),
    (TaskList, {"projectId": "p-1", "taskId": "t-1"}, "taskId"),
    (JobList, {"jobUUID": "j:0"}, "jobUUID"),
]


@pytest.mark.parametrize(("page", "item", "identifying"), PAGES)
def test_one_item_without_its_id_fails_the_page_naming_where(
    page: type[APIModel], item: dict[str, Any], identifying: str
) -> None:
    bad = {k: v for k, v in item.items() if k != identifying}
    with pytest.raises(ResponseValidationError, match=rf"items\.1\.{identifying}: Field required"):
        parse(_response({"items": [item, bad]}), page)


def test_projects_without_descriptions_list_fine() -> None:
    body = {
        "items": [
            {"projectId": "p-1"},
            {"projectId": "p-2", "projectName": None, "projectDescription": None},
            {"projectId": "p-3", "projectName": 7, "regions": ["AWS_US_EAST_1", "MARS_1"]},
        ],
        "next": None,
    }
    page = parse(_response(body), ProjectList)
    assert [p.project_id for p in page.items] == ["p-1", "p-2", "p-3"]
    assert [p.project_description for p in page.items] == [None, None, None]
    assert page.items[2].project_name is None
    assert page.items[2].model_extra == {"projectName": 7}
    assert page.items[2].regions == ["AWS_US_EAST_1", "MARS_1"]


def test_a_misfit_is_kept_as_given_and_sent_back() -> None:
    job = Job.model_validate(
        {
            "jobUUID": "p:0",
            "status": 3,
            "container": "gone",
            "createdAt": "",
            "maxVCpus": "lots",
            "envs": [{"name": "A"}, {"name": "B", "value": None}],
        }
    )
    assert (job.status, job.container, job.created_at, job.max_vcpus) == (None, None, None, None)
    assert job.envs is not None and [(e.name, e.value) for e in job.envs] == [("A", None)] * 1 + [
        ("B", None)
    ]
    assert job.model_extra == {
        "status": 3,
        "container": "gone",
        "createdAt": "",
        "maxVCpus": "lots",
    }
    assert job.to_api()["maxVCpus"] == "lots"


def test_an_echoed_submission_outside_the_limits_still_parses() -> None:
    echo = [
        {
            "parentJobId": "abc",
            "batchSize": 5000,
            "htcJobDefinition": {"maxVCpus": 999, "envs": [{"name": "RESCALE_HTC_X", "value": 1}]},
            "retryStrategy": {"maxRetries": 11},
        }
    ]
    (submitted,) = parse(_response(echo), SubmittedJobs)
    assert isinstance(submitted, SubmittedJob)
    assert submitted.batch_size == 5000
    assert len(submitted.job_ids) == 5000
    assert submitted.htc_job_definition is not None
    assert submitted.htc_job_definition.max_vcpus == 999
    envs = submitted.htc_job_definition.envs
    assert envs is not None
    (env,) = envs
    assert (env.name, env.value, env.model_extra) == ("RESCALE_HTC_X", None, {"value": 1})
    assert submitted.retry_strategy is None
    assert submitted.to_api() == echo[0]


def test_missing_log_parts_and_null_pages() -> None:
    page = JobLogList.model_validate({"items": [{"message": "hi"}, {"timestamp": None}]})
    assert page.items == [LogEvent(message="hi"), LogEvent(timestamp=None)]
    assert JobLogList.model_validate({"items": None}).items == []
    with pytest.raises(ValidationError, match="next"):
        JobLogList.model_validate({"items": [], "next": 5})
    with pytest.raises(ValidationError, match="items"):
        JobLogList.model_validate({"items": "none"})


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2024-05-06T07:08:09Z", "2024-05-06T07:08:09+00:00"),
        ("2024-05-06T07:08:09.123456789Z", "2024-05-06T07:08:09.123456+00:00"),
        ("2024-05-06 07:08:09", "2024-05-06T07:08:09+00:00"),
        ("2024-05-06T09:08:09+02:00", "2024-05-06T09:08:09+02:00"),
        ("2024-05-06T07:08:09Z[UTC]", "2024-05-06T07:08:09+00:00"),
        ("2024-05-06T09:08:09+02:00[Europe/Paris]", "2024-05-06T09:08:09+02:00"),
        (1714979289, "2024-05-06T07:08:09+00:00"),
    ],
)
def test_observed_timestamp_formats(text: object, iso: str) -> None:
    task = Task.model_validate({"projectId": "p", "taskId": "t", "createdAt": text})
    assert task.created_at is not None
    assert task.created_at.isoformat() == iso


def test_requests_stay_strict() -> None:
    with pytest.raises(ValidationError, match="projectDescription"):
        ProjectCreate.model_validate({"projectName": "n"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ProjectCreate.model_validate({"projectName": "n", "projectDescription": "d", "x": 1})
    with pytest.raises(ValidationError, match=r"regionSettings\[0\]\.storageSettings"):
        ProjectCreate.model_validate(
            {
                "projectName": "n",
                "projectDescription": "d",
                "regionSettings": [{"computeSettings": {"computeRegion": "AWS_US_EAST_1"}}],
            }
        )
    with pytest.raises(ValidationError, match=r"envs\[1\]\.value: Field required"):
        JobDefinition.model_validate(
            {"imageName": "img", "envs": [{"name": "A", "value": "1"}, {"name": "B"}]}
        )
    with pytest.raises(
        ValidationError, match=r"claims\[0\]\.value: Input should be a valid string"
    ):
        JobDefinition.model_validate({"imageName": "img", "claims": [{"name": "A", "value": 1}]})
    with pytest.raises(ValidationError, match="imageName"):
        JobDefinition.model_validate({"commands": ["true"]})
    with pytest.raises(ValidationError, match="maxRetries"):
        JobSubmitRequest.model_validate(
            {"htcJobDefinition": {"imageName": "img"}, "retryStrategy": {"maxRetries": "x"}}
        )
    with pytest.raises(ValidationError, match="maxRetries"):
        RetryStrategy.model_validate({"maxRetries": 11})


def test_a_limit_needs_its_id() -> None:
    assert ProjectLimit.model_validate({"id": 4}).v_cpus is None
    with pytest.raises(ValidationError, match="id"):
        ProjectLimit.model_validate({"vCPUs": 4})
    assert Project.model_validate({"projectId": "p"}).project_name is None
