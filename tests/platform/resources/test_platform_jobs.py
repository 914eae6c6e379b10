"""``client.jobs``: every endpoint, against respx with the shapes of PLATFORM-V2.md."""

from __future__ import annotations

import httpx
import pytest
from platform_support import (
    BASE_URL,
    JOB,
    api,
    coretype,
    definition,
    file_json,
    job_json,
    page,
    query,
    sent,
    status,
)
from pydantic import ValidationError

from rescale_async import JobCreate, NotFoundError
from rescale_async._core.pagination import next_link_of
from rescale_async.platform.types import (
    ClusterStatus,
    File,
    InstanceRole,
    Job,
    JobOutcome,
    JobStatus,
    JobSummary,
    Run,
)

JOB_PATH = f"/jobs/{JOB}/"


async def test_create_checks_the_coretype_then_posts_the_definition() -> None:
    async with api() as (router, c):
        catalogue = router.get("/coretypes/").respond(json=page([coretype("granite", [2, 4])]))
        create = router.post("/jobs/").respond(201, json=job_json())
        job = await c.jobs.create(definition())
        await c.jobs.create(JobCreate.model_validate(definition(coresPerSlot=4)))
    assert isinstance(job, Job) and job.id == JOB
    assert job.jobanalyses and job.jobanalyses[0].hardware
    assert job.jobanalyses[0].hardware.core_type == "granite"
    assert catalogue.call_count == 1  # fetched once per client, then cached
    assert query(catalogue) == {"page_size": "100"}
    assert sent(create, 0) == {
        "name": "Rescale UserApi Reference Tutorial",
        "projectId": None,
        "jobanalyses": [
            {
                "analysis": {"code": "user_included", "version": "0"},
                "command": "python3 calculate_pi.py range.inp",
                "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1},
            }
        ],
    }


async def test_create_refuses_cores_the_coretype_does_not_offer_before_posting() -> None:
    async with api() as (router, c):
        router.get("/coretypes/").respond(json=page([coretype("granite", [2, 4, 8])]))
        create = router.post("/jobs/").respond(201, json=job_json())
        with pytest.raises(ValueError, match=r"jobanalyses\[0\]\.hardware\.coresPerSlot") as err:
            await c.jobs.create(definition(coresPerSlot=1))
    assert "allowed: 2, 4, 8" in str(err.value)
    assert create.call_count == 0


async def test_create_refetches_the_catalogue_once_for_an_unknown_coretype() -> None:
    async with api() as (router, c):
        catalogue = router.get("/coretypes/").mock(
            side_effect=[
                httpx.Response(200, json=page([coretype("granite")])),
                httpx.Response(200, json=page([coretype("granite"), coretype("emerald")])),
                httpx.Response(200, json=page([coretype("granite"), coretype("emerald")])),
            ]
        )
        create = router.post("/jobs/").respond(201, json=job_json())
        await c.jobs.create(definition())
        await c.jobs.create(definition(coreType="emerald"))  # not in the first catalogue
        with pytest.raises(ValueError, match=r"no coretype 'granit' \(did you mean granite"):
            await c.jobs.create(definition(coreType="granit"))
    assert catalogue.call_count == 3
    assert create.call_count == 2


async def test_the_catalogue_is_shared_by_with_options_views() -> None:
    async with api() as (router, c):
        catalogue = router.get("/coretypes/").respond(json=page([coretype()]))
        router.post("/jobs/").respond(201, json=job_json())
        await c.jobs.create(definition())
        await c.with_options(max_retries=0).jobs.create(definition())
    assert catalogue.call_count == 1


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"command": None}, "command"),
        ({"analysis": {"code": "user_included"}}, "analysis.version"),
        ({"command": "#  \n"}, "no analysis has a command"),
        ({"hardware": {"coreType": "granite"}}, "hardware.coresPerSlot"),
        ({"hardwre": {}}, "hardwre"),
    ],
)
async def test_a_definition_missing_a_part_fails_before_any_request(
    broken: dict[str, object], message: str
) -> None:
    body = definition()
    analysis = {**body["jobanalyses"][0], **broken}
    body["jobanalyses"] = [{k: v for k, v in analysis.items() if v is not None}]
    async with api() as (router, c):
        with pytest.raises(ValidationError, match=message):
            await c.jobs.create(body)
        assert not router.calls


async def test_create_can_skip_the_coretype_check() -> None:
    async with api() as (router, c):
        create = router.post("/jobs/").respond(201, json=job_json())
        await c.jobs.create(definition(coresPerSlot=1), check_coretypes=False)
        assert [call.request.url.path for call in router.calls] == ["/api/v2/jobs/"]
    assert create.called


