"""``jobs.wait``, ``jobs.outcome``, ``jobs.wait_for_cluster`` and ``jobs.delete``: a Completed
failure is a failure, dates decide the order, transient errors are ridden out, timeouts name
the job and where it stands.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from transfer_support import BASE_URL, client, facades, page

from rescale_async import NotFoundError, WaitTimeoutError
from rescale_async.platform.types import JobOutcome, JobStatus

JOB = "ObMcJc"
STATUSES = f"/jobs/{JOB}/statuses/"
CLUSTER = f"/jobs/{JOB}/cluster_statuses/"


def status(name: str, date: str, reason: str | None = None) -> dict[str, Any]:
    return {"status": name, "statusDate": date, "statusReason": reason}


def history(*names: str, reason: str | None = None) -> list[dict[str, Any]]:
    """Statuses one minute apart, newest first as the service sends them (mixed date styles)."""
    entries = [
        status(name, f"2024-05-06T07:{minute:02d}:00{'Z' if minute % 2 else '+00:00'}")
        for minute, name in enumerate(names)
    ]
    if reason is not None:
        entries[-1]["statusReason"] = reason
    return list(reversed(entries))


def polls(*answers: httpx.Response | list[dict[str, Any]]) -> Iterator[httpx.Response]:
    """Each poll's answer in turn, the last one repeated."""
    responses = [
        a if isinstance(a, httpx.Response) else httpx.Response(200, json=page(a)) for a in answers
    ]
    yield from responses
    while True:
        yield responses[-1]


async def test_a_completed_failure_is_not_a_success() -> None:
    failed = history(
        "Pending",
        "Queued",
        "Started",
        "Executing",
        "Completed",
        reason="Exceeded max number of restarts",
    )
    with respx.mock(base_url=BASE_URL) as router:
        router.get(STATUSES).mock(side_effect=polls(history("Pending"), failed))
        async with client() as c:
            jobs, _ = facades(c)
            seen: list[JobOutcome] = []
            outcome = await jobs.wait(JOB, interval=0, progress=seen.append)
    assert outcome.status is JobStatus.COMPLETED and outcome.is_terminal
    assert not outcome.succeeded and outcome.failed
    assert outcome.reason == "Exceeded max number of restarts"
    assert [s.value for s in outcome.statuses()] == [
        "Pending",
        "Queued",
        "Started",
        "Executing",
        "Completed",
    ]
    assert [o.status for o in seen] == [JobStatus.PENDING, JobStatus.COMPLETED]


async def test_a_run_failure_on_the_way_fails_a_completed_job() -> None:
    entries = history("Executing", "Stopping", "Completed", reason="Completed successfully")
    entries[1]["statusReason"] = "A run failed"  # Stopping, newest first: index 1
    with respx.mock(base_url=BASE_URL) as router:
        router.get(STATUSES).respond(json=page(entries))
        async with client() as c:
            jobs, _ = facades(c)
            outcome = await jobs.outcome(JOB)
    assert outcome.failed and outcome.failure_reason == "A run failed"


async def test_statuses_are_ordered_by_date_not_by_the_server() -> None:
    shuffled = [
        status("Completed", "2024-05-06T07:03:00.5Z", "Completed successfully"),
        status("Pending", "2024-05-06T00:00:00-07:00"),  # 07:00Z
        status("Executing", "2024-05-06T07:02:00.000001+00:00"),
        status("Queued", "2024-05-06T07:01:00Z"),
    ]
    with respx.mock(base_url=BASE_URL) as router:
        router.get(STATUSES).respond(json=page(shuffled))
        async with client() as c:
            jobs, _ = facades(c)
            outcome = await jobs.wait(JOB, interval=0)
    assert outcome.succeeded
    assert [s.value for s in outcome.statuses()] == ["Pending", "Queued", "Executing", "Completed"]


async def test_the_sporadic_504_is_ridden_out() -> None:
    gateway = httpx.Response(504, text="<html><title>504 Gateway Time-out</title></html>")
    done = history("Pending", "Completed", reason="Completed successfully")
    with respx.mock(base_url=BASE_URL) as router:
        # more 504s in a row than the client's own retries: wait itself polls again
        route = router.get(STATUSES).mock(side_effect=polls(*[gateway] * 6, done))
        async with client(max_retries=2) as c:
            jobs, _ = facades(c)
            outcome = await jobs.wait(JOB, interval=0)
    assert outcome.succeeded and route.call_count == 7


