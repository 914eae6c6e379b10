"""One identity of a submit request: specs that differ in any field keep their own jobs, even
when an answer is lost and the service lists jobs in another order than it created them.
"""

from __future__ import annotations

from typing import Any

import pytest
from orchestration_support import emulated, py

from rescale_async import JobSpec
from rescale_async.htc.orchestration._identity import identity_of, match_parents
from rescale_async.htc.orchestration._submit import per_post, plan_sweep

BATCH = "/jobs/batch"


def _api(spec: JobSpec) -> dict[str, Any]:
    return spec.to_request().to_api()


@pytest.mark.parametrize("order", ["shuffled", "reversed"])
async def test_specs_differing_only_in_vcpus_keep_their_jobs_after_a_lost_answer(
    order: str,
) -> None:
    specs = [py("pass", vcpus=1 + n % 4) for n in range(12)]
    async with emulated(job_order=order) as s:
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        batch = await s.client.jobs.submit_many(s.task, specs)
        assert s.emu.counters.fault_total("lost") == 1
        for spec, job_id in zip(specs, batch.job_ids, strict=True):
            assert s.emu.state.jobs[job_id].definition.max_vcpus == spec.vcpus


async def test_specs_differing_only_in_tags_keep_their_jobs_after_a_lost_answer() -> None:
    specs = [py("pass", tags={"point": str(n % 5)}) for n in range(10)]
    async with emulated(job_order="shuffled") as s:
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        batch = await s.client.jobs.submit_many(s.task, specs)
        assert s.emu.counters.fault_total("lost") == 1
        for spec, job_id in zip(specs, batch.job_ids, strict=True):
            assert s.emu.state.jobs[job_id].definition.tags == spec.tags


async def test_specs_a_listing_cannot_tell_apart_go_in_separate_posts() -> None:
    """Priority does not show in a job listing: each priority gets a POST of its own, so a
    lost answer is still matched exactly.
    """
    specs = [py("pass", priority=p) for p in ("ON_DEMAND_PRIORITY", "ON_DEMAND_ECONOMY") * 3]
    async with emulated(job_order="shuffled") as s:
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=2)
        batch = await s.client.jobs.submit_many(s.task, specs)
        assert len(batch.groups) == 2
        assert s.emu.counters.fault_total("lost") == 2
        for spec, job_id in zip(specs, batch.job_ids, strict=True):
            assert s.emu.state.jobs[job_id].priority == spec.priority


def test_identical_specs_share_a_request_and_any_difference_keeps_them_apart() -> None:
    specs = [
        py("pass"),
        py("pass", priority="ON_DEMAND_ECONOMY"),
        py("pass"),
        py("pass", timeout=120),
        py("pass", memory_mib=8000),
    ]
    planned, order = plan_sweep([spec.to_request() for spec in specs])
    assert [request.batch_size for request in planned] == [2, 1, 1, 1]
    assert order == [0, 2, 1, 3, 4]


def test_requests_a_listing_could_confuse_never_share_a_post() -> None:
    body = [
        _api(py("pass", priority="ON_DEMAND_ECONOMY")),
        _api(py("pass")),
        _api(py("pass", vcpus=2)),  # confusable with the unset vcpus of the one before
        _api(py("other")),
    ]
    posts = per_post(body)
    assert [len(post) for post in posts] == [2, 1, 1]
    assert posts[0] == [body[0], body[3]]


def test_a_field_left_unset_agrees_with_the_default_the_service_filled() -> None:
    requests = [identity_of(_api(py("pass"))), identity_of(_api(py("pass", vcpus=2)))]
    listed = identity_of(_api(py("pass", vcpus=1))).visible
    fields = {
        "b": dict(identity_of(_api(py("pass", vcpus=2))).visible),
        "a": dict(listed),
    }
    assert [p.parent_id for p in match_parents(requests, {"b": 1, "a": 1}, fields) or []] == [
        "a",
        "b",
    ]
    assert match_parents(requests, {"b": 1, "a": 2}, fields) is None
