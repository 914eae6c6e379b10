"""``client.jobs``: the jobs resource's calls, and jobs done right: ``wait`` (a Completed
failure read as a failure), ``run`` and ``run_many`` (the tutorial's story, exactly once across
a crash), ``delete`` once the cluster has stopped, the job's ``process_output.log``. Each
method is thin; the work is in the module of its service.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..._core.exceptions import NoMatchError
from ..._core.options import Sleep
from ..._core.pagination import AsyncPaginator
from ..resources._ids import job_id
from ..resources.files import Files as FilesResource
from ..resources.jobs import Jobs as JobsResource
from ..types import (
    ClusterStatusEntry,
    File,
    FileTail,
    Job,
    JobCreate,
    JobInstance,
    JobLike,
    JobOutcome,
    JobState,
    JobStatus,
    JobStatusEntry,
    JobSummary,
    JobUpdate,
    Run,
    RunLike,
)
from ._download import DEFAULT_CONNECTIONS, DownloadedFile
from ._hooks import ByteProgressHook, StatusHook
from ._ledger import RunLedgerLike
from ._outputs import download_outputs
from ._run import InputPath, JobRun, RunHook, Runner, RunOptions
from ._wait import wait_for_cluster_stop, wait_for_status

__all__ = ["PROCESS_OUTPUT", "Jobs"]

PROCESS_OUTPUT = "process_output.log"
"""The output every job has: everything its command wrote to stdout and stderr."""


class Jobs:
    """Jobs: the API's calls (``create``, ``get``, ``list``, ``update``, ``submit``, ``stop``,
    ``statuses``, ``cluster_statuses``, ``instances``, ``files``, ``runs``, ``run_files``,
    ``tail``), plus ``outcome``, ``wait``, ``wait_for_cluster``, ``delete`` (optionally once
    the cluster has stopped), ``run``/``run_many``, ``process_output`` and ``download_outputs``.
    """

    __slots__ = ("_files", "_resource", "_runner", "_sleep")

    def __init__(
        self,
        resource: JobsResource,
        *,
        files: FilesResource,
        sleep: Sleep,
        settle_delay: float = 2.0,
    ) -> None:
        if not settle_delay >= 0:
            raise ValueError(f"settle_delay must be >= 0 seconds, got {settle_delay!r}")
        self._resource = resource
        self._files = files
        self._sleep = sleep
        self._runner = Runner(resource, files, sleep=sleep, settle_delay=settle_delay)

    # ------------------------------------------------------------------ the API's calls

    async def create(
        self, definition: JobCreate | Mapping[str, Any], *, check_coretypes: bool = True
    ) -> Job:
        """Save a job (not submitted), validated strictly first (and its hardware against the
        coretypes with ``check_coretypes``); never resent after a 5xx or a timeout (``run``
        settles those exactly once). ``POST jobs/``
        """
        return await self._resource.create(definition, check_coretypes=check_coretypes)

    async def get(self, job: JobLike) -> Job:
        """One job's definition (its status: ``outcome`` or ``statuses``). ``GET jobs/{id}/``"""
        return await self._resource.get(job)

    def list(
        self,
        *,
        state: JobState | None = None,
        job_status: JobStatus | str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[JobSummary]:
        """The caller's jobs, newest first (``state``, ``job_status`` filter). ``GET jobs/``"""
        return self._resource.list(
            state=state, job_status=job_status, page_size=page_size, limit=limit
        )

    async def update(self, job: JobLike, changes: JobUpdate | Mapping[str, Any]) -> Job:
        """Change a saved job's definition (a Completed job answers 200 and changes nothing).
        ``PATCH jobs/{id}/``
        """
        return await self._resource.update(job, changes)

    async def submit(self, job: JobLike) -> None:
        """Submit a saved job (the job-submission scope); never resent after a 5xx or a timeout.
        ``POST jobs/{id}/submit/``
        """
        await self._resource.submit(job)

    async def stop(self, job: JobLike) -> None:
        """Stop a job gracefully (SIGTERM, files synced). ``POST jobs/{id}/stop/``"""
        await self._resource.stop(job)

    async def statuses(self, job: JobLike) -> builtins.list[JobStatusEntry]:
        """The job's status history, oldest first by date. ``GET jobs/{id}/statuses/``"""
        return await self._resource.statuses(job)

    async def cluster_statuses(self, job: JobLike) -> builtins.list[ClusterStatusEntry]:
        """The cluster's history, oldest first; empty before the cluster exists.
        ``GET jobs/{id}/cluster_statuses/``
        """
        return await self._resource.cluster_statuses(job)

    def instances(
        self, job: JobLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[JobInstance]:
        """The nodes of the job's running cluster. ``GET jobs/{id}/instances/``"""
        return self._resource.instances(job, page_size=page_size, limit=limit)

    def files(
        self,
        job: JobLike,
        *,
        search: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[File]:
        """The job's output files (``search`` filters by name). ``GET jobs/{id}/files/``"""
        return self._resource.files(job, search=search, page_size=page_size, limit=limit)

    def runs(
        self, job: JobLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[Run]:
        """The job's runs. ``GET jobs/{id}/runs/``"""
        return self._resource.runs(job, page_size=page_size, limit=limit)

    def run_files(
        self, job: JobLike, run: RunLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[File]:
        """The output files of one run. ``GET jobs/{id}/runs/{r}/files/``"""
        return self._resource.run_files(job, run, page_size=page_size, limit=limit)

    async def tail(
        self, job: JobLike, run: RunLike, path: str, *, lines: int | None = None
    ) -> FileTail:
        """The last lines of a file of a running job's working directory.
        ``GET jobs/{id}/runs/{r}/tail/{path}/``
        """
        return await self._resource.tail(job, run, path, lines=lines)

    # ------------------------------------------------------------------ waiting

    async def outcome(self, job: JobLike) -> JobOutcome:
        """Where the job stands now: its latest status and reason, ``succeeded``, the history.
        ``GET jobs/{id}/statuses/``
        """
        return JobOutcome.from_history(await self._resource.statuses(job))

    async def wait(
        self,
        job: JobLike,
        *,
        until: JobStatus | str = JobStatus.COMPLETED,
        timeout: float | None = None,
        interval: float = 30.0,
        progress: StatusHook | None = None,
    ) -> JobOutcome:
        """Wait until the job's history holds ``until`` (any status: ``"Executing"`` to reach a
        running cluster) or it has completed; its outcome. A ``Completed`` job whose reason is
        a failure has ``succeeded`` False. Polls every ``interval`` seconds, riding out
        transient errors (the sporadic 504 of ``statuses/``); ``progress(outcome)`` each time
        the history grows. WaitTimeoutError (a TimeoutError) naming the job and its last
        status after ``timeout`` seconds. ``GET jobs/{id}/statuses/``
        """
        return await wait_for_status(
            self._resource,
            job,
            until=until,
            timeout=timeout,
            interval=interval,
            progress=progress,
        )

    async def wait_for_cluster(
        self, job: JobLike, *, timeout: float | None = None, interval: float = 10.0
    ) -> builtins.list[ClusterStatusEntry]:
        """Wait until the job's cluster is ``Stopped`` (at once when it has none); its
        history. WaitTimeoutError after ``timeout`` seconds. ``GET jobs/{id}/cluster_statuses/``
        """
        return await wait_for_cluster_stop(self._resource, job, timeout=timeout, interval=interval)

    async def delete(
        self,
        job: JobLike,
        *,
        wait_for_cluster: bool = False,
        delete_input_files: bool = False,
        timeout: float | None = None,
        interval: float = 10.0,
    ) -> None:
        """Delete a job (and its input files with ``delete_input_files``). The service refuses
        (400) while the job's cluster runs, as it still does for a while after the job
        completed: with ``wait_for_cluster=True`` the cluster statuses are polled until
        ``Stopped`` first, for up to ``timeout`` seconds (a job without a cluster is deleted
        at once); stop a running job first.
        ``GET jobs/{id}/cluster_statuses/``, ``DELETE jobs/{id}/``
        """
        if wait_for_cluster:
            await self.wait_for_cluster(job, timeout=timeout, interval=interval)
        await self._resource.delete(job, delete_input_files=delete_input_files)

    # ------------------------------------------------------------------ running

    async def run(
        self,
        definition: JobCreate | Mapping[str, Any],
        inputs: Sequence[InputPath] = (),
        outputs: str | os.PathLike[str] | None = None,
        *,
        ledger: RunLedgerLike | None = None,
        key: str | None = None,
        decompress: bool | None = None,
        search: str | None = None,
        timeout: float | None = None,
        interval: float = 30.0,
        connections: int = DEFAULT_CONNECTIONS,
        chunk_size: int | None = None,
        check_coretypes: bool = True,
        progress: StatusHook | None = None,
        download_progress: ByteProgressHook | None = None,
    ) -> JobRun:
        """Upload ``inputs`` (concurrently; added to the first analysis' input files, zips
        extracted unless ``decompress=False``), create the job, submit it, wait until it
        completes (as ``wait``), then download every output (``search``: those matching)
        verified into ``outputs`` (None: none); the job, its outcome, the inputs' ids and the
        files. A failed job is returned too (``succeeded`` False), its outputs downloaded: read
        ``process_output.log`` to see why.

        With ``ledger`` (a path or a RunLedger) every step is recorded before it is sent, so a
        re-run of the program after a crash goes on where it stopped: nothing is uploaded,
        created or submitted twice, and outputs already downloaded stay. ``key`` names the run
        there explicitly. The job's description gets a unique marker line, by which a job
        whose create answer was lost is found again instead of created twice.
        """
        options = RunOptions(
            decompress=decompress,
            search=search,
            timeout=timeout,
            interval=interval,
            connections=connections,
            chunk_size=chunk_size,
            check_coretypes=check_coretypes,
            download_progress=download_progress,
        )
        return await self._runner.run(
            definition,
            inputs,
            outputs,
            options=options,
            ledger=ledger,
            key=key,
            progress=progress,
        )

    async def run_many(
        self,
        definitions: Iterable[JobCreate | Mapping[str, Any]],
        inputs: Sequence[InputPath] = (),
        outputs: str | os.PathLike[str] | None = None,
        *,
        ledger: RunLedgerLike | None = None,
        max_starting: int = 8,
        decompress: bool | None = None,
        search: str | None = None,
        timeout: float | None = None,
        interval: float = 30.0,
        connections: int = DEFAULT_CONNECTIONS,
        check_coretypes: bool = True,
        progress: RunHook | None = None,
    ) -> builtins.list[JobRun]:
        """``run`` every definition at once, each with the same ``inputs`` (uploaded once) and
        its outputs in ``outputs/<job id>/``; the runs in order. At most ``max_starting`` are
        uploading, creating or submitting at a time (the client's job-submission scope paces
        the submissions), the waits go side by side, a few jobs download at a time.
        ``progress(job_id, outcome)`` as each history grows. Every run goes to its end, then
        the first error is raised; with ``ledger``, a re-run resumes every run where it was.
        """
        options = RunOptions(
            decompress=decompress,
            search=search,
            timeout=timeout,
            interval=interval,
            connections=connections,
            check_coretypes=check_coretypes,
        )
        return await self._runner.run_many(
            definitions,
            inputs,
            outputs,
            options=options,
            ledger=ledger,
            progress=progress,
            max_starting=max_starting,
        )

    # ------------------------------------------------------------------ outputs

    async def process_output(self, job: JobLike) -> builtins.list[str]:
        """The lines of the job's ``process_output.log`` (what its command printed), each with
        its line break; NoMatchError while the job has none yet.
        ``GET jobs/{id}/files/?search=``, ``GET files/{id}/lines/``
        """
        found = await self._resource.files(job, search=PROCESS_OUTPUT).to_list()
        logs = [f for f in found if f.name == PROCESS_OUTPUT] or found
        if not logs:
            raise NoMatchError(
                f"job {job_id(job)} has no {PROCESS_OUTPUT} yet (it appears once the job has "
                "run); wait for it first"
            )
        return await self._files.lines(logs[0])

    async def download_outputs(
        self,
        job: JobLike,
        directory: str | os.PathLike[str],
        *,
        search: str | None = None,
        connections: int = DEFAULT_CONNECTIONS,
        chunk_size: int | None = None,
        progress: ByteProgressHook | None = None,
    ) -> builtins.list[DownloadedFile]:
        """Every output of ``job`` into ``directory``, verified: ``files.download_outputs``.
        ``GET jobs/{id}/files/`` and ``GET files/{id}/contents/``
        """
        return await download_outputs(
            self._resource,
            self._files,
            job,
            Path(directory),
            search=search,
            connections=connections,
            chunk_size=chunk_size,
            progress=progress,
            sleep=self._sleep,
        )
