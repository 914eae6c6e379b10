"""The emulator's state: projects, tasks, jobs, logs, events, limits, credentials.

Everything runs on one event loop, so mutations need no locks. Each mutation marks what it
changed; ``drain()`` hands those changes to the store. Job progress is kept twice: ``live``
(what the runner knows now) and ``visible`` (what the API shows), and ``publish()`` copies
one to the other, as the service refreshes job statuses every ``refresh_interval``.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio

from ...htc.types import (
    ContainerDetails,
    JobDefinitionBase,
    JobStatus,
    JobStatusEvent,
    JobSubmitRequest,
    LifecycleStatus,
)
from .._config import EmulatorConfig
from .._tokens import new_secret
from ._errors import ApiError, bad_request, not_found, not_found_request
from ._order import JobOrdering
from ._records import (
    RUNNING_STATES,
    TERMINAL,
    JobRecord,
    JobView,
    LimitRecord,
    LogLine,
    ProjectRecord,
    TaskRecord,
    now,
)
from ._registry import RegistryView
from ._store import Snapshot, WriteBatch

__all__ = ["State", "SubmittedBatch", "normalize_image"]

logger = logging.getLogger("rescale_async.emulator")

ALWAYS_COUNTED = (
    JobStatus.SUBMITTED_TO_RESCALE,
    JobStatus.SUBMITTED_TO_PROVIDER,
    JobStatus.RUNNABLE,
    JobStatus.STARTING,
    JobStatus.RUNNING,
    JobStatus.SUCCEEDED,
    JobStatus.FAILED,
)
"""Statuses every summary lists, with 0 when no job has them (clients index them directly)."""

_KINDS = ("project", "task", "job", "limit", "refresh")


@dataclass(frozen=True)
class SubmittedBatch:
    """What one submit request made: ``batch_size`` jobs sharing a parent id and a group."""

    request: JobSubmitRequest
    parent_id: str
    batch_size: int
    group: str
    received: datetime
    jobs: list[JobRecord]


def normalize_image(project: ProjectRecord, registry: str, name: str) -> str:
    """``name`` as the project's registry knows it: registry prefix dropped, ``:latest`` added."""
    if name.startswith(registry):
        name = name[len(registry) :]
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