async def test_get_update_delete_submit_stop() -> None:
    async with api() as (router, c):
        get = router.get(JOB_PATH).respond(json=job_json(name="x", unknownField={"kept": 1}))
        patch = router.patch(JOB_PATH).respond(json=job_json(name="renamed"))
        delete = router.delete(JOB_PATH).respond(204)
        submit = router.post(f"{JOB_PATH}submit/").respond(200)
        stop = router.post(f"{JOB_PATH}stop/").respond(202)
        job = await c.jobs.get(JOB)
        renamed = await c.jobs.update(job, {"name": "renamed", "is_low_priority": False})
        await c.jobs.submit(job)
        await c.jobs.stop(JOB)
        await c.jobs.delete(job)
        await c.jobs.delete(JOB, delete_input_files=True)
        with pytest.raises(ValidationError, match="nmae"):
            await c.jobs.update(job, {"nmae": "typo"})
    assert job.model_extra == {"unknownField": {"kept": 1}}
    assert renamed.name == "renamed"
    assert sent(patch) == {"name": "renamed", "isLowPriority": False}
    assert submit.calls.last.request.content == b""
    assert stop.call_count == 1 and get.call_count == 1
    assert query(delete, 0) == {}
    assert query(delete, 1) == {"deleteInputFiles": "true"}


async def test_list_filters_and_follows_numbered_pages() -> None:
    summary = {
        "id": "a",
        "name": "one",
        "dateInserted": "2024-05-06T07:08:09.5Z",
        "owner": "me",
        "jobStatus": {"content": "Executing"},
        "clusterStatusDisplay": {"content": "Started"},
        "storage": 12.5,
        "analysisNames": ["Bring Your Own Software"],
    }
    async with api() as (router, c):
        route = router.get("/jobs/").mock(
            side_effect=[
                httpx.Response(200, json=page([summary], 2, count=2, path="jobs/")),
                httpx.Response(
                    200, json=page([{**summary, "id": "b", "jobStatus": {"content": ""}}], count=2)
                ),
                httpx.Response(200, json=page([])),
            ]
        )
        jobs = await c.jobs.list(
            state="completed", job_status="Waiting for Cluster", page_size=1
        ).to_list()
        await c.jobs.list(job_status=JobStatus.WAITING_FOR_QUEUE).first_page()
    assert [j.id for j in jobs] == ["a", "b"]
    assert all(isinstance(j, JobSummary) for j in jobs)
    assert (jobs[0].status, jobs[1].status) == ("Executing", None)
    assert query(route, 0) == {
        "state": "completed",
        "job_status": "WAITING_FOR_CLUSTER",
        "page_size": "1",
    }
    assert query(route, 1) == {**query(route, 0), "page": "2"}
    assert query(route, 2) == {"job_status": "WAITING_FOR_QUEUE", "page_size": "100"}


async def test_statuses_are_sorted_by_date_whatever_the_server_order() -> None:
    entries = [
        status("Executing", "2024-05-06T07:10:00-07:00"),
        status("Completed", "2024-05-06T14:20:00.123Z", "Completed successfully"),
        status("Pending", "2024-05-06T14:00:00+00:00"),
        status("Queued", "2024-05-06T14:05:00.5+00:00"),
    ]
    async with api() as (router, c):
        router.get(f"{JOB_PATH}statuses/").respond(json=page(entries))
        history = await c.jobs.statuses(JOB)
    assert [e.status for e in history] == [
        JobStatus.PENDING,
        JobStatus.QUEUED,
        JobStatus.EXECUTING,
        JobStatus.COMPLETED,
    ]
    outcome = JobOutcome.from_history(history)
    assert outcome.succeeded and outcome.reason == "Completed successfully"


async def test_cluster_statuses_is_empty_before_the_cluster_exists() -> None:
    async with api() as (router, c):
        clusters = router.get(f"{JOB_PATH}cluster_statuses/").mock(
            side_effect=[
                httpx.Response(404, json={"detail": "Not found."}),
                httpx.Response(
                    200,
                    json=page(
                        [
                            status("Started", "2024-05-06T07:09:00Z"),
                            status("Not Started", "2024-05-06T07:08:00Z"),
                        ]
                    ),
                ),
            ]
        )
        job = router.get(JOB_PATH).respond(json=job_json())
        before = await c.jobs.cluster_statuses(JOB)
        after = await c.jobs.cluster_statuses(JOB)
    assert before == []
    assert [e.status for e in after] == [ClusterStatus.NOT_STARTED, ClusterStatus.STARTED]
    assert clusters.call_count == 2 and job.call_count == 1  # a 404 is not retried


