"""The API's shapes and behaviour: pagination, filters, summaries, validation, CRUD."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from emulator_support import Api, api, instant, job, py

from rescale_async.emulator.htc._records import LogLine
from rescale_async.emulator.htc._views import log_page
from rescale_async.htc.types import LogEvent

BASE = "http://htc-emulator/api/v1/"


async def walk(a: Api, path: str, **params: Any) -> tuple[list[Any], list[str]]:
    """Every item of a listing, and the ``next`` links followed."""
    body = await a.ok("GET", path, params=params)
    items, links = list(body["items"]), []
    while "next" in body:
        links.append(body["next"])
        body = await a.ok("GET", body["next"])
        items += body["items"]
    return items, links


async def test_pages_carry_opaque_tokens_and_absolute_next_urls() -> None:
    async with api() as a:
        names = [f"t{i}" for i in range(7)]
        for name in names:
            await a.task(name)
        items, links = await walk(a, f"{a.project}/tasks", pageSize=3)
        assert [t["taskName"] for t in items] == names
        assert len(links) == 2
        for link in links:
            url = httpx.URL(link)
            assert link.startswith(BASE + a.project + "/tasks?")
            assert url.params["pageSize"] == "3"
            assert not url.params["pageIndex"].isdigit()  # opaque
        last = await a.ok("GET", links[-1])
        assert "next" not in last

        for bad in ("0", "10001", "many"):
            response = await a.get(f"{a.project}/tasks", pageSize=bad)
            assert response.status_code == 400
            assert response.json()["errorType"] == "INVALID_PAGE_SIZE"
        response = await a.get(f"{a.project}/tasks", pageIndex="not-a-token")
        assert response.status_code == 400
        assert set(response.json()) == {"errorType", "errorDescription", "message"}


async def test_job_list_filters_and_views() -> None:
    async with api() as a:
        task = await a.task()
        ok = await a.submit(task, job(py("pass"), batch_size=3), group="good")
        bad = await a.submit(task, job(py("raise SystemExit(1)"), batch_size=2), group="bad")
        await a.finish()
        path = f"{a.task_path(task)}/jobs"

        items, links = await walk(a, path, pageSize=2)
        assert [j["jobUUID"] for j in items] == ok + bad
        assert len(links) == 2
        failed, _ = await walk(a, path, status="FAILED", pageSize=1)
        assert [j["jobUUID"] for j in failed] == bad
        grouped, _ = await walk(a, path, group="good")
        assert [j["jobUUID"] for j in grouped] == ok
        picked = await a.ok("GET", path, params=[("jobId", ok[1]), ("jobId", bad[0])])
        assert [j["jobUUID"] for j in picked["items"]] == [ok[1], bad[0]]

        full = (await a.ok("GET", path, params={"jobId": ok[0]}))["items"][0]
        simple = (await a.ok("GET", path, params={"jobId": ok[0], "viewType": "SIMPLE"}))["items"][
            0
        ]
        assert "commands" in full
        assert "envs" in full
        assert "commands" not in simple
        assert simple["status"] == "SUCCEEDED"
        for bad_param in ({"status": "DONE"}, {"viewType": "TINY"}):
            assert (await a.get(path, **bad_param)).status_code == 400


async def test_a_shuffled_job_listing_pages_every_job_once_in_a_fixed_order() -> None:
    # workspace_vcpu_limit=0 holds every job in SUBMITTED_TO_RESCALE: no process runs.
    async with api(job_order="shuffled", workspace_vcpu_limit=0) as a:
        task = await a.task()
        ids = await a.submit(task, job(["true"], batch_size=300))
        path = f"{a.task_path(task)}/jobs"

        items, links = await walk(a, path, pageSize=50)
        listed = [j["jobUUID"] for j in items]
        assert len(links) == 5
        assert len(listed) == 300 and set(listed) == set(ids)  # every job exactly once
        assert listed != ids  # not creation order
        again, _ = await walk(a, path, pageSize=50)
        assert [j["jobUUID"] for j in again] == listed  # the same order every time

        # Jobs submitted while a client pages never make it skip or repeat the others.
        body = await a.ok("GET", path, params={"pageSize": 50})
        seen = [j["jobUUID"] for j in body["items"]]
        extra = await a.submit(task, job(["true"], batch_size=20))
        while "next" in body:
            body = await a.ok("GET", body["next"])
            seen += [j["jobUUID"] for j in body["items"]]
        assert [i for i in seen if i not in extra] == listed
        everything, _ = await walk(a, path, pageSize=50)
        assert sorted(j["jobUUID"] for j in everything) == sorted(ids + extra)

        # Another task's jobs come in an order of their own; filters still apply.
        other = await a.task("other")
        other_ids = await a.submit(other, job(["true"], batch_size=300), group="g")
        other_path = f"{a.task_path(other)}/jobs"
        other_items, _ = await walk(a, other_path, pageSize=50)
        other_listed = [j["jobUUID"] for j in other_items]
        assert set(other_listed) == set(other_ids)
        assert [other_ids.index(i) for i in other_listed] != [ids.index(i) for i in listed]
        picked = other_ids[:5]
        grouped, _ = await walk(a, other_path, group="g", jobId=picked, pageSize=2)
        assert [j["jobUUID"] for j in grouped] == [i for i in other_listed if i in picked]


async def test_a_reversed_job_listing_is_newest_first() -> None:
    async with api(job_order="reversed", workspace_vcpu_limit=0) as a:
        task = await a.task()
        ids = await a.submit(task, job(["true"], batch_size=5))
        ids += await a.submit(task, job(["true"], batch_size=2), group="g")
        path = f"{a.task_path(task)}/jobs"
        items, links = await walk(a, path, pageSize=3)
        assert [j["jobUUID"] for j in items] == ids[::-1]
        assert len(links) == 2
        grouped, _ = await walk(a, path, group="g", pageSize=1)
        assert [j["jobUUID"] for j in grouped] == ids[:4:-1]
        # Newer jobs come first, so a listing already under way does not see them.
        body = await a.ok("GET", path, params={"pageSize": 3})
        seen = [j["jobUUID"] for j in body["items"]]
        newer = await a.submit(task, job(["true"]))
        while "next" in body:
            body = await a.ok("GET", body["next"])
            seen += [j["jobUUID"] for j in body["items"]]
        assert seen == ids[::-1]
        items, _ = await walk(a, path, pageSize=3)
        assert [j["jobUUID"] for j in items] == (ids + newer)[::-1]


async def test_summaries_groups_and_group_summaries() -> None:
    async with api() as a:
        task = await a.task()
        await a.submit(task, job(py("pass"), batch_size=2))
        await a.submit(task, job(py("raise SystemExit(2)")), group="g1")
        await a.submit(task, job(py("pass")), group="g2")
        await a.finish()
        tp = a.task_path(task)
        summary = await a.ok("GET", f"{tp}/summary-statistics")
        assert summary["group"] is None
        assert summary["jobStatuses"] == {
            "SUBMITTED_TO_RESCALE": 0,
            "SUBMITTED_TO_PROVIDER": 0,
            "RUNNABLE": 0,
            "STARTING": 0,
            "RUNNING": 0,
            "SUCCEEDED": 3,
            "FAILED": 1,
        }
        assert await a.ok("GET", f"{tp}/groups") == ["default", "g1", "g2"]
        summaries, links = await walk(a, f"{tp}/group-summary-statistics", pageSize=2)
        assert len(links) == 1
        counts = {s["group"]: s["jobStatuses"] for s in summaries}
        assert counts["default"]["SUCCEEDED"] == 2
        assert counts["g1"]["FAILED"] == 1
        only = await a.ok("GET", f"{tp}/group-summary-statistics", params={"group": "g2"})
        assert [s["group"] for s in only["items"]] == ["g2"]


async def test_logs_sort_paging_and_eventually_consistent_empty_pages() -> None:
    code = "for i in range(25): print(f'line {i}')"
    async with api(log_empty_page_probability=0.5) as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py(code)))
        await a.finish()
        path = f"{a.task_path(task)}/jobs/{job_id}/logs"
        expected = [f"line {i}" for i in range(25)]

        def messages(items: list[dict[str, Any]]) -> list[str]:
            return [item["message"] for item in items]

        empty_pages = 0
        for sort, order in (("asc", expected), ("desc", expected[::-1])):
            body = await a.ok("GET", path, params={"pageSize": 4, "sort": sort})
            items = list(body["items"])
            while "next" in body:
                assert f"sort={sort}" in body["next"]
                body = await a.ok("GET", body["next"])
                empty_pages += not body["items"]
                items += body["items"]
            assert messages(items) == order  # empty pages lost nothing
        assert empty_pages > 0
        # The default order is newest first, timestamps never increasing.
        first = await a.ok("GET", path, params={"pageSize": 30})
        while not first["items"]:
            first = await a.ok("GET", first["next"])
        assert messages(first["items"]) == expected[::-1]
        timestamps = [instant(item["timestamp"]) for item in first["items"]]
        assert timestamps == sorted(timestamps, reverse=True)

        assert (await a.get(path, pageSize=10001)).status_code == 400
        assert (await a.get(path, sort="sideways")).status_code == 400


async def test_submit_validation_answers_400_with_the_service_body() -> None:
    async with api() as a:
        task = await a.task()
        path = f"{a.task_path(task)}/jobs/batch"
        cases: list[Any] = [
            [job(py("pass"), maxVCpus=65)],
            [job(py("pass"), batch_size=1001)],
            [job(py("pass"), batch_size=0)],
            [job(py("pass"), timeout=59)],
            [job(py("pass"), envs=[{"name": "RESCALE_HTC_TASK_ID", "value": "x"}])],
            [job(py("pass"), envs=[{"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}])],
            [{"batchSize": 1}],
            [job(py("pass"), image="Not A Valid Image")],
            [],
            {"not": "an array"},
        ]
        for body in cases:
            response = await a.http.post(path, json=body)
            assert response.status_code == 400, body
            error = response.json()
            assert set(error) == {"errorType", "errorDescription", "message"}
            assert error["errorType"] == "VALIDATION_ERROR"
        response = await a.http.post(path, json=[job(py("pass"), maxVCpus=99)])
        assert "[0].htcJobDefinition.maxVCpus" in response.json()["message"]
        response = await a.http.post(path, content=b"{not json")
        assert response.status_code == 400
        assert not a.emu.state.jobs


async def test_submit_echoes_the_batch_with_ids_group_and_ignores_unknown_fields() -> None:
    async with api() as a:
        task = await a.task()
        request = job(py("pass"), batch_size=2, tags={"k": "v"})
        request["region"] = "AWS_US_EAST_2"  # rescalehtc sends this unknown field
        body = await a.ok(
            "POST",
            f"{a.task_path(task)}/jobs/batch",
            json=[request, job(py("pass"))],
            params={"group": "g"},
        )
        assert len(body) == 2
        first = body[0]
        assert first["group"] == "g"
        assert first["batchSize"] == 2
        assert first["taskId"] == task
        assert first["projectId"] == a.emu.project_id
        assert first["htcJobDefinition"]["tags"] == {"k": "v"}
        assert "region" not in first
        assert first["rescaleTimeReceived"].endswith("Z")
        assert body[0]["parentJobId"] != body[1]["parentJobId"]
        ids = [f"{first['parentJobId']}:{i}" for i in range(2)]
        assert all(a.emu.state.jobs[i].group == "g" for i in ids)
        await a.finish()


async def test_tasks_lifecycle() -> None:
    async with api() as a:
        task = await a.task("life")
        body = await a.ok("GET", a.task_path(task))
        assert body["lifecycleStatus"] == "ACTIVE"
        assert body["archivedAt"] is None
        assert body["taskFolderPath"] == f"projects/{a.emu.project_id}/tasks/{task}"
        archived = await a.ok("PATCH", a.task_path(task), json={"lifecycleStatus": "ARCHIVED"})
        assert archived["lifecycleStatus"] == "ARCHIVED"
        assert archived["archivedAt"] is not None
        active = await a.ok("PATCH", a.task_path(task), json={"lifecycleStatus": "ACTIVE"})
        assert active["archivedAt"] is None
        bad = await a.http.patch(a.task_path(task), json={"lifecycleStatus": "GONE"})
        assert bad.status_code == 400
        deleted = await a.ok("DELETE", a.task_path(task))
        assert deleted["lifecycleStatus"] == "DELETED"
        assert deleted["deletedAt"]
        missing = await a.http.get(f"{a.project}/tasks/nope")
        assert missing.status_code == 404
        assert set(missing.json()) == {"error", "errorDescription"}
        missing_job = await a.http.get(f"{a.task_path(task)}/jobs/nope:0")
        assert missing_job.status_code == 404
        assert missing_job.json()["errorType"] == "NOT_FOUND"
        bad_body = await a.http.post(f"{a.project}/tasks", json={"taskName": "x"})
        assert bad_body.status_code == 400


async def test_projects_limits_dimensions_retention() -> None:
    async with api() as a:
        projects = await a.ok("GET", "htc/projects")
        [seeded] = projects["items"]
        assert seeded["projectName"] == "emulator-project"
        assert seeded["containerRegistry"].endswith(f"/{a.emu.project_id}/")
        assert seeded["regions"] == ["AWS_US_EAST_2"]

        created = await a.ok(
            "POST", "htc/projects", json={"projectName": "p2", "projectDescription": "d"}
        )
        pid = created["projectId"]
        patched = await a.ok("PATCH", f"htc/projects/{pid}", json={"regions": ["AWS_US_EAST_2"]})
        assert patched["regions"] == ["AWS_US_EAST_2"]
        bad = await a.http.patch(f"htc/projects/{pid}", json={"regions": ["GCP_US_EAST_4"]})
        assert bad.status_code == 400
        assert (await a.http.get("htc/projects/nope")).status_code == 404

        limits = f"htc/projects/{pid}/limits"
        assert await a.ok("GET", limits) == []
        limit = await a.ok("POST", limits, json={"vCPUs": 8, "modifierRole": "PROJECT_ADMIN"})
        assert limit["vCPUs"] == 8
        assert limit["projectId"] == pid
        assert (await a.ok("PATCH", f"{limits}/{limit['id']}", json={"vCPUs": 4}))["vCPUs"] == 4
        assert (await a.ok("GET", f"{limits}/{limit['id']}"))["vCPUs"] == 4
        assert (await a.http.delete(f"{limits}/{limit['id']}")).status_code == 204
        assert (await a.http.get(f"{limits}/{limit['id']}")).status_code == 404
        await a.ok("POST", limits, json={"vCPUs": 1, "modifierRole": "WORKSPACE_ADMIN"})
        assert (await a.http.delete(limits)).status_code == 204
        assert await a.ok("GET", limits) == []

        dimensions = f"htc/projects/{pid}/dimensions"
        default = await a.ok("GET", dimensions)
        assert default
        assert all("derived" in d for d in default)
        spec = [
            {
                "machineType": "c5.2xlarge",
                "region": "AWS_US_EAST_2",
                "priority": "ON_DEMAND_ECONOMY",
            }
        ]
        response = await a.http.put(dimensions, json=spec)
        assert response.status_code == 201
        assert response.json()[0]["derived"]["vCPUs"] == 8
        assert await a.ok("GET", dimensions) == response.json()

        policy = f"htc/projects/{pid}/task-retention-policy"
        assert (await a.http.get(policy)).status_code == 404
        put = await a.http.put(policy, json={"archiveAfter": 24, "deleteAfter": 48})
        assert put.status_code == 201
        assert (await a.ok("GET", policy))["deleteAfter"] == 48
        assert (await a.http.delete(policy)).status_code == 204
        workspace = f"htc/workspaces/{a.emu.config.workspace_id}"
        ws_put = await a.http.put(
            f"{workspace}/task-retention-policy", json={"archiveAfter": 1, "deleteAfter": 2}
        )
        assert ws_put.status_code == 201
        assert (await a.ok("GET", f"{workspace}/task-retention-policy"))["archiveAfter"] == 1
        assert (await a.ok("GET", f"{workspace}/limits"))["vCPUs"] == 10000
        assert await a.ok("GET", f"{workspace}/dimensions")
        assert (await a.http.get("htc/workspaces/other/limits")).status_code == 404


async def test_registry_storage_regions_and_identity() -> None:
    async with api() as a:
        token = await a.http.get(f"{a.project}/container-registry/token")
        assert token.headers["content-type"].startswith("text/plain")
        assert token.text.startswith("registry-")
        repo = f"{a.project}/container-registry/repo/team/tool"
        assert (await a.ok("POST", repo))["successfullyCreated"] is True
        again = await a.ok("POST", repo)
        assert again["successfullyCreated"] is False
        assert again["registryURI"].endswith("/team/tool")
        assert (
            await a.http.post(f"{a.project}/container-registry/repo/Bad_Name")
        ).status_code == 400
        images = await a.ok("GET", f"{a.project}/container-registry/images")
        assert "python:3.11" in images["images"]

        tokens = await a.ok("GET", f"{a.project}/storage/tokens")
        assert tokens["defaultRegion"] == "AWS_US_EAST_2"
        assert tokens["regionStores"][0]["credentials"]["AWS_ACCESS_KEY_ID"]
        assert (await a.http.get(f"{a.project}/storage/token/GCP_US_EAST_4")).status_code == 404
        url = await a.ok(
            "GET", f"{a.project}/storage/presigned-url", params={"filePath": "a/b.txt"}
        )
        assert isinstance(url["url"], str)
        assert "a/b.txt" in url["url"]
        assert (await a.http.get(f"{a.project}/storage/presigned-url")).status_code == 400
        task = await a.task()
        regional = await a.ok("GET", f"{a.task_path(task)}/storage/regional-storage")
        assert regional["regionalStores"][0]["taskPath"].endswith(f"/tasks/{task}/")

        assert (await a.ok("GET", "htc/regions/AWS_US_EAST_2"))["enabled"] is True
        assert (await a.ok("GET", "htc/regions/GCP_US_EAST_4"))["enabled"] is False
        assert (await a.http.get("htc/regions/MARS_1")).status_code == 404
        regions = await a.ok("GET", "htc/regions")
        assert {r["region"] for r in regions} >= {"AWS_US_EAST_2", "GCP_US_EAST_4"}
        enabled = await a.ok("GET", "htc/regions", params={"enabled": "true"})
        assert [r["region"] for r in enabled] == ["AWS_US_EAST_2"]
        gcp = await a.ok("GET", "htc/regions", params={"cloudProvider": "GCP"})
        assert gcp
        assert all(r["cloudProvider"] == "GCP" for r in gcp)
        assert (await a.http.get("htc/regions", params={"enabled": "maybe"})).status_code == 400
        assert [s["region"] for s in await a.ok("GET", "htc/storage")] == ["AWS_US_EAST_2"]
        metrics = await a.http.get("htc/metrics")
        assert "htc_emulator_requests_total" in metrics.text
        clusters = await a.ok("GET", f"htc/gcp/clusters/{a.emu.config.workspace_id}")
        assert clusters["clusters"] == []

        unknown = await a.http.get("htc/nothing-here")
        assert unknown.status_code == 404
        assert set(unknown.json()) == {"error", "errorDescription"}
        assert (await a.http.delete("htc/projects")).status_code == 405


@pytest.mark.parametrize("pending", [0.0])
async def test_images_listing_includes_added_images(pending: float) -> None:
    async with api(images={"base:1": pending}) as a:
        a.emu.add_image("extra")
        listing = await a.ok("GET", f"{a.project}/container-registry/images")
        assert listing["images"] == ["base:1", "extra:latest"]


def test_log_lines_are_shown_as_the_log_event_model_shows_them() -> None:
    for stamp in (
        datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=timezone.utc),
        datetime(2024, 1, 1, tzinfo=timezone.utc),
        datetime.fromisoformat("2024-05-06T07:08:09.010000+00:00"),
    ):
        line = LogLine.of(stamp, 'a line \u00e9 "quoted"')
        shown = LogEvent(timestamp=stamp, message=line.message).to_api()
        assert json.loads(log_page([line], range(1), None)) == {"items": [shown]}
        assert json.loads(log_page([line, line], range(2), "http://x/?p=1")) == {
            "items": [shown, shown],
            "next": "http://x/?p=1",
        }
