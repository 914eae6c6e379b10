"""JobSpec: a friendly job description that becomes the API's submit request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rescale_async import Architecture, JobPriority, JobSpec, JobSubmitRequest, Region


def test_spec_becomes_the_submit_request() -> None:
    spec = JobSpec(
        image="team/solver:2.1",
        commands="python run.py --case 'a b'",
        env={"CASE": "7"},
        vcpus=4,
        memory_mib=8192,
        disk_gib=20,
        timeout=timedelta(hours=2),
        architecture=Architecture.X86,
        priority=JobPriority.ON_DEMAND_ECONOMY,
        tags={"sweep": "s1"},
        claims={"run": "r9"},
        retries=2,
        region=Region.AWS_US_EAST_2,
        working_dir="/work",
    )
    request = spec.to_request(count=250)
    assert isinstance(request, JobSubmitRequest)
    assert request.to_api() == {
        "htcJobDefinition": {
            "imageName": "team/solver:2.1",
            "commands": ["python", "run.py", "--case", "a b"],
            "envs": [{"name": "CASE", "value": "7"}],
            "maxVCpus": 4,
            "maxMemory": 8192,
            "maxDiskGiB": 20,
            "execTimeoutSeconds": 7200,
            "architecture": "X86",
            "priority": "ON_DEMAND_ECONOMY",
            "tags": {"sweep": "s1"},
            "claims": [{"name": "run", "value": "r9"}],
            "workingDir": "/work",
        },
        "batchSize": 250,
        "retryStrategy": {"maxRetries": 2},
        "regions": ["AWS_US_EAST_2"],
    }


def test_minimal_spec_sends_only_what_was_given() -> None:
    assert JobSpec(image="python:3.11").to_request().to_api() == {
        "htcJobDefinition": {"imageName": "python:3.11"},
        "batchSize": 1,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vcpus": 65}, "vcpus: Input should be less than or equal to 64"),
        ({"vcpus": 0}, "vcpus: Input should be greater than or equal to 1"),
        ({"memory_mib": 2}, "memory_mib: Input should be greater than or equal to 4"),
        ({"timeout": 10}, "timeout: Input should be greater than or equal to 60"),
        ({"timeout": 90.5}, "timeout must be whole seconds"),
        ({"retries": 11}, "retries: Input should be less than or equal to 10"),
        ({"env": {"RESCALE_HTC_X": "1"}}, "env: envs[0].name 'RESCALE_HTC_X' is a reserved"),
        ({"image": "Not An Image"}, "image: 'Not An Image' is not an image reference"),
        (
            {"region": ["AWS_US_EAST_2", "AWS_US_EAST_2"]},
            "region: regions must not repeat",
        ),
        ({"vcpu": 2}, "vcpu\n  Extra inputs are not permitted"),
    ],
)
def test_bad_specs_fail_naming_the_spec_field(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        JobSpec(**{"image": "python:3.11", **kwargs})
    assert message in str(info.value)


def test_count_is_checked_against_the_batch_limit() -> None:
    with pytest.raises(ValidationError, match="batch_size"):
        JobSpec(image="python:3.11").to_request(count=1001)


@given(vcpus=st.integers(1, 64), memory=st.integers(4, 235520), timeout=st.integers(60, 1209600))
def test_every_value_in_range_is_accepted(vcpus: int, memory: int, timeout: int) -> None:
    definition = JobSpec(image="x", vcpus=vcpus, memory_mib=memory, timeout=timeout).to_request()
    assert definition.htc_job_definition.max_vcpus == vcpus
    assert definition.htc_job_definition.exec_timeout_seconds == timeout