async def test_cluster_statuses_of_a_job_that_does_not_exist_raises() -> None:
    async with api() as (router, c):
        router.get("/jobs/nope/cluster_statuses/").respond(404, json={"detail": "Not found."})
        router.get("/jobs/nope/").respond(404, json={"detail": "Not found."})
        with pytest.raises(NotFoundError, match=r"GET /api/v2/jobs/nope/ -> 404: Not found\."):
            await c.jobs.cluster_statuses("nope")


async def test_instances_runs_files_run_files_and_tail() -> None:
    instance = {
        "publicIp": "3.4.5.6",
        "publicHostname": "ec2.example",
        "sshPort": 22,
        "username": "uprod",
        "role": "MPI_MASTER",
        "extra": True,
    }
    run = {
        "id": 1,
        "dateStarted": "2024-05-06T07:08:09Z",
        "dateCompleted": None,
        "outputFileCount": 3,
        "outputFileSize": 4096,
    }
    async with api() as (router, c):
        router.get(f"{JOB_PATH}instances/").respond(
            json=page([instance, {**instance, "role": "MPI_WORKER"}])
        )
        router.get(f"{JOB_PATH}runs/").respond(json=page([run]))
        files = router.get(f"{JOB_PATH}files/").respond(json=page([file_json()]))
        run_files = router.get(f"{JOB_PATH}runs/1/files/").respond(json=page([file_json("f2")]))
        tail = router.get(f"{JOB_PATH}runs/1/tail/work/process_output.log/").respond(
            json={"fileType": "text", "lines": ["a\n", "b\n"]}
        )
        instances = await c.jobs.instances(JOB).to_list()
        runs = await c.jobs.runs(JOB).to_list()
        outputs = await c.jobs.files(JOB, search="output").to_list()
        of_run = await c.jobs.run_files(JOB, runs[0]).to_list()
        tailed = await c.jobs.tail(JOB, "1", "work/process_output.log", lines=2)
        with pytest.raises(ValueError, match="lines must be >= 1"):
            await c.jobs.tail(JOB, 1, "x", lines=0)
    assert instances[0].role is InstanceRole.MPI_MASTER and instances[0].ssh_port == 22
    assert instances[1].role == "MPI_WORKER"  # an unknown role is kept
    assert isinstance(runs[0], Run) and runs[0].id == "1" and runs[0].output_file_count == 3
    assert isinstance(outputs[0], File) and of_run[0].id == "f2"
    assert query(files) == {"search": "output", "page_size": "1000"}
    assert query(run_files) == {"page_size": "1000"}
    assert tailed.lines == ["a\n", "b\n"] and query(tail) == {"lines": "2"}


@pytest.mark.parametrize("bad", [None, 3, ""])
async def test_a_job_that_is_not_one_is_refused_before_any_request(bad: object) -> None:
    async with api() as (router, c):
        with pytest.raises((TypeError, ValueError)):
            await c.jobs.get(bad)  # type: ignore[arg-type]
        assert not router.calls


async def test_every_path_has_its_trailing_slash() -> None:
    async with api() as (router, c):
        route = router.route().respond(json=page([]))
        await c.jobs.statuses("a/b")
    assert (
        route.calls.last.request.url.raw_path.decode()
        == "/api/v2/jobs/a%2Fb/statuses/?page_size=100"
    )
    assert str(route.calls.last.request.url).startswith(BASE_URL)


async def test_the_low_level_verbs_use_the_platform_pages_auth_and_scopes() -> None:
    async with api() as (router, c):
        me = router.get("/users/me/").respond(json={"email": "me@x"})
        route = router.get("/jobs/").mock(
            side_effect=lambda request: httpx.Response(
                200,
                json=page([{"id": "a"}], 2, path="jobs/")
                if "page" not in request.url.params
                else page([{"id": "b"}]),
            )
        )
        assert await c.get("users/me/", cast_to=dict[str, str]) == {"email": "me@x"}
        listed = await c.paginate("jobs/", JobSummary, page_size=1).to_list()
    assert [j.id for j in listed] == ["a", "b"]
    assert query(route, 0) == {"page_size": "1"} and query(route, 1) == {
        "page_size": "1",
        "page": "2",
    }
    assert me.calls.last.request.headers["authorization"].startswith("Token ")


def test_a_drf_pages_next_link_is_read_from_its_head() -> None:
    tricky = b'{"count": 1, "next": null, "previous": null, "results": [{"name": "\\"next\\": \\"x\\"}"}]}'
    assert next_link_of(tricky) is None
    body = b'{"count": 9, "next": "https://p.test/api/v2/jobs/?page=2", "previous": null, "results": []}'
    assert next_link_of(body) == "https://p.test/api/v2/jobs/?page=2"
