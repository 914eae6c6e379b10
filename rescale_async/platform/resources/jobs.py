"""``client.jobs``: create, submit, follow and clean up platform jobs.

Retries follow the core's policy: ``create`` (``POST jobs/``) and ``submit`` are never resent
after a 5xx or a timeout, which could leave a duplicate job or submission, only after a
connection error that proves the request never left, or a 429; every GET rides out 5xx
(``statuses/`` answers a sporadic 504). ``cluster_statuses`` answers an empty history while the
job's cluster does not exist yet (the service's 404).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from ..._core.exceptions import NotFoundError
from ..._core.pagination import AsyncPaginator
from ..._core.pipeline import Pipeline
from ..types import (
    ClusterStatusEntry,
    File,
    FileTail,
    Job,
    JobCreate,
    JobInstance,
    JobLike,
    JobState,
    JobStatus,
    JobStatusEntry,
    JobSummary,
    JobUpdate,
    Run,
    RunLike,
    chronological,
)
from ._base import FILES_PAGE_SIZE, PlatformResource, api_path
from ._ids import job_id, run_id
from .coretypes import CoreTypeCatalogue, CoreTypes

__all__ = ["Jobs", "job_status_filter"]


def job_status_filter(status: JobStatus | str) -> str:
    """The ``job_status`` filter spelling of a status: ``WAITING_FOR_CLUSTER`` for
    ``JobStatus.WAITING_FOR_CLUSTER`` or ``"Waiting for Cluster"``.
    """
    return (
        str(status.value if isinstance(status, JobStatus) else status)
        .strip()
        .upper()
        .replace(" ", "_")
    )


class Jobs(PlatformResource):
    """Platform jobs: a software tile on a cluster, with input and output files."""

    def __init__(self, pipeline: Pipeline, catalogue: CoreTypeCatalogue | None = None) -> None:
        super().__init__(pipeline)
        self._coretypes = CoreTypes(pipeline)
        self._catalogue = catalogue or CoreTypeCatalogue()

    async def create(
        self, definition: JobCreate | Mapping[str, Any], *, check_coretypes: bool = True
    ) -> Job:
        """Save a job (not yet submitted). The definition is validated strictly first, and with
        ``check_coretypes`` its hardware against the coretype catalogue (fetched once per
        client): a missing command or analysis version, an unknown coretype or a
        ``coresPerSlot`` it does not allow fail with a ValueError before the job is sent.
        Never resent after a 5xx or a timeout. ``POST jobs/``
        """
        body = (
            definition
            if isinstance(definition, JobCreate)
            else JobCreate.model_validate(definition)
        )
        if check_coretypes:
            needed = frozenset(analysis.hardware.core_type for analysis in body.jobanalyses)
            body.check_hardware(await self._catalogue.get(self._coretypes, needed=needed))
        return await self._call("POST", "jobs/", Job, json=body.to_api())

    async def get(self, job: JobLike) -> Job:
        """One job's definition (its status is in ``statuses``). ``GET jobs/{id}/``"""
        return await self._call("GET", api_path("jobs", job_id(job)), Job)

    def list(
        self,
        *,
        state: JobState | None = None,
        job_status: JobStatus | str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[JobSummary]:
        """The caller's jobs, newest first; ``state`` is ``"completed"`` or
        ``"not_completed"``, ``job_status`` a JobStatus (or its name). ``GET jobs/``
        """
        params = {
            "state": state,
            "job_status": None if job_status is None else job_status_filter(job_status),
        }
        return self._list("jobs/", JobSummary, params=params, page_size=page_size, limit=limit)

    async def update(self, job: JobLike, changes: JobUpdate | Mapping[str, Any]) -> Job:
        """Change a saved job's definition (only the fields given); a Completed job answers
        200 and changes nothing. ``PATCH jobs/{id}/``
        """
        body = changes if isinstance(changes, JobUpdate) else JobUpdate.model_validate(changes)
        return await self._call("PATCH", api_path("jobs", job_id(job)), Job, json=body.to_api())

    async def delete(self, job: JobLike, *, delete_input_files: bool = False) -> None:
        """Delete a job (and its input files with ``delete_input_files``); the service refuses
        (400) until the job's cluster is Stopped. ``DELETE jobs/{id}/``
        """
        params = {"deleteInputFiles": "true" if delete_input_files else None}
        await self._call_no_content("DELETE", api_path("jobs", job_id(job)), params=params)

    async def submit(self, job: JobLike) -> None:
        """Submit a saved job (scope job-submission, 1000 per hour); never resent after a 5xx
        or a timeout. ``POST jobs/{id}/submit/``
        """
        await self._call_no_content("POST", api_path("jobs", job_id(job), "submit"))

    async def stop(self, job: JobLike) -> None:
        """Stop a job gracefully (SIGTERM, files synced; answers 202).
        ``POST jobs/{id}/stop/``
        """
        await self._call_no_content("POST", api_path("jobs", job_id(job), "stop"))

    async def statuses(self, job: JobLike) -> builtins.list[JobStatusEntry]:
        """The job's status history, oldest first (sorted by date: the server's order is not
        trusted); ``JobOutcome.from_history`` says whether it succeeded.
        ``GET jobs/{id}/statuses/``
        """
        path = api_path("jobs", job_id(job), "statuses")
        return chronological(await self._list(path, JobStatusEntry).to_list())

    async def cluster_statuses(self, job: JobLike) -> builtins.list[ClusterStatusEntry]:
        """The history of the job's cluster, oldest first; empty while the cluster does not
        exist yet (the service answers 404 then: the job itself is fetched to tell that from a
        job that does not exist, which raises NotFoundError).
        ``GET jobs/{id}/cluster_statuses/``
        """
        path = api_path("jobs", job_id(job), "cluster_statuses")
        try:
            entries = await self._list(path, ClusterStatusEntry).to_list()
        except NotFoundError:
            await self.get(job)  # raises NotFoundError when there is no such job
            return []
        return chronological(entries)

    def instances(
        self, job: JobLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[JobInstance]:
        """The nodes of the job's running cluster (none until it runs).
        ``GET jobs/{id}/instances/``
        """
        path = api_path("jobs", job_id(job), "instances")
        return self._list(path, JobInstance, page_size=page_size, limit=limit)

    def files(
        self,
        job: JobLike,
        *,
        search: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[File]:
        """The job's output files (``search`` filters by name), 1000 a page.
        ``GET jobs/{id}/files/``
        """
        return self._list(
            api_path("jobs", job_id(job), "files"),
            File,
            params={"search": search},
            page_size=page_size,
            limit=limit,
            default_page_size=FILES_PAGE_SIZE,
        )

    def runs(
        self, job: JobLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[Run]:
        """The job's runs. ``GET jobs/{id}/runs/``"""
        path = api_path("jobs", job_id(job), "runs")
        return self._list(path, Run, page_size=page_size, limit=limit)

    def run_files(
        self,
        job: JobLike,
        run: RunLike,
        *,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[File]:
        """The output files of one run, 1000 a page. ``GET jobs/{id}/runs/{r}/files/``"""
        return self._list(
            api_path("jobs", job_id(job), "runs", run_id(run), "files"),
            File,
            page_size=page_size,
            limit=limit,
            default_page_size=FILES_PAGE_SIZE,
        )

    async def tail(
        self, job: JobLike, run: RunLike, path: str, *, lines: int | None = None
    ) -> FileTail:
        """The last ``lines`` lines of a file of a running job's working directory (``path``
        relative to it, e.g. ``process_output.log``). ``GET jobs/{id}/runs/{r}/tail/{path}/``
        """
        parts = [part for part in path.split("/") if part]
        if not parts:
            raise ValueError("tail needs the path of a file in the job's working directory")
        if lines is not None and lines < 1:
            raise ValueError(f"lines must be >= 1, got {lines}")
        url = api_path("jobs", job_id(job), "runs", run_id(run), "tail", *parts)
        return await self._call("GET", url, FileTail, params={"lines": lines})