async def test_until_any_status_returns_once_it_is_reached() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        route = router.get(STATUSES).mock(
            side_effect=polls(
                [], history("Pending", "Queued"), history("Pending", "Queued", "Executing")
            )
        )
        async with client() as c:
            jobs, _ = facades(c)
            outcome = await jobs.wait(JOB, until="EXECUTING", interval=0)
            with pytest.raises(ValueError, match="until must be a job status, one of 'Pending'"):
                await jobs.wait(JOB, until="Runing", interval=0)
    assert outcome.status is JobStatus.EXECUTING and not outcome.is_terminal
    assert route.call_count == 3


async def test_a_job_that_completes_without_reaching_until_ends_the_wait() -> None:
    completed = history(
        "Pending",
        "Completed",
        reason="Could not allocate compute resources from the compute provider",
    )
    with respx.mock(base_url=BASE_URL) as router:
        router.get(STATUSES).respond(json=page(completed))
        async with client() as c:
            jobs, _ = facades(c)
            outcome = await jobs.wait(JOB, until=JobStatus.EXECUTING, interval=0)
    assert outcome.failed and JobStatus.EXECUTING not in outcome.statuses()


async def test_a_wait_that_times_out_names_the_job_and_its_last_status() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get(STATUSES).respond(json=page(history("Pending", "Queued")))
        async with client() as c:
            jobs, _ = facades(c)
            with pytest.raises(WaitTimeoutError) as caught:
                await jobs.wait(JOB, timeout=0.05, interval=0.01)
            router.get(STATUSES).respond(json=page([]))
            with pytest.raises(TimeoutError, match="not submitted"):
                await jobs.wait(JOB, timeout=0.02, interval=0.01)
            with pytest.raises(ValueError, match="timeout must be"):
                await jobs.wait(JOB, timeout=-1)
    message = str(caught.value)
    assert JOB in message and "'Queued'" in message and "'Completed'" in message
    assert isinstance(caught.value.result, JobOutcome)
    assert caught.value.result.status is JobStatus.QUEUED


async def test_delete_waits_for_the_cluster_to_stop() -> None:
    cluster = [
        history("Starting", "Started", "Stopping"),
        history("Starting", "Started", "Stopping", "Stopped"),
    ]
    with respx.mock(base_url=BASE_URL) as router:
        statuses = router.get(CLUSTER).mock(side_effect=polls(*cluster))
        delete = router.delete(f"/jobs/{JOB}/").respond(204)
        async with client() as c:
            jobs, _ = facades(c)
            await jobs.delete(JOB, wait_for_cluster=True, interval=0, delete_input_files=True)
    assert statuses.call_count == 2 and delete.call_count == 1
    assert delete.calls[0].request.url.params["deleteInputFiles"] == "true"
    assert delete.calls[0].request.url.path.endswith(f"/jobs/{JOB}/")


async def test_delete_of_a_job_without_a_cluster_does_not_wait() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get(CLUSTER).respond(404, json={"detail": "Not found."})
        router.get(f"/jobs/{JOB}/").respond(json={"id": JOB, "name": "saved"})
        delete = router.delete(f"/jobs/{JOB}/").respond(204)
        router.get("/jobs/nope/cluster_statuses/").respond(404, json={"detail": "Not found."})
        router.get("/jobs/nope/").respond(404, json={"detail": "Not found."})
        async with client() as c:
            jobs, _ = facades(c)
            await jobs.delete(JOB, wait_for_cluster=True, interval=0)
            with pytest.raises(NotFoundError):
                await jobs.delete("nope", wait_for_cluster=True, interval=0)
    assert delete.call_count == 1


async def test_a_cluster_that_does_not_stop_in_time() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get(CLUSTER).respond(json=page(history("Starting", "Started")))
        delete = router.delete(f"/jobs/{JOB}/").respond(204)
        async with client() as c:
            jobs, _ = facades(c)
            with pytest.raises(
                WaitTimeoutError, match=f"cluster of job {JOB} had not stopped.*'Started'"
            ):
                await jobs.delete(JOB, wait_for_cluster=True, timeout=0.02, interval=0.01)
            await jobs.delete(JOB)  # as it is: no wait
    assert delete.call_count == 1
