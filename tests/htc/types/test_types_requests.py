"""Request models refuse what the service would refuse, before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from htc_spec import merged, params, spec
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from rescale_async.htc.types import (
    JobDefinition,
    JobSubmitRequest,
    LimitCreate,
    LimitUpdate,
    ProjectCreate,
    RetryStrategy,
    TaskRetentionPolicyUpdate,
)
from rescale_async.htc.types._schemas import REQUEST_TYPES, SCHEMA_TYPES

# The smallest valid body of each request model that carries a bounded field.
MINIMAL: dict[type[BaseModel], dict[str, Any]] = {
    JobDefinition: {"imageName": "my-image"},
    JobSubmitRequest: {"htcJobDefinition": {"imageName": "my-image"}},
    RetryStrategy: {},
    LimitCreate: {"vCPUs": 1, "modifierRole": "PROJECT_ADMIN"},
    LimitUpdate: {"vCPUs": 1},
    TaskRetentionPolicyUpdate: {"archiveAfter": 0, "deleteAfter": 0},
}

# Which request models take a bounded property of a response-only schema.
BOUNDS_CARRIED_BY = {"HTCProjectLimit": [LimitCreate, LimitUpdate]}
NO_REQUEST_BODY = {"HTCWorkspaceLimit"}  # only ever read

# The bounds NOTES.md documents; the spec must agree and each must be enforced.
DOCUMENTED_BOUNDS = {
    ("HTCJobDefinition", "maxVCpus"): (1, 64),
    ("HTCJobDefinition", "maxMemory"): (4, 235520),
    ("HTCJobDefinition", "maxDiskGiB"): (0, 64000),
    ("HTCJobDefinition", "execTimeoutSeconds"): (60, 1209600),
    ("HTCJobSubmitRequest", "batchSize"): (1, 1000),
    ("HTCRetryStrategy", "maxRetries"): (0, 10),
}

Bound = tuple[type[BaseModel], str, int | None, int | None]


def spec_bounds(document: dict[str, Any]) -> Iterator[tuple[str, str, int | None, int | None]]:
    """``(schema, property, minimum, maximum)`` for every bounded integer property."""
    for name, schema in document["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            full = merged(document, sub)
            if "minimum" in full or "maximum" in full:
                yield name, prop, full.get("minimum"), full.get("maximum")


def _bound_cases(doc: str, document: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    for name, prop, low, high in spec_bounds(document):
        if name in NO_REQUEST_BODY:
            continue
        default = REQUEST_TYPES.get(name, SCHEMA_TYPES[name])
        for model in BOUNDS_CARRIED_BY.get(name, [default]):
            assert isinstance(model, type)
            yield f"{name}.{prop}-{model.__name__}", ((model, prop, low, high),)


BOUND_CASES = params("doc, case", _bound_cases, ("patched",))


def python_name(model: type[BaseModel], wire: str) -> str:
    return next(n for n, f in model.model_fields.items() if (f.alias or n) == wire)


def body(model: type[BaseModel], wire: str, key: str, value: int) -> dict[str, Any]:
    """The minimal body of ``model`` with ``wire`` set to ``value`` under the name ``key``."""
    return {**{k: v for k, v in MINIMAL[model].items() if k != wire}, key: value}


def outside(low: int | None, high: int | None) -> st.SearchStrategy[int]:
    below = st.integers(max_value=low - 1) if low is not None else st.nothing()
    above = st.integers(min_value=high + 1) if high is not None else st.nothing()
    return below | above


def test_documented_bounds_match_the_spec() -> None:
    found = {(n, p): (lo, hi) for n, p, lo, hi in spec_bounds(spec("patched"))}
    for key, bounds in DOCUMENTED_BOUNDS.items():
        assert found[key] == bounds


@pytest.mark.parametrize(*BOUND_CASES)
@settings(max_examples=60)
@given(data=st.data())
def test_out_of_range_values_are_refused(doc: str, case: Bound, data: st.DataObject) -> None:
    model, wire, low, high = case
    value = data.draw(outside(low, high), label=wire)
    name = python_name(model, wire)
    for by, key in (("wire name", wire), ("python name", name)):
        with pytest.raises(ValidationError) as info:
            model.model_validate(body(model, wire, key, value))
        (error,) = info.value.errors()
        assert error["loc"] == (key,), by
        too_low = low is not None and value < low
        expected = f"greater than or equal to {low}" if too_low else f"less than or equal to {high}"
        assert expected in error["msg"]
        assert key in str(info.value)


@pytest.mark.parametrize(*BOUND_CASES)
@settings(max_examples=60)
@given(data=st.data())
def test_in_range_values_are_accepted(doc: str, case: Bound, data: st.DataObject) -> None:
    model, wire, low, high = case
    value = data.draw(st.integers(low, high if high is not None else 2**31 - 1), label=wire)
    parsed = model.model_validate(body(model, wire, wire, value))
    assert getattr(parsed, python_name(model, wire)) == value
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)[wire] == value


@settings(max_examples=40)
@given(vcpus=outside(1, 64), retries=outside(0, 10))
def test_nested_errors_point_into_the_submission(vcpus: int, retries: int) -> None:
    with pytest.raises(ValidationError) as info:
        JobSubmitRequest.model_validate(
            {
                "htcJobDefinition": {"imageName": "img", "maxVCpus": vcpus},
                "retryStrategy": {"maxRetries": retries},
            }
        )
    locations = {error["loc"] for error in info.value.errors()}
    assert locations == {("htcJobDefinition", "maxVCpus"), ("retryStrategy", "maxRetries")}


# Reserved environment variable names -------------------------------------------------------

_SUFFIX = st.from_regex(r"[A-Z0-9_]{0,12}", fullmatch=True)
_WORD = st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True)
RESERVED_NAMES = st.one_of(
    st.builds("{}AWS_BATCH_{}".format, st.sampled_from(["", "MY_"]), _SUFFIX),
    st.builds("RESCALE_HTC_{}".format, _SUFFIX),
    st.builds("RESCALE_{}_ID".format, _WORD),
    st.builds("{}_SHARED_FOLDER".format, _WORD),
    st.sampled_from(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]),
    st.builds("RDF_{}".format, _SUFFIX),
)
ORDINARY_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,24}", fullmatch=True).filter(
    lambda name: (
        not name.startswith(("AWS_", "RESCALE_", "RDF_"))
        and "AWS_BATCH_" not in name
        and "SHARED_FOLDER" not in name
    )
)


def definition_with_env(name: str) -> JobDefinition:
    return JobDefinition.model_validate(
        {"imageName": "img", "envs": [{"name": "OK", "value": "1"}, {"name": name, "value": "x"}]}
    )


def _spec_env_rules(document: dict[str, Any]) -> tuple[re.Pattern[str], list[str]]:
    envs = document["components"]["schemas"]["HTCJobDefinition"]["properties"]["envs"]
    pattern = re.compile(envs["items"]["properties"]["name"]["pattern"])
    listed = [n.strip() for n in envs["description"].split(":", 1)[1].split("|")]
    return pattern, listed


@settings(max_examples=200)
@given(name=RESERVED_NAMES)
def test_reserved_env_names_are_refused_with_a_reason(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        definition_with_env(name)
    (error,) = info.value.errors()
    assert error["loc"] == ("envs",)
    assert f"envs[1].name {name!r} is a reserved environment variable name" in error["msg"]
    assert "Rescale" in error["msg"] or "AWS" in error["msg"]


def test_every_name_the_spec_lists_is_refused() -> None:
    _, listed = _spec_env_rules(spec("patched"))
    assert len(listed) == 21
    for name in listed:
        with pytest.raises(ValidationError, match="reserved"):
            definition_with_env(name)


@settings(max_examples=200)
@given(name=ORDINARY_NAMES)
def test_ordinary_env_names_are_accepted(name: str) -> None:
    assert definition_with_env(name).envs is not None


def test_common_env_names_are_accepted() -> None:
    for name in ["PATH", "HOME", "OMP_NUM_THREADS", "AWS_REGION", "RESCALE_FOO", "MY_ID"]:
        definition_with_env(name)


@settings(max_examples=300)
@given(
    name=st.one_of(
        RESERVED_NAMES,
        ORDINARY_NAMES,
        st.from_regex(r"[A-Z_]{0,4}(AWS_|RESCALE_|RDF_|SHARED_)[A-Z0-9_]{0,12}", fullmatch=True),
    )
)
def test_accepted_names_pass_the_services_own_pattern(name: str) -> None:
    """Whatever the SDK accepts, the spec's pattern (applied to the whole name) accepts too."""
    pattern, _ = _spec_env_rules(spec("patched"))
    try:
        definition_with_env(name)
    except ValidationError:
        return
    assert pattern.fullmatch(name), name


