"""rescalehtc (PyPI), used through its documented functions. It is synchronous (requests).

Its base URL is a module constant (its own tests patch it the same way); the session takes the
API key directly. Projects and tasks are built from JSON the harness fetched beforehand, so
no scenario pays for looking them up.
"""

from __future__ import annotations

from typing import Any

import rescalehtc  # type: ignore[import-untyped]  # the library ships no type information
from rescalehtc import htcjobs
from rescalehtc.htcprojects import HtcProject  # type: ignore[import-untyped]
from rescalehtc.htctasks import HtcTask  # type: ignore[import-untyped]
from rescalehtc.internals import constants  # type: ignore[import-untyped]

__all__ = ["list_jobs", "save_logs", "statuses", "submit"]


def _session(params: dict[str, Any]) -> rescalehtc.HtcSession:
    constants._RESCALE_API_BASE_URL = params["base_url"]
    return rescalehtc.HtcSession(api_key=params["api_key"])


def _task(params: dict[str, Any]) -> HtcTask:
    return HtcTask(params["task"], HtcProject(params["project"]))


def list_jobs(params: dict[str, Any]) -> dict[str, Any]:
    """``htcjobs.get_jobs``: every job of the task (the library's own page size)."""
    session = _session(params)
    jobs = htcjobs.get_jobs(session, _task(params))
    return {"items": len(jobs), "distinct": len({j.json["jobUUID"] for j in jobs})}


def statuses(params: dict[str, Any]) -> dict[str, Any]:
    """``htcjobs.get_job_with_id`` for each named job (the library has no multi-job get)."""
    session = _session(params)
    task = _task(params)
    found: dict[str, str] = {}
    for job_id in params["job_ids"]:
        job = htcjobs.get_job_with_id(session, task, job_id)
        found[job.json["jobUUID"]] = job.json["status"]
    return {"items": len(found), "ids_match": set(found) == set(params["job_ids"])}


def save_logs(params: dict[str, Any]) -> dict[str, Any]:
    """``HtcJob.get_logs_to_file``, the library's "memory efficient" way to save a log."""
    session = _session(params)
    job = htcjobs.HtcJob(
        {
            "projectId": params["project_id"],
            "taskId": params["task_id"],
            "jobUUID": params["job_id"],
        },
        _task(params),
    )
    job.get_logs_to_file(session, params["path"])
    return {}


def submit(params: dict[str, Any]) -> dict[str, Any]:
    """``htcjobs.create_job_batch`` once per batch (it checks the image READY each time)."""
    session = _session(params)
    task = _task(params)
    ids: list[str] = []
    for _ in range(params["batches"]):
        batch = htcjobs.create_job_batch(
            session,
            task,
            batch_size=params["count"],
            priority="ON_DEMAND_PRIORITY",
            image_name=params["image"],
            exec_timeout_seconds=3600,
            commands=params["commands"],
        )
        ids.extend(job.json["jobUUID"] for job in batch.to_jobs())
    return {"jobs": len(ids), "distinct": len(set(ids))}
