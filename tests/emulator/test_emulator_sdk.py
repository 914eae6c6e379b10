"""The SDK's resources against the emulator, in process: a whole HTC workflow."""

from __future__ import annotations

import sys

import anyio
import pytest
from emulator_support import running

from rescale_async import BadRequestError, NotFoundError, TaskRef
from rescale_async.htc.types import JobDefinition, JobStatus, JobSubmitRequest, LifecycleStatus


def request(code: str, *, batch_size: int = 1, **fields: object) -> JobSubmitRequest:
    return JobSubmitRequest(
        batch_size=batch_size,
        htc_job_definition=JobDefinition.model_validate(
            {
                "image_name": "python:3.11",
                "commands": [sys.executable, "-c", code],
                "exec_timeout_seconds": 60,
                **fields,
            }
        ),
    )


async def test_a_workflow_through_the_sdk() -> None:
    async with running(log_empty_page_probability=0.3) as emu, emu.client() as client:
        projects = await client.projects.list().to_list()
        assert [p.project_name for p in projects] == ["emulator-project"]
        project = await client.projects.get(emu.project_id)
        assert project.container_registry is not None
        assert project.container_registry.endswith("/")

        task = await client.tasks.create(project, name="sdk", description="through the SDK")
        assert (await client.tasks.get(task)).lifecycle_status == LifecycleStatus.ACTIVE
        code = "for i in range(30): print(f'{i:02d}')"
        submitted = await client.jobs.submit_batch(
            task, [request(code, batch_size=2), request("raise SystemExit(4)")], group="g"
        )
        job_ids = [job_id for s in submitted for job_id in s.job_ids]
        assert len(job_ids) == 3
        with anyio.fail_after(20):
            await emu.wait_for_jobs()

        summary = await client.tasks.summary(task)
        assert summary.job_statuses is not None
        assert summary.job_statuses[JobStatus.SUCCEEDED] == 2
        assert summary.job_statuses[JobStatus.FAILED] == 1
        jobs = await client.jobs.list(task, page_size=1).to_list()
        assert [j.job_id for j in jobs] == job_ids
        failed = await client.jobs.list(task, status="FAILED").to_list()
        assert [j.failure_code for j in failed] == ["ErrorNonZeroContainerExitCode"]
        assert [g async for g in client.tasks.groups(task)] == ["g"]
        group_summaries = await client.tasks.group_summaries(task).to_list()
        assert [s.group for s in group_summaries] == ["g"]

        first = jobs[0]
        assert (await client.jobs.get(first)).status == JobStatus.SUCCEEDED
        # Pages of 7 lines with some empty pages in between: the paginator gets every line.
        lines = [e.message async for e in client.jobs.logs(first, page_size=7)]
        assert lines == [f"{i:02d}" for i in range(30)]
        newest = [e.message async for e in client.jobs.logs(first, sort="desc", limit=3)]
        assert newest == ["29", "28", "27"]
        events = await client.jobs.events(first).to_list()
        assert events[-1].status == JobStatus.SUCCEEDED

        status = await client.images.status(project, "python:3.11")
        assert status.is_ready
        with pytest.raises(NotFoundError):
            await client.images.status(project, "missing:1")
        with pytest.raises(BadRequestError) as caught:
            await client.jobs.submit_batch(
                task, {"htc_job_definition": {"image_name": "missing:1"}}
            )
        assert "unavailable" in str(caught.value)

        await client.jobs.cancel(task)  # nothing left to cancel
        archived = await client.tasks.archive(task)
        assert archived.lifecycle_status == LifecycleStatus.ARCHIVED
        await client.tasks.unarchive(task)
        deleted = await client.tasks.delete(TaskRef(emu.project_id, task.task_id))
        assert deleted is not None
        assert deleted.lifecycle_status == LifecycleStatus.DELETED


async def test_settings_identity_and_storage_through_the_sdk() -> None:
    async with running() as emu, emu.client() as client:
        await client.projects.limits.create(emu.project_id, vcpus=32)
        limit = await client.projects.limits.create(emu.project_id, vcpus=16)  # replaces it
        assert [lim.v_cpus for lim in await client.projects.limits.list(emu.project_id)] == [16]
        assert limit.id is not None
        await client.projects.limits.delete(emu.project_id, limit.id)
        dims = await client.projects.dimensions.get(emu.project_id)
        assert dims
        policy = await client.projects.retention_policy.set(
            emu.project_id, archive_after=1, delete_after=2
        )
        assert policy.delete_after == 2
        who = await client.auth.user()
        assert who.user is not None
        assert who.user.user_id == emu.config.user_id
        payload = await client.auth.whoami()
        assert payload["sub"] == emu.config.user_id
        oauth = await client.auth.oauth2_token(
            client_id=emu.config.oauth_client_id, client_secret=emu.api_key
        )
        assert oauth.access_token is not None
        regions = await client.regions.list(enabled=True)
        assert [str(r.region) for r in regions] == ["AWS_US_EAST_2"]
        token = await client.storage.tokens(emu.project_id)
        assert token.default_region == "AWS_US_EAST_2"
        limits = await client.workspaces.limits(emu.config.workspace_id)
        assert limits.v_cpus == emu.config.workspace_vcpu_limit
        assert "htc_emulator_requests_total" in await client.metrics.get()
