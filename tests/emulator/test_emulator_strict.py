"""The emulator refuses what the service refuses (400, the HTCRequestError body) and stores none
of it: wrong JSON types (a boolean is not an integer), unknown enum values, nulls where the
document allows none, bounds, and page sizes above the service's maxima.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from emulator_support import PATCHED_SPEC, Api, api, job, py

from rescale_async.emulator.htc.routes._strict import NULLABLE_REQUEST_FIELDS
from rescale_async.htc.types._schemas import REQUEST_TYPES, SCHEMA_TYPES


def refused(response: httpx.Response, *where: str) -> dict[str, Any]:
    """The 400 body of ``response``, whose message names each field path in ``where``."""
    assert response.status_code == 400, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {"errorType", "errorDescription", "message"}
    for path in where:
        assert path in body["errorDescription"] + body["message"], (path, body)
    return body


async def new_project(a: Api) -> str:
    created = await a.ok(
        "POST", "htc/projects", json={"projectName": "p", "projectDescription": ""}
    )
    return str(created["projectId"])


# ---------------------------------------------------------------------- the examples


async def test_a_limit_with_an_unknown_modifier_role_is_refused_and_not_stored() -> None:
    async with api() as a:
        limits = f"htc/projects/{await new_project(a)}/limits"
        response = await a.http.post(limits, json={"vCPUs": 8, "modifierRole": "AAA"})
        body = refused(response, "modifierRole", "PROJECT_ADMIN", "'AAA'")
        assert body["errorType"] == "VALIDATION_ERROR"
        assert await a.ok("GET", limits) == []


async def test_a_limit_with_a_boolean_vcpu_count_is_refused_and_not_stored() -> None:
    async with api() as a:
        limits = f"htc/projects/{await new_project(a)}/limits"
        for vcpus in (False, True, "8", 8.5, None):
            response = await a.http.post(
                limits, json={"vCPUs": vcpus, "modifierRole": "PROJECT_ADMIN"}
            )
            refused(response, "vCPUs")
        assert await a.ok("GET", limits) == []

        limit = await a.ok("POST", limits, json={"vCPUs": 8, "modifierRole": "PROJECT_ADMIN"})
        refused(await a.http.patch(f"{limits}/{limit['id']}", json={"vCPUs": True}), "vCPUs")
        refused(await a.http.patch(f"{limits}/{limit['id']}", json={"vCPUs": -1}), "vCPUs")
        assert (await a.ok("GET", f"{limits}/{limit['id']}"))["vCPUs"] == 8


async def test_dimensions_with_a_null_region_are_refused_and_not_stored() -> None:
    async with api() as a:
        dimensions = f"htc/projects/{await new_project(a)}/dimensions"
        before = await a.ok("GET", dimensions)
        good = {"machineType": "c5.2xlarge", "region": "AWS_US_EAST_2"}
        cases: list[tuple[Any, str]] = [
            ([good, {"machineType": "c5.2xlarge", "region": None}], "[1].region"),
            ([{**good, "priority": "CHEAP"}], "[0].priority"),
            ([{**good, "hyperthreading": "yes"}], "[0].hyperthreading"),
            ([{**good, "machineType": 5}], "[0].machineType"),
            ([{**good, "computeScalingPolicy": None}], "[0].computeScalingPolicy"),
        ]
        for spec, where in cases:
            refused(await a.http.put(dimensions, json=spec), where)
        assert await a.ok("GET", dimensions) == before


# ---------------------------------------------------------------------- job submissions


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"batchSize": True}, "[0].batchSize"),
        ({"retryStrategy": {"maxRetries": False}}, "[0].retryStrategy.maxRetries"),
        ({"cloudProvider": "MOON"}, "[0].cloudProvider"),
        ({"regions": ["MARS_NORTH_1"]}, "[0].regions[0]"),
        ({"jobName": None}, "[0].jobName"),
        ({"experimental": {"privilegedMode": "true"}}, "[0].experimental.privilegedMode"),
        ({"tags": [{"key": "k", "value": None}]}, "[0].tags[0].value"),
    ],
)
async def test_an_invalid_submit_request_field_is_refused(
    change: dict[str, Any], where: str
) -> None:
    async with api() as a:
        task = await a.task()
        request = {**job(py("pass")), **change}
        refused(await a.http.post(f"{a.task_path(task)}/jobs/batch", json=[request]), where)
        assert not a.emu.state.jobs


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"maxVCpus": True}, "maxVCpus"),
        ({"maxMemory": "1024"}, "maxMemory"),
        ({"execTimeoutSeconds": 60.5}, "execTimeoutSeconds"),
        ({"architecture": "Z80"}, "architecture"),
        ({"priority": None}, "priority"),
        ({"commands": ["python", 3]}, "commands[1]"),
        ({"tags": {"k": False}}, "tags.k"),
        ({"envs": [{"name": "FOO", "value": 1}]}, "envs"),
        ({"envs": [{"name": "RESCALE_HTC_TASK_ID", "value": "1"}]}, "envs"),
        ({"imageName": None}, "imageName"),
    ],
)
async def test_an_invalid_job_definition_field_is_refused(
    change: dict[str, Any], where: str
) -> None:
    async with api() as a:
        task = await a.task()
        request = job(py("pass"))
        request["htcJobDefinition"].update(change)
        response = await a.http.post(f"{a.task_path(task)}/jobs/batch", json=[job(), request])
        refused(response, f"[1].htcJobDefinition.{where}")
        assert not a.emu.state.jobs  # the valid first request is not submitted either


async def test_a_full_valid_submission_is_accepted_and_echoed_with_nullable_fields() -> None:
    async with api() as a:
        task = await a.task()
        request = job(
            py("pass"),
            architecture="X86",
            priority="ON_DEMAND_ECONOMY",
            maxVCpus=2,
            maxMemory=1024,
            workingDir=None,
            envs=[{"name": "FOO", "value": "bar"}],
            tags={"k": "v"},
        )
        request.update(
            cloudProvider="AWS",
            regions=["AWS_US_EAST_2"],
            retryStrategy={"maxRetries": 0},
            experimental={"privilegedMode": False},
            rescaleProjectId=None,
            tags=[{"key": "k", "value": "v"}],
        )
        [echo] = await a.ok("POST", f"{a.task_path(task)}/jobs/batch", json=[request])
        definition = echo["htcJobDefinition"]
        assert definition["architecture"] == "X86"
        assert definition["maxVCpus"] == 2
        assert echo["cloudProvider"] == "AWS"
        assert echo["retryStrategy"] == {"maxRetries": 0}
        assert len(a.emu.state.jobs) == 1


async def test_a_body_with_nan_is_not_json() -> None:
    async with api() as a:
        task = await a.task()
        content = b'[{"batchSize": NaN, "htcJobDefinition": {"imageName": "python"}}]'
        response = await a.http.post(f"{a.task_path(task)}/jobs/batch", content=content)
        assert refused(response)["errorType"] == "INVALID_REQUEST_BODY"
        assert not a.emu.state.jobs


# ---------------------------------------------------------------------- other bodies


async def test_projects_tasks_and_retention_refuse_wrong_types_enums_and_nulls() -> None:
    async with api() as a:
        pid = await new_project(a)
        refused(
            await a.http.post("htc/projects", json={"projectName": 1, "projectDescription": ""}),
            "projectName",
        )
        refused(
            await a.http.post(
                "htc/projects", json={"projectName": "p", "projectDescription": None}
            ),
            "projectDescription",
        )
        refused(
            await a.http.patch(f"htc/projects/{pid}", json={"regions": ["NOWHERE"]}), "regions[0]"
        )
        refused(await a.http.patch(f"htc/projects/{pid}", json={"regions": None}), "regions")
        assert (await a.ok("GET", f"htc/projects/{pid}"))["regions"] == ["AWS_US_EAST_2"]
        assert len((await a.ok("GET", "htc/projects"))["items"]) == 2

        task = await a.task()
        refused(
            await a.http.patch(a.task_path(task), json={"lifecycleStatus": "GONE"}),
            "lifecycleStatus",
        )
        assert (await a.ok("GET", a.task_path(task)))["lifecycleStatus"] == "ACTIVE"

        policy = f"htc/projects/{pid}/task-retention-policy"
        for bad in (
            {"archiveAfter": True, "deleteAfter": 1},
            {"archiveAfter": 1, "deleteAfter": None},
        ):
            refused(await a.http.put(policy, json=bad))
        assert (await a.http.get(policy)).status_code == 404
        workspace = f"htc/workspaces/{a.emu.config.workspace_id}/task-retention-policy"
        before = await a.ok("GET", workspace)
        refused(
            await a.http.put(workspace, json={"archiveAfter": "1", "deleteAfter": 1}),
            "archiveAfter",
        )
        assert await a.ok("GET", workspace) == before


async def test_fields_given_by_their_python_names_are_unknown_fields() -> None:
    async with api() as a:
        limits = f"htc/projects/{await new_project(a)}/limits"
        response = await a.http.post(limits, json={"v_cpus": 8, "modifier_role": "PROJECT_ADMIN"})
        refused(response, "vCPUs", "modifierRole")


# ---------------------------------------------------------------------- query parameters


async def test_unknown_enum_values_in_query_parameters_are_refused() -> None:
    async with api() as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py("print('x')")))
        jobs = f"{a.task_path(task)}/jobs"
        for path, params in [
            (jobs, {"status": "NOPE"}),
            (jobs, {"viewType": "TINY"}),
            (f"{jobs}/{job_id}/logs", {"sort": "up"}),
            ("htc/regions", {"cloudProvider": "MOON"}),
            ("htc/regions", {"enabled": "maybe"}),
            ("htc/projects", {"onlyMyProjects": "2"}),
        ]:
            body = refused(await a.get(path, **params), next(iter(params)))
            assert body["errorType"] == "INVALID_PARAMETER"
        assert (await a.get(jobs, status="RUNNABLE", viewType="SIMPLE")).status_code == 200


LISTINGS = [
    "htc/projects",
    "{project}/tasks",
    "{task}/jobs",
    "{task}/groups",
    "{task}/group-summary-statistics",
    "{task}/jobs/{job}/events",
]


@pytest.mark.parametrize("listing", LISTINGS)
async def test_page_sizes_above_1000_or_not_positive_integers_are_refused(listing: str) -> None:
    async with api() as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py("pass")))
        path = listing.format(project=a.project, task=a.task_path(task), job=job_id)
        for bad in (
            "1001",
            "0",
            "-1",
            "true",
            "1.5",
            "5_0",
            " 5",
            "\u0665",
            "1e3",
            "99999999999999999999",
        ):
            body = refused(await a.get(path, pageSize=bad), "pageSize")
            assert body["errorType"] == "INVALID_PAGE_SIZE"
        assert (await a.get(path, pageSize="1000")).status_code == 200
        assert (await a.get(path, pageSize="1")).status_code == 200


async def test_log_page_sizes_may_reach_10000() -> None:
    async with api() as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py("print('x')")))
        logs = f"{a.task_path(task)}/jobs/{job_id}/logs"
        assert (await a.get(logs, pageSize="10000")).status_code == 200
        for bad in ("10001", "0", "false"):
            assert refused(await a.get(logs, pageSize=bad))["errorType"] == "INVALID_PAGE_SIZE"


async def test_a_configured_page_size_maximum_below_the_service_maximum_applies() -> None:
    async with api(max_page_size=10) as a:
        refused(await a.get(f"{a.project}/tasks", pageSize="11"), "pageSize")
        assert (await a.get(f"{a.project}/tasks", pageSize="10")).status_code == 200


# ---------------------------------------------------------------------- one source of truth


def _request_schema_names(document: dict[str, Any]) -> set[str]:
    """The component schemas reachable from any operation's request body."""
    schemas = document["components"]["schemas"]
    pending = [
        body["content"]["application/json"]["schema"]
        for methods in document["paths"].values()
        for operation in methods.values()
        if isinstance(operation, dict) and (body := operation.get("requestBody"))
    ]
    names: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and (name := ref.rsplit("/", 1)[-1]) not in names:
                names.add(name)
                pending.append(schemas[name])
            pending += list(node.values())
        elif isinstance(node, list):
            pending += node
    return names


@pytest.mark.skipif(not PATCHED_SPEC.exists(), reason=f"no OpenAPI document at {PATCHED_SPEC}")
def test_the_nullable_request_fields_are_those_the_patched_document_marks_nullable() -> None:
    document = json.loads(PATCHED_SPEC.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    documented = {
        (name, field)
        for name in _request_schema_names(document)
        for field, spec in schemas[name].get("properties", {}).items()
        if spec.get("nullable") and not spec.get("readOnly")
    }
    schema_of = {model: name for name, model in {**SCHEMA_TYPES, **REQUEST_TYPES}.items()}
    emulated = {
        (schema_of[model], model.model_fields[field].alias or field)
        for model, field in NULLABLE_REQUEST_FIELDS
    }
    assert documented
    assert emulated == documented