# Image names and typos ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "my-image",
        "repo1:latest",
        "repo_1.v2:V2.0-rc_1",
        "123456789.dkr.ecr.us-west-2.amazonaws.com/rescale/project-12345/repo1:v2",
    ],
)
def test_valid_image_names(image: str) -> None:
    assert JobDefinition(image_name=image).image_name == image


@pytest.mark.parametrize("image", ["", "My-Image", "repo:", "repo:-tag", "a//b", "img\n", "x y"])
def test_invalid_image_names(image: str) -> None:
    with pytest.raises(ValidationError, match="image_name"):
        JobDefinition(image_name=image)


def test_misspelt_wire_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="maxVcpus") as info:
        JobDefinition.model_validate({"imageName": "img", "maxVcpus": 4})
    assert info.value.errors()[0]["type"] == "extra_forbidden"
    with pytest.raises(ValidationError, match="regions must not repeat"):
        JobSubmitRequest.model_validate(
            {"htcJobDefinition": {"imageName": "img"}, "regions": ["AWS_US_EAST_1"] * 2}
        )


def test_required_request_fields() -> None:
    with pytest.raises(ValidationError) as info:
        ProjectCreate.model_validate({"projectName": "p"})
    assert [e["loc"] for e in info.value.errors()] == [("projectDescription",)]


def test_building_a_submission_in_python() -> None:
    request = JobSubmitRequest(
        htc_job_definition=JobDefinition(
            image_name="repo1:latest",
            max_vcpus=4,
            max_memory=8192,
            max_disk_gib=10,
            exec_timeout_seconds=3600,
            envs=[{"name": "FOO", "value": "bar"}],  # type: ignore[list-item]
        ),
        batch_size=5,
        retry_strategy=RetryStrategy(max_retries=2),
        regions=["AWS_US_EAST_1"],  # type: ignore[list-item]
    )
    assert request.to_api() == {
        "htcJobDefinition": {
            "imageName": "repo1:latest",
            "maxVCpus": 4,
            "maxMemory": 8192,
            "maxDiskGiB": 10,
            "execTimeoutSeconds": 3600,
            "envs": [{"name": "FOO", "value": "bar"}],
        },
        "batchSize": 5,
        "retryStrategy": {"maxRetries": 2},
        "regions": ["AWS_US_EAST_1"],
    }
