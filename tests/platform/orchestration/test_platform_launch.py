"""Creating and submitting exactly once: a lost create is found by its marker among the newest
jobs of its name, a lost submit by the job's status history; nothing is sent twice.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import respx
from transfer_support import BASE_URL, client, facades, page

from rescale_async import InternalServerError, SubmissionInDoubtError
from rescale_async.platform.types import JobOutcome

CORETYPES = {"code": "granite", "cores": [2, 4], "isActive": True}


def definition(name: str = "sweep") -> dict[str, Any]:
    return {
        "name": name,
        "jobanalyses": [
            {
                "analysis": {"code": "user_included", "version": "0"},
                "command": "true",
                "hardware": {"coreType": "granite", "coresPerSlot": 2},
            }
        ],
    }


def summary(job_id: str, name: str, inserted: str) -> dict[str, Any]:
    return {"id": job_id, "name": name, "dateInserted": inserted, "jobStatus": {"content": ""}}


def now_iso(offset: float = 0.0) -> str:
    moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset)
    return moment.isoformat().replace("+00:00", "Z")


async def test_a_lost_create_is_found_among_the_newest_jobs_of_its_name() -> None:
    created: dict[str, Any] = {}

    def create(request: httpx.Request) -> httpx.Response:
        created.update(json.loads(request.content))
        raise httpx.ReadError("the answer was lost")  # the service acted

    def get(request: httpx.Request) -> httpx.Response:
        job_id = request.url.path.split("/")[-2]
        description = created["description"] if job_id == "mine" else "[rescale_async run 00]"
        return httpx.Response(200, json={"id": job_id, "name": "sweep", "description": description})

    listing = [
        summary("other", "another name", now_iso()),
        summary("twin", "sweep", now_iso(-1)),  # the same name, another marker
        summary("mine", "sweep", now_iso(-2)),
        summary("old", "sweep", now_iso(-86_400)),  # before the look-back: never fetched
    ]
    with respx.mock(base_url=BASE_URL) as router:
        router.get("/coretypes/").respond(json=page([CORETYPES]))
        post = router.post("/jobs/").mock(side_effect=create)
        router.get("/jobs/").respond(json=page(listing))
        fetched = router.get(url__regex=r"/jobs/[a-z]+/$").mock(side_effect=get)
        submit = router.post("/jobs/mine/submit/").respond(200)
        router.get("/jobs/mine/statuses/").respond(
            json=page(
                [
                    {
                        "status": "Completed",
                        "statusDate": now_iso(),
                        "statusReason": "Completed successfully",
                    }
                ]
            )
        )
        async with client() as c:
            jobs, _ = facades(c)
            run = await jobs.run(definition(), interval=0)
    assert (
        run.job.id == "mine"
        and run.succeeded
        and run.outcome == JobOutcome.from_history(run.outcome.history)
    )
    assert post.call_count == 1 and submit.call_count == 1
    assert created["description"].startswith("[rescale_async run ")
    assert sorted(call.request.url.path.split("/")[-2] for call in fetched.calls) == [
        "mine",
        "twin",
    ]


async def test_a_create_that_did_not_land_is_sent_again_with_the_same_marker() -> None:
    bodies: list[dict[str, Any]] = []

    def create(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            return httpx.Response(502, text="Bad Gateway")  # a proxy's: nothing was created
        return httpx.Response(
            201, json={"id": "j2", "name": "sweep", "description": bodies[-1]["description"]}
        )

    with respx.mock(base_url=BASE_URL) as router:
        router.get("/coretypes/").respond(json=page([CORETYPES]))
        router.post("/jobs/").mock(side_effect=create)
        router.get("/jobs/").respond(json=page([]))
        router.post("/jobs/j2/submit/").respond(200)
        router.get("/jobs/j2/statuses/").respond(
            json=page(
                [
                    {
                        "status": "Completed",
                        "statusDate": now_iso(),
                        "statusReason": "Completed successfully",
                    }
                ]
            )
        )
        async with client() as c:
            jobs, _ = facades(c)
            run = await jobs.run(definition(), interval=0)
    assert run.job.id == "j2" and len(bodies) == 2
    assert bodies[0]["description"] == bodies[1]["description"]


async def test_a_lost_submit_is_settled_by_the_status_history() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get("/coretypes/").respond(json=page([CORETYPES]))
        router.post("/jobs/").respond(201, json={"id": "j1", "name": "sweep"})
        submit = router.post("/jobs/j1/submit/").mock(side_effect=httpx.ReadTimeout("lost"))
        router.get("/jobs/j1/statuses/").respond(
            json=page(
                [
                    {"status": "Pending", "statusDate": now_iso()},
                    {
                        "status": "Completed",
                        "statusDate": now_iso(1),
                        "statusReason": "Completed successfully",
                    },
                ]
            )
        )
        async with client() as c:
            jobs, _ = facades(c)
            run = await jobs.run(definition(), interval=0)
    assert run.succeeded and submit.call_count == 1  # it had landed: not sent again


async def test_a_submit_that_cannot_be_settled_is_in_doubt() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get("/coretypes/").respond(json=page([CORETYPES]))
        router.post("/jobs/").respond(201, json={"id": "j1", "name": "sweep"})
        submit = router.post("/jobs/j1/submit/").respond(503, json={"detail": "unavailable"})
        router.get("/jobs/j1/statuses/").respond(504, text="Gateway Time-out")
        async with client(max_retries=1) as c:
            jobs, _ = facades(c)
            with pytest.raises(
                SubmissionInDoubtError, match="cannot tell whether job j1 was submitted"
            ) as caught:
                await jobs.run(definition(), interval=0)
    assert isinstance(caught.value.__cause__, InternalServerError)
    assert submit.call_count == 1