class State:
    """All emulated resources of one workspace."""

    def __init__(self, config: EmulatorConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.persistent = config.db_path is not None
        self.meta: dict[str, str] = {}
        self.api_keys: list[str] = list(config.api_keys)
        self.refresh_tokens: dict[str, dict[str, Any]] = {
            token: self.user_claims() for token in config.refresh_tokens
        }
        self.projects: dict[str, ProjectRecord] = {}
        self.project_order: list[str] = []
        self.tasks: dict[str, TaskRecord] = {}
        self.task_order: dict[str, list[str]] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.task_jobs: dict[str, list[str]] = {}
        self.task_groups: dict[str, dict[str, None]] = {}
        """task id -> its jobs' groups, in order of first use"""
        self.job_ordering = JobOrdering(config.job_order)
        """The order job listings come in (``config.job_order``)."""
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.logs: dict[str, list[LogLine]] = {}
        self.limits: dict[int, LimitRecord] = {}
        self.workspace_retention: dict[str, Any] = {
            "workspaceId": config.workspace_id,
            "archiveAfter": 0,
            "deleteAfter": 0,
            "createdAt": _iso(now()),
        }
        self.default_project_id = ""
        self.registry: RegistryView | None = None
        """The real registry behind ``containerRegistry`` (``config.registry_address``)."""
        self._seq = 0
        self._limit_seq = 0
        # change tracking (for the store) and publishing (for the API's snapshot)
        self._dirty: set[tuple[str, str]] = set()
        self._removed: set[tuple[str, str]] = set()
        self._meta_dirty = False
        self._pending_logs: list[tuple[str, int, str, str]] = []
        self._pending_events: list[tuple[str, int, str]] = []
        self._unpublished: set[str] = set()
        self.published = anyio.Event()
        """Set (and replaced) at every publish: ``await state.published.wait()``."""
        self.changed = anyio.Event()
        """Set (and replaced) at every change of a job's live status."""

    # ------------------------------------------------------------------ identity

    def user_claims(self) -> dict[str, Any]:
        """The claims of the configured user's bearer tokens."""
        c = self.config
        return {
            "sub": c.user_id,
            "userId": c.user_id,
            "email": c.user_email,
            "name": c.user_full_name,
            "workspaceId": c.workspace_id,
            "workspaceName": c.workspace_name,
            "organizationCode": c.organization_code,
        }

    def add_refresh_token(self, claims: dict[str, Any]) -> str:
        token = new_secret("rr")
        self.refresh_tokens[token] = claims
        self._touch("refresh", token)
        return token

    def _next_seq(self) -> int:
        self._seq += 1
        self._meta_dirty = True
        return self._seq

    # ------------------------------------------------------------------ persistence

    def _touch(self, kind: str, key: str) -> None:
        if self.persistent:
            self._dirty.add((kind, key))
            self._removed.discard((kind, key))

    def _forget(self, kind: str, key: str) -> None:
        if self.persistent:
            self._dirty.discard((kind, key))
            self._removed.add((kind, key))

    def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value
        self._meta_dirty = True

    def drain(self) -> WriteBatch:
        """The changes since the last call, ready for ``Store.write``."""
        batch = WriteBatch()
        if not self.persistent:
            return batch
        if self._meta_dirty:
            self.meta.update(
                {
                    "seq": str(self._seq),
                    "limit_seq": str(self._limit_seq),
                    "api_keys": json.dumps(self.api_keys),
                    "workspace_retention": json.dumps(self.workspace_retention),
                    "default_project_id": self.default_project_id,
                }
            )
            batch.meta = dict(self.meta)
            self._meta_dirty = False
        for kind, key in self._dirty:
            document = self._document(kind, key)
            if document is not None:
                batch.upserts.append((kind, key, *document))
        batch.deletes = list(self._removed)
        batch.logs, self._pending_logs = self._pending_logs, []
        batch.events, self._pending_events = self._pending_events, []
        self._dirty.clear()
        self._removed.clear()
        return batch

    def _document(self, kind: str, key: str) -> tuple[int, str] | None:
        if kind == "project":
            project = self.projects.get(key)
            return None if project is None else (project.seq, project.model_dump_json())
        if kind == "task":
            task = self.tasks.get(key)
            return None if task is None else (task.seq, task.model_dump_json())
        if kind == "job":
            job = self.jobs.get(key)
            return None if job is None else (job.seq, job.model_dump_json(by_alias=True))
        if kind == "limit":
            limit = self.limits.get(int(key))
            return None if limit is None else (limit.id, limit.model_dump_json())
        if kind == "refresh":
            claims = self.refresh_tokens.get(key)
            return None if claims is None else (0, json.dumps({"token": key, "claims": claims}))
        raise ValueError(f"unknown record kind {kind!r}")

    def load(self, snapshot: Snapshot) -> None:
        """Restore everything a database holds (before any job runs)."""
        meta = snapshot.meta
        self.meta = dict(meta)
        self._seq = int(meta.get("seq", "0"))
        self._limit_seq = int(meta.get("limit_seq", "0"))
        stored_keys = json.loads(meta.get("api_keys", "[]"))
        self.api_keys = list(dict.fromkeys([*self.api_keys, *stored_keys]))
        if "workspace_retention" in meta:
            self.workspace_retention = json.loads(meta["workspace_retention"])
        self.default_project_id = meta.get("default_project_id", "")
        records = snapshot.records
        for data in records.get("project", []):
            project = ProjectRecord.model_validate_json(data)
            self._index_project(project)
        for data in records.get("task", []):
            self._index_task(TaskRecord.model_validate_json(data))
        for data in records.get("job", []):
            self._index_job(JobRecord.model_validate_json(data))
        for data in records.get("limit", []):
            limit = LimitRecord.model_validate_json(data)
            self.limits[limit.id] = limit
        for data in records.get("refresh", []):
            document = json.loads(data)
            self.refresh_tokens[document["token"]] = document["claims"]
        for job_id, timestamp, message in snapshot.logs:
            self.logs.setdefault(job_id, []).append(
                LogLine.of(datetime.fromisoformat(timestamp), message)
            )
        for job_id, data in snapshot.events:
            self.events.setdefault(job_id, []).append(json.loads(data))
        self._meta_dirty = True

    # ------------------------------------------------------------------ projects

    def _index_project(self, project: ProjectRecord) -> None:
        self.projects[project.project_id] = project
        self.project_order.append(project.project_id)
        self.task_order.setdefault(project.project_id, [])

    def registry_url(self, project_id: str) -> str:
        host = self.config.registry_address or self.config.registry_host
        return f"{host}/rescale/{project_id}/"

    def add_project(
        self,
        name: str,
        description: str,
        regions: list[str] | None = None,
        project_id: str | None = None,
    ) -> ProjectRecord:
        created = now()
        project = ProjectRecord(
            project_id=project_id or str(uuid.uuid4()),
            name=name,
            description=description,
            regions=list(regions or self.config.regions),
            created_at=created,
            created_by=self.config.user_id,
            seq=self._next_seq(),
            registry_token=self.config.registry_password
            if self.config.registry_address
            else new_secret("registry"),
        )
        for image, pending in self.config.images.items():
            full = normalize_image(project, "", image)
            project.images[full] = created + timedelta(seconds=max(0.0, pending))
            repo = full.rsplit(":", 1)[0]
            if repo not in project.repositories:
                project.repositories.append(repo)
        self._index_project(project)
        self._touch("project", project.project_id)
        return project

    def project(self, project_id: str) -> ProjectRecord:
        """The project, or 404."""
        project = self.projects.get(project_id)
        if project is None:
            raise not_found(f"Project {project_id} not found")
        return project

    def touch_project(self, project: ProjectRecord) -> None:
        self._touch("project", project.project_id)

    def check_regions(self, regions: Iterable[str], allowed: Iterable[str], what: str) -> None:
        allowed_set = set(allowed)
        unknown = [r for r in regions if r not in allowed_set]
        if unknown:
            available = ", ".join(sorted(allowed_set))
            raise bad_request(
                "INVALID_REGION", f"{what} {', '.join(unknown)} not enabled; available: {available}"
            )

    def add_image(self, project_id: str, name: str, pending_for: float = 0.0) -> str:
        """Make image ``name`` exist in the project, READY after ``pending_for`` seconds."""
        project = self.project(project_id)
        full = normalize_image(project, self.registry_url(project_id), name)
        project.images[full] = now() + timedelta(seconds=max(0.0, pending_for))
        repo = full.rsplit(":", 1)[0]
        if repo not in project.repositories:
            project.repositories.append(repo)
        self._touch("project", project_id)
        return full

    def saw_pushed_image(self, project: ProjectRecord, name: str) -> str:
        """Image ``name``, found in the real registry: READY ``registry_pending`` seconds
        after the emulator first saw it (as the service replicates a push).
        """
        full = normalize_image(project, self.registry_url(project.project_id), name)
        if full not in project.images:
            self.add_image(project.project_id, full, self.config.registry_pending)
        return full

    def image_status(self, project: ProjectRecord, name: str) -> str | None:
        """READY, PENDING, or None when the project has no such image."""
        ready_at = project.images.get(
            normalize_image(project, self.registry_url(project.project_id), name)
        )
        if ready_at is None:
            return None
        return "READY" if now() >= ready_at else "PENDING"

    # ------------------------------------------------------------------ tasks

    def _index_task(self, task: TaskRecord) -> None:
        self.tasks[task.task_id] = task
        self.task_order.setdefault(task.project_id, []).append(task.task_id)
        self.task_jobs.setdefault(task.task_id, [])
        self.task_groups.setdefault(task.task_id, {})

    def add_task(self, project: ProjectRecord, name: str, description: str) -> TaskRecord:
        created = now()
        task = TaskRecord(
            task_id=str(uuid.uuid4()),
            project_id=project.project_id,
            name=name,
            description=description,
            created_at=created,
            created_by=self.config.user_id,
            last_active_at=created,
            seq=self._next_seq(),
        )
        self._index_task(task)
        self._touch("task", task.task_id)
        return task

    def task(self, project_id: str, task_id: str, *, request_error: bool = False) -> TaskRecord:
        """The task of that project, or 404 (HTCRequestError body when ``request_error``)."""
        self.project(project_id)
        task = self.tasks.get(task_id)
        if task is None or task.project_id != project_id:
            message = f"Task {task_id} not found in project {project_id}"
            raise not_found_request(message) if request_error else not_found(message)
        return task

    def set_lifecycle(self, task: TaskRecord, status: str) -> None:
        if task.lifecycle == LifecycleStatus.DELETED:
            raise bad_request("INVALID_TASK_STATE", f"Task {task.task_id} is deleted")
        if status == LifecycleStatus.ARCHIVED and task.lifecycle != LifecycleStatus.ARCHIVED:
            if any(not job.is_terminal for job in self.task_job_records(task.task_id)):
                raise bad_request(
                    "INVALID_TASK_STATE",
                    f"Task {task.task_id} has unfinished jobs; cancel them before archiving",
                )
            task.archived_at = now()
        elif status == LifecycleStatus.ACTIVE:
            task.archived_at = None
            task.last_active_at = now()
        elif status not in (LifecycleStatus.ARCHIVED, LifecycleStatus.ACTIVE):
            raise bad_request(
                "INVALID_LIFECYCLE_STATUS",
                f"lifecycleStatus must be ACTIVE or ARCHIVED, got {status}; "
                "delete a task with DELETE",
            )
        task.lifecycle = status
        self._touch("task", task.task_id)

    def delete_task(self, task: TaskRecord) -> None:
        task.lifecycle = str(LifecycleStatus.DELETED)
        task.deleted_at = now()
        self._touch("task", task.task_id)

    # ------------------------------------------------------------------ jobs

    def _index_job(self, job: JobRecord) -> None:
        self.jobs[job.job_id] = job
        self.task_jobs.setdefault(job.task_id, []).append(job.job_id)
        self.task_groups.setdefault(job.task_id, {})[job.group] = None

    def submit(
        self, task: TaskRecord, requests: Sequence[JobSubmitRequest], group: str | None
    ) -> list[SubmittedBatch]:
        """Create the jobs of ``requests`` (validated models) in ``task``, all or none: 400
        when the task is not ACTIVE, an image is not READY or a region is not the project's.
        ``group`` None or empty: the configured default group.
        """
        project = self.project(task.project_id)
        if task.lifecycle != LifecycleStatus.ACTIVE:
            raise bad_request(
                "INVALID_TASK_STATE",
                f"Task {task.task_id} is {task.lifecycle}; jobs can only be submitted to "
                "ACTIVE tasks",
            )
        for request in requests:
            image = request.htc_job_definition.image_name
            if self.image_status(project, image) != "READY":
                message = (
                    f"Image {image} is unavailable. Please check the image name. If the image "
                    "was pushed recently, try again at a later time"
                )
                raise bad_request("IMAGE_UNAVAILABLE", message)
            if request.regions:
                self.check_regions([str(r) for r in request.regions], project.regions, "Region")
        group = group or self.config.default_group
        received = now()
        batches = []
        for request in requests:
            parent_id = str(uuid.uuid4())
            batch_size = request.batch_size or 1
            retry = request.retry_strategy
            jobs = self.add_jobs(
                task,
                parent_id=parent_id,
                batch_size=batch_size,
                group=group,
                definition=request.htc_job_definition,
                job_name=request.job_name,
                region=str(request.regions[0]) if request.regions else project.regions[0],
                max_retries=(retry.max_retries or 0) if retry is not None else 0,
                received=received,
            )
            batches.append(SubmittedBatch(request, parent_id, batch_size, group, received, jobs))
        return batches

    def add_jobs(
        self,
        task: TaskRecord,
        *,
        parent_id: str,
        batch_size: int,
        group: str,
        definition: JobDefinitionBase,
        job_name: str | None,
        region: str,
        max_retries: int,
        received: datetime,
    ) -> list[JobRecord]:
        created: list[JobRecord] = []
        for index in range(batch_size):
            job_id = f"{parent_id}:{index}"
            view = JobView(updated_at=received, events=1)
            job = JobRecord(
                job_id=job_id,
                parent_id=parent_id,
                index=index,
                project_id=task.project_id,
                task_id=task.task_id,
                workspace_id=self.config.workspace_id,
                group=group,
                created_by=self.config.user_id,
                created_at=received,
                seq=self._next_seq(),
                definition=definition,
                job_name=job_name,
                region=region,
                priority=str(definition.priority) if definition.priority else None,
                max_retries=max_retries,
                live=view,
                visible=view.model_copy(),
            )
            self._index_job(job)
            self._record_event(job, str(JobStatus.SUBMITTED_TO_RESCALE), "Job received", received)
            self._touch("job", job_id)
            created.append(job)
        task.last_active_at = received
        self._touch("task", task.task_id)
        return created

    def job(self, task: TaskRecord, job_id: str) -> JobRecord:
        job = self.jobs.get(job_id)
        if job is None or job.task_id != task.task_id:
            raise not_found_request(f"Job {job_id} not found in task {task.task_id}")
        return job

    def job_listing(self, task_id: str) -> tuple[Sequence[int], Sequence[str]]:
        """The task's job ids in listing order (``config.job_order``) and their sort keys:
        ascending, fixed per job, so page cursors stay valid as jobs are added.
        """
        jobs = self.jobs
        return self.job_ordering.listing(
            task_id, self.task_jobs.get(task_id, []), lambda job_id: jobs[job_id].seq
        )

    def task_job_records(self, task_id: str) -> Iterator[JobRecord]:
        for job_id in self.task_jobs.get(task_id, ()):
            yield self.jobs[job_id]

    def _record_event(
        self,
        job: JobRecord,
        status: str,
        reason: str | None,
        when: datetime,
        *,
        container: ContainerDetails | None = None,
        cancelled: bool = False,
    ) -> None:
        event = JobStatusEvent(
            event_id=str(uuid.uuid4()),
            job_id=job.job_id,
            status=JobStatus(status),
            status_reason=reason,
            date_time=when,
            instance_id=job.live.instance_id,
            user_cancelled_event=cancelled,
        )
        if container is not None:
            event.container = container
        document = event.to_api()
        events = self.events.setdefault(job.job_id, [])
        events.append(document)
        if self.persistent:
            self._pending_events.append((job.job_id, len(events), json.dumps(document)))

    def transition(
        self,
        job: JobRecord,
        status: str,
        reason: str | None,
        *,
        failure_code: str | None = None,
        exit_code: int | None = None,
        container_reason: str | None = None,
        cancelled: bool = False,
        at: datetime | None = None,
    ) -> None:
        """Move ``job`` (live) to ``status``, recording a status event; ``at`` backdates it
        to when the change really happened (a process spawned before the loop came back).
        """
        when = now() if at is None else at
        live = job.live
        live.status = status
        live.status_reason = reason
        live.updated_at = when
        if status == JobStatus.SUBMITTED_TO_PROVIDER and live.provider_job_id is None:
            live.provider_job_id = f"emu-{uuid.uuid4().hex[:16]}"
        if status == JobStatus.STARTING:
            live.instance_id = f"i-{uuid.uuid4().hex[:17]}"
        if status == JobStatus.RUNNING:
            live.started_at = when
        if status == JobStatus.RUNNABLE:
            live.failure_code = None
            live.exit_code = None
            live.container_reason = None
            live.completed_at = None
        container = None
        if status in TERMINAL:
            live.completed_at = when
            live.failure_code = failure_code
            live.exit_code = exit_code
            live.container_reason = container_reason
            if exit_code is not None or container_reason is not None:
                container = ContainerDetails()
                if exit_code is not None:
                    container.exit_code = exit_code
                if container_reason is not None:
                    container.reason = container_reason
        self._record_event(job, status, reason, when, container=container, cancelled=cancelled)
        live.events = len(self.events[job.job_id])
        self._unpublished.add(job.job_id)
        self._touch("job", job.job_id)
        self.changed.set()
        self.changed = anyio.Event()

    def append_log(self, job: JobRecord, message: str) -> None:
        lines = self.logs.setdefault(job.job_id, [])
        line = LogLine.of(now(), message)
        lines.append(line)
        if self.persistent:
            stamp = line.timestamp.isoformat()
            self._pending_logs.append((job.job_id, len(lines), stamp, message))

    def publish(self) -> int:
        """Make the API show every job's live progress; returns how many jobs changed."""
        changed = len(self._unpublished)
        for job_id in self._unpublished:
            job = self.jobs.get(job_id)
            if job is not None:
                job.visible = job.live.model_copy()
                self._touch("job", job_id)
        self._unpublished.clear()
        self.published.set()
        self.published = anyio.Event()
        return changed

    def recover_after_restart(self) -> list[JobRecord]:
        """Settle jobs a previous run left unfinished; returns the jobs to schedule again.

        A job that was running lost its process with the emulator (as a container loses its
        instance): it is retried if its retry strategy allows, else it FAILS with
        ErrorInstanceTermination. Jobs still waiting (SUBMITTED_TO_RESCALE, admitted but not
        started) keep their place and run.
        """
        pending: list[JobRecord] = []
        for job in sorted(self.jobs.values(), key=lambda j: j.seq):
            if job.is_terminal:
                continue
            if job.live.status in RUNNING_STATES:
                reason = "Host EC2 instance terminated (the emulator was restarted)"
                if job.attempts <= job.max_retries and not job.cancel_requested:
                    self.transition(job, str(JobStatus.RUNNABLE), f"Retrying: {reason}")
                else:
                    self.transition(
                        job,
                        str(JobStatus.FAILED),
                        reason,
                        failure_code="ErrorInstanceTermination",
                    )
                    continue
            pending.append(job)
        self.publish()
        return pending

    # ------------------------------------------------------------------ limits

    def project_limits(self, project_id: str) -> list[LimitRecord]:
        return [lim for lim in self.limits.values() if lim.project_id == project_id]

    def vcpu_limit(self, project_id: str) -> int | None:
        """The project's vCPU cap (the smallest of its limits), None when it has none."""
        limits = [lim.vcpus for lim in self.limits.values() if lim.project_id == project_id]
        return min(limits) if limits else None

    def add_limit(self, project_id: str, vcpus: int, modifier_role: str) -> LimitRecord:
        """A new limit, or the project's limit for ``modifier_role`` changed to ``vcpus``: a
        project has at most one limit per role.
        """
        for limit in self.project_limits(project_id):
            if limit.modifier_role == modifier_role:
                self.update_limit(limit, vcpus)
                return limit
        self._limit_seq += 1
        self._meta_dirty = True
        created = now()
        limit = LimitRecord(
            id=self._limit_seq,
            project_id=project_id,
            vcpus=vcpus,
            modifier_role=modifier_role,
            created_at=created,
            created_by=self.config.user_id,
            updated_at=created,
            updated_by=self.config.user_id,
        )
        self.limits[limit.id] = limit
        self._touch("limit", str(limit.id))
        return limit

    def limit(self, project_id: str, limit_id: str) -> LimitRecord:
        try:
            key = int(limit_id)
        except ValueError:
            raise not_found(f"Limit {limit_id} not found") from None
        limit = self.limits.get(key)
        if limit is None or limit.project_id != project_id:
            raise not_found(f"Limit {limit_id} not found in project {project_id}")
        return limit

    def update_limit(self, limit: LimitRecord, vcpus: int) -> None:
        limit.vcpus = vcpus
        limit.updated_at = now()
        limit.updated_by = self.config.user_id
        self._touch("limit", str(limit.id))

    def delete_limit(self, limit: LimitRecord) -> None:
        del self.limits[limit.id]
        self._forget("limit", str(limit.id))

    def set_workspace_retention(self, archive_after: int, delete_after: int) -> None:
        self.workspace_retention = {
            "workspaceId": self.config.workspace_id,
            "archiveAfter": archive_after,
            "deleteAfter": delete_after,
            "createdAt": _iso(now()),
        }
        self._meta_dirty = True


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def require_workspace(state: State, workspace_id: str) -> None:
    if workspace_id != state.config.workspace_id:
        raise ApiError(
            404,
            {"error": "not_found", "errorDescription": f"Workspace {workspace_id} not found"},
        )
