"""``client.jobs``: submitting, listing and cancelling jobs; their status events and logs."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypeVar, overload

from pydantic import TypeAdapter

from ..._core.pagination import AsyncPaginator
from ..types import (
    Job,
    JobDefinition,
    JobLike,
    JobStatus,
    JobStatusEvent,
    JobSubmitRequest,
    LogEvent,
    SubmittedJobs,
    TaskLike,
    ViewType,
)
from ._base import APIResource
from ._ids import job_path, task_path

__all__ = ["LOG_PAGE_SIZE_MAX", "Jobs"]

T = TypeVar("T")

LOG_PAGE_SIZE_MAX = 10000
"""The most log lines one page may hold."""

_submit_requests = TypeAdapter(list[JobSubmitRequest])

SubmitRequests: TypeAlias = (
    JobSubmitRequest | Mapping[str, Any] | Sequence[JobSubmitRequest | Mapping[str, Any]]
)
"""One submit request or several; a dict is validated as a JobSubmitRequest."""


def _submit_body(requests: SubmitRequests) -> list[dict[str, Any]]:
    """The JSON array for ``.../jobs/batch``, every request (re)validated: a model changed after
    it was built (``request.batch_size = 0``) is checked again.
    """
    many = isinstance(requests, Sequence) and not isinstance(requests, str)
    items = [*requests] if many else [requests]
    if not items:
        raise ValueError("submit_batch needs at least one JobSubmitRequest, got an empty list")
    for index, item in enumerate(items):
        if not isinstance(item, JobSubmitRequest | Mapping):
            hint = (
                "; wrap it as JobSubmitRequest(htc_job_definition=...)"
                if isinstance(item, JobDefinition)
                else ""
            )
            raise TypeError(
                f"requests[{index}] is a {type(item).__name__}, expected a JobSubmitRequest{hint}"
            )
    raw = [
        item.model_dump(by_alias=False, exclude_unset=True)
        if isinstance(item, JobSubmitRequest)
        else item
        for item in items
    ]
    return [request.to_api() for request in _submit_requests.validate_python(raw)]


class Jobs(APIResource):
    """Jobs: containers run ``batch_size`` times per submission, inside a task."""

    def list(
        self,
        task: TaskLike,
        *,
        status: JobStatus | str | None = None,
        group: str | None = None,
        job_ids: str | Sequence[str] | None = None,
        view: ViewType | str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[Job]:
        """The task's jobs, optionally only those in ``status``, in ``group`` or with the given
        ids; ``view="SIMPLE"`` asks for less of each job.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs``
        """
        path = f"{task_path(task)}/jobs"
        ids = [job_ids] if isinstance(job_ids, str) else job_ids
        params = {
            "status": None if status is None else JobStatus(status).value,
            "group": group,
            "jobId": None if ids is None else [*ids],
            "viewType": None if view is None else ViewType(view).value,
        }
        return self._list(
            path, Job, listing="jobs", params=params, page_size=page_size, limit=limit
        )

    async def submit_batch(
        self, task: TaskLike, requests: SubmitRequests, *, group: str | None = None
    ) -> SubmittedJobs:
        """Submit one or more requests (each ``batch_size`` 1..1000 copies of a job) to the
        task, in ``group`` if given. Not idempotent, so never retried after reaching the
        service. The results carry the task's ids, so they can be passed to ``list``/``cancel``.
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``
        """
        return await self.post_batch(task, _submit_body(requests), group=group)

    async def post_batch(
        self, task: TaskLike, body: builtins.list[dict[str, Any]], *, group: str | None = None
    ) -> SubmittedJobs:
        """POST an already validated body (``JobSubmitRequest.to_api()`` dicts) as it is: the
        call behind ``submit_batch``, for callers that keep the exact bytes they send (to
        record them before sending).
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``
        """
        path = f"{task_path(task)}/jobs/batch"
        submitted = await self._call(
            "POST", path, SubmittedJobs, params={"group": group}, json=body
        )
        for job in submitted:
            job.project_id = job.project_id or task.project_id
            job.task_id = job.task_id or task.task_id
        return submitted

    async def cancel(self, task: TaskLike, *, group: str | None = None) -> None:
        """Ask to cancel every job of the task, or of ``group`` (success does not mean every
        job was cancelled). ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/cancel``
        """
        path = f"{task_path(task)}/jobs/cancel"
        await self._call_no_content("POST", path, params={"group": group})

    async def get(self, job: JobLike) -> Job:
        """One job. ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}``"""
        return await self._call("GET", job_path(job), Job)

    def events(
        self, job: JobLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[JobStatusEvent]:
        """The job's status changes.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}/events``
        """
        path = f"{job_path(job)}/events"
        return self._list(
            path, JobStatusEvent, listing="job events", page_size=page_size, limit=limit
        )

    @overload
    def logs(
        self,
        job: JobLike,
        *,
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
    ) -> AsyncPaginator[LogEvent]: ...

    @overload
    def logs(
        self,
        job: JobLike,
        *,
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
        cast_to: type[T],
    ) -> AsyncPaginator[T]: ...

    def logs(
        self,
        job: JobLike,
        *,
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
        cast_to: type[T] | type[LogEvent] = LogEvent,
    ) -> AsyncPaginator[T] | AsyncPaginator[LogEvent]:
        """The job's log lines, oldest first unless ``sort="desc"``, in pages of ``page_size``
        lines (1..10000, the service's maximum and the default); iterating holds two pages at
        most, the next one being requested while the current one is parsed. ``cast_to`` parses
        each line as a lighter shape when less is needed (a TypedDict of ``message``).
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}/logs``
        """
        if sort not in ("asc", "desc"):
            raise ValueError(
                f"sort must be 'asc' (oldest first) or 'desc' (newest first), got {sort!r}"
            )
        path = f"{job_path(job)}/logs"
        paginator: AsyncPaginator[Any] = self._list(
            path,
            cast_to,
            listing="logs",
            params={"sort": sort},
            page_size=page_size,
            limit=limit,
            max_page_size=LOG_PAGE_SIZE_MAX,
        )
        return paginator
