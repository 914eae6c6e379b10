"""``client.projects`` and its ``limits``, ``dimensions`` and ``retention_policy``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from resource_support import PID, TID, api, example, page, query, sent
from support import client

from rescale_async.htc.types import (
    ComputeEnvironment,
    ComputeEnvironmentSpec,
    ModifierRole,
    Project,
    ProjectLike,
    ProjectLimit,
    Region,
    Task,
    TaskRef,
    TaskRetentionPolicy,
)

PROJECT = f"/htc/projects/{PID}"


def holders() -> list[ProjectLike]:
    """Every way of naming project PID."""
    return [
        PID,
        Project.model_validate(example("HTCProject", projectId=PID)),
        Task.model_validate(example("HTCTask", projectId=PID, taskId=TID)),
        TaskRef(PID, TID),
    ]


# --- projects ---------------------------------------------------------------------------------


async def test_list_follows_next_and_sends_filters() -> None:
    one, two = example("HTCProject", projectId="a"), example("HTCProject", projectId="b")
    async with api() as (router, c):
        route = router.get("/htc/projects").mock(
            side_effect=[
                httpx.Response(200, json=page([one], "/htc/projects?pageIndex=t2")),
                httpx.Response(200, json=page([two])),
            ]
        )
        got = await c.projects.list(only_mine=True, page_size=1).to_list()
    assert [p.project_id for p in got] == ["a", "b"]
    assert query(route, 0) == [("onlyMyProjects", "true"), ("pageSize", "1")]
    assert dict(query(route, 1)) == {"pageIndex": "t2", "onlyMyProjects": "true", "pageSize": "1"}


@pytest.mark.parametrize("holder", range(4))
async def test_get_accepts_an_id_or_a_model(holder: int) -> None:
    async with api() as (router, c):
        route = router.get(PROJECT).respond(json=example("HTCProject", projectId=PID))
        project = await c.projects.get(holders()[holder])
    assert route.call_count == 1
    assert isinstance(project, Project) and project.project_id == PID
    assert project.regions == [Region.AWS_US_EAST_2, Region.AWS_US_WEST_2]


async def test_create_sends_only_the_given_fields() -> None:
    async with api() as (router, c):
        route = router.post("/htc/projects").respond(json=example("HTCProject", projectId=PID))
        project = await c.projects.create(name="my-project", description="first")
        assert sent(route) == {"projectName": "my-project", "projectDescription": "first"}
        await c.projects.create(
            name="p",
            description="",
            regions=[Region.AWS_US_EAST_2, "GCP_US_CENTRAL_1"],
            region_settings=[
                {
                    "compute_settings": {"compute_region": "AWS_US_EAST_2"},
                    "storageSettings": {"storageRegion": "AWS_US_EAST_2"},
                }
            ],
        )
        assert sent(route) == {
            "projectName": "p",
            "projectDescription": "",
            "regions": ["AWS_US_EAST_2", "GCP_US_CENTRAL_1"],
            "regionSettings": [
                {
                    "computeSettings": {"computeRegion": "AWS_US_EAST_2"},
                    "storageSettings": {"storageRegion": "AWS_US_EAST_2"},
                }
            ],
        }
    assert project.project_id == PID and project.container_registry is not None


async def test_create_rejects_bad_input_before_sending() -> None:
    async with api() as (router, c):
        route = router.post("/htc/projects").respond(json=example("HTCProject"))
        with pytest.raises(ValidationError, match="storageSettings"):
            await c.projects.create(
                name="p",
                description="d",
                region_settings=[{"computeSettings": {"computeRegion": "AWS_US_EAST_2"}}],
            )
        with pytest.raises(ValidationError, match="regions"):
            await c.projects.create(name="p", description="d", regions="AWS_US_EAST_2")
    assert not route.called


@pytest.mark.parametrize("holder", range(4))
async def test_update_patches_the_regions(holder: int) -> None:
    async with api() as (router, c):
        route = router.patch(PROJECT).respond(json=example("HTCProject", projectId=PID))
        project = await c.projects.update(holders()[holder], regions=["AWS_US_EAST_2"])
    assert sent(route) == {"regions": ["AWS_US_EAST_2"]}
    assert isinstance(project, Project)


async def test_project_ids_are_checked_before_sending() -> None:
    async with api() as (router, c):
        route = router.route(url__startswith="https://htc.test/api/v1/htc/projects").respond(
            json={}
        )
        with pytest.raises(ValueError, match="cannot be empty"):
            await c.projects.get("")
        with pytest.raises(ValueError, match="no project_id"):
            await c.projects.limits.list(TaskRef("", TID))
        with pytest.raises(ValidationError, match="regions"):
            await c.projects.update(PID, regions=["AWS_US_EAST_2", 3])  # type: ignore[list-item]
    assert not route.called


async def test_ids_are_escaped_as_one_path_segment() -> None:
    async with api() as (router, c):
        route = router.get("/htc/projects/a%2Fb").respond(json=example("HTCProject"))
        await c.projects.get("a/b")
    assert route.called


# --- limits -----------------------------------------------------------------------------------


def limit_payload(limit_id: int = 7, vcpus: int = 64) -> Any:
    return example("HTCProjectLimit", id=limit_id, projectId=PID, vCPUs=vcpus)


async def test_limits_list() -> None:
    async with api() as (router, c):
        router.get(f"{PROJECT}/limits").respond(json=[limit_payload(1), limit_payload(2)])
        limits = await c.projects.limits.list(PID)
    assert [(x.id, x.v_cpus, x.modifier_role) for x in limits] == [
        (1, 64, ModifierRole.PROJECT_ADMIN),
        (2, 64, ModifierRole.PROJECT_ADMIN),
    ]


@pytest.mark.parametrize("holder", range(4))
async def test_limits_create(holder: int) -> None:
    async with api() as (router, c):
        route = router.post(f"{PROJECT}/limits").respond(201, json=limit_payload())
        limit = await c.projects.limits.create(holders()[holder], vcpus=64)
        assert sent(route) == {"vCPUs": 64, "modifierRole": "PROJECT_ADMIN"}
        await c.projects.limits.create(PID, vcpus=0, modifier_role="WORKSPACE_ADMIN")
        assert sent(route) == {"vCPUs": 0, "modifierRole": "WORKSPACE_ADMIN"}
    assert isinstance(limit, ProjectLimit) and limit.id == 7 and limit.v_cpus == 64


async def test_limits_reject_bad_input_before_sending() -> None:
    async with api() as (router, c):
        route = router.route(url__startswith=f"https://htc.test/api/v1{PROJECT}").respond(
            json=limit_payload()
        )
        with pytest.raises(ValidationError, match="v_cpus"):
            await c.projects.limits.create(PID, vcpus=-1)
        with pytest.raises(ValidationError, match="v_cpus"):
            await c.projects.limits.update(PID, 7, vcpus=1_000_000)
        with pytest.raises(TypeError, match="expected a limit id"):
            await c.projects.limits.get(PID, "7")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="expected a limit id"):
            await c.projects.limits.delete(PID, True)
        unsaved = ProjectLimit.model_construct(id=None, v_cpus=1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ProjectLimit has no id"):
            await c.projects.limits.get(PID, unsaved)
    assert not route.called


async def test_limits_get_update_delete_by_id_or_model() -> None:
    limit = ProjectLimit.model_validate(limit_payload())
    async with api() as (router, c):
        get = router.get(f"{PROJECT}/limits/7").respond(json=limit_payload())
        patch = router.patch(f"{PROJECT}/limits/7").respond(json=limit_payload(vcpus=8))
        delete = router.delete(f"{PROJECT}/limits/7").respond(204)
        delete_all = router.delete(f"{PROJECT}/limits").respond(204)
        assert (await c.projects.limits.get(PID, 7)).v_cpus == 64
        assert (await c.projects.limits.get(PID, limit)).id == 7
        updated = await c.projects.limits.update(PID, limit, vcpus=8)
        assert sent(patch) == {"vCPUs": 8}
        await c.projects.limits.delete(PID, 7)
        await c.projects.limits.delete(PID, limit)
        await c.projects.limits.delete_all(PID)
    assert updated.v_cpus == 8
    assert (get.call_count, delete.call_count, delete_all.call_count) == (2, 2, 1)


# --- dimensions -------------------------------------------------------------------------------


async def test_dimensions_get() -> None:
    environment = example("HTCComputeEnvironment", full=True)
    async with api() as (router, c):
        router.get(f"{PROJECT}/dimensions").respond(json=[environment])
        dimensions = await c.projects.dimensions.get(PID)
    assert len(dimensions) == 1 and isinstance(dimensions[0], ComputeEnvironment)
    assert dimensions[0].derived is not None and dimensions[0].to_api() == environment


async def test_dimensions_set_accepts_specs_dicts_and_fetched_environments() -> None:
    fetched = ComputeEnvironment.model_validate(
        {**example("HTCComputeEnvironment", full=True), "futureField": 1}
    )
    async with api() as (router, c):
        route = router.put(f"{PROJECT}/dimensions").respond(201, json=[fetched.to_api()])
        result = await c.projects.dimensions.set(
            Project.model_validate(example("HTCProject", projectId=PID)),
            [
                ComputeEnvironmentSpec(machine_type="m1", hyperthreading=False),
                {"machineType": "m2", "region": "AWS_US_EAST_2", "priority": "ON_DEMAND_ECONOMY"},
                fetched,
            ],
        )
        body = sent(route)
        assert await c.projects.dimensions.set(PID, []) == [fetched]
        assert sent(route) == []
    assert body[:2] == [
        {"machineType": "m1", "hyperthreading": False},
        {"machineType": "m2", "region": "AWS_US_EAST_2", "priority": "ON_DEMAND_ECONOMY"},
    ]
    assert "derived" not in body[2] and "futureField" not in body[2]
    assert body[2]["machineType"] == fetched.machine_type
    assert result == [fetched]


async def test_dimensions_set_rejects_bad_input_before_sending() -> None:
    async with api() as (router, c):
        route = router.put(f"{PROJECT}/dimensions").respond(201, json=[])
        with pytest.raises(ValidationError, match=r"1\.machinetype"):
            await c.projects.dimensions.set(PID, [{"machineType": "m"}, {"machinetype": "m"}])
        with pytest.raises(TypeError, match="got str"):
            await c.projects.dimensions.set(PID, ["m1"])  # type: ignore[list-item]
    assert not route.called


# --- retention policy -------------------------------------------------------------------------


async def test_retention_policy_get_set_delete() -> None:
    policy = example("TaskRetentionPolicy", projectId=PID)
    path = f"{PROJECT}/task-retention-policy"
    async with api() as (router, c):
        router.get(path).respond(json=policy)
        put = router.put(path).respond(201, json=policy)
        delete = router.delete(path).respond(204)
        got = await c.projects.retention_policy.get(PID)
        project = Project.model_validate(example("HTCProject", projectId=PID))
        put_result = await c.projects.retention_policy.set(
            project, archive_after=168, delete_after=24
        )
        assert sent(put) == {"archiveAfter": 168, "deleteAfter": 24}
        await c.projects.retention_policy.delete(TaskRef(PID, TID))
    assert isinstance(got, TaskRetentionPolicy) and got == put_result
    assert (got.archive_after, got.delete_after, got.project_id) == (168, 24, PID)
    assert delete.call_count == 1


async def test_retention_policy_set_rejects_negative_hours() -> None:
    async with api() as (router, c):
        route = router.put(f"{PROJECT}/task-retention-policy").respond(201, json={})
        with pytest.raises(ValidationError, match="archive_after"):
            await c.projects.retention_policy.set(PID, archive_after=-1, delete_after=0)
    assert not route.called


async def test_a_project_of_the_wrong_type_is_refused_before_sending() -> None:
    async with client() as c:
        with pytest.raises(
            TypeError, match="expected a project id \\(str\\), Project, Task or TaskRef, got int"
        ):
            await c.projects.get(123)  # type: ignore[arg-type]
