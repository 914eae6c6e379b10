"""Running jobs for real: admission under vCPU limits, a bounded worker pool, host processes.

A job's ``commands`` run as a host process (no shell, no container: the image is a label) in
the job's own working directory, with the job's ``envs`` and the variables an HTC job gets.
Its stdout and stderr lines become log lines. With ``run_mode="simulated"`` no process runs:
an attempt lasts a drawn duration and ends with a drawn outcome (one log line says so).
Lifecycle:

SUBMITTED_TO_RESCALE (held while the project's or workspace's vCPU limit is full)
-> SUBMITTED_TO_PROVIDER -> RUNNABLE (waiting for one of ``max_workers`` workers)
-> STARTING -> RUNNING -> SUCCEEDED | FAILED.
"""

from __future__ import annotations

import logging
import math
import os
import random
import signal
import subprocess
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ...htc.types import JobStatus
from .._config import EmulatorConfig
from .._processes import POSIX, signal_group, terminate
from .._tokens import TokenIssuer
from ._records import QUEUED, RUNNING_STATES, JobRecord, now
from ._state import State

__all__ = ["Runner"]

logger = logging.getLogger("rescale_async.emulator")

MAX_LINE_BYTES = 256 * 1024
"""Longer output lines are split into several log lines."""
DRAIN_SECONDS = 1.0
"""How long output is still read after a job's processes are gone."""

CANCEL_REASON = "Job cancelled by user request"


@dataclass
class _Attempt:
    """A job between STARTING and its end, so that a cancel can reach it."""

    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    cancelled: bool = False


@dataclass(frozen=True)
class _Outcome:
    status: str
    reason: str
    failure_code: str | None = None
    exit_code: int | None = None
    container_reason: str | None = None
    cancelled: bool = False

    @property
    def retryable(self) -> bool:
        return self.status == JobStatus.FAILED and not self.cancelled


def _exit_code(returncode: int | None) -> int | None:
    """A container-style exit code: 128 + signal number for a process killed by a signal."""
    if returncode is None:
        return None
    return 128 - returncode if returncode < 0 else returncode


class Runner:
    """Admits, schedules and runs the emulator's jobs inside the emulator's task group."""

    def __init__(
        self, state: State, config: EmulatorConfig, issuer: TokenIssuer, jobs_root: Path
    ) -> None:
        self._state = state
        self._config = config
        self._issuer = issuer
        self.jobs_root = jobs_root
        self.api_url: str | None = None
        """The served base URL, given to jobs as RESCALE_HTC_API_URL (None in process)."""
        self.token_lifetime = config.token_lifetime
        self._queues: dict[str, deque[str]] = {}
        self._usage: dict[str, int] = {}
        self._admitted: set[str] = set()
        self._workspace_usage = 0
        self._attempts: dict[str, _Attempt] = {}
        self._wake = anyio.Event()
        self._simulation = random.Random(  # noqa: S311 - not for secrets
            None if config.seed is None else f"simulated-{config.seed}"
        )
        """Draws simulated durations and outcomes (``run_mode="simulated"``)."""
        self._send: MemoryObjectSendStream[str]  # the queue of admitted jobs, made by run()
        self._receive: MemoryObjectReceiveStream[str]
        self.processes = 0
        """Job processes alive now."""
        self.max_processes = 0
        """The most job processes ever alive at once."""
        self.started = 0
        """Job processes started so far."""

    # ------------------------------------------------------------------ scheduling

    def enqueue(self, jobs: list[JobRecord]) -> None:
        """Jobs to schedule: new (SUBMITTED_TO_RESCALE) or admitted earlier (after a restart)."""
        for job in jobs:
            if job.live.status == JobStatus.SUBMITTED_TO_RESCALE:
                self._queues.setdefault(job.project_id, deque()).append(job.job_id)
            elif job.live.status in QUEUED:
                self._hold(job)
                self._send.send_nowait(job.job_id)
        self.wake()

    def wake(self) -> None:
        """Look at the queues again (after a submission, a job's end, a limit change)."""
        self._wake.set()

    def _hold(self, job: JobRecord) -> None:
        if job.job_id not in self._admitted:
            self._admitted.add(job.job_id)
            self._usage[job.project_id] = self._usage.get(job.project_id, 0) + job.vcpus
            self._workspace_usage += job.vcpus

    def _release(self, job: JobRecord) -> None:
        if job.job_id in self._admitted:
            self._admitted.discard(job.job_id)
            self._usage[job.project_id] -= job.vcpus
            self._workspace_usage -= job.vcpus
            self.wake()

    def usage(self, project_id: str) -> int:
        """vCPUs held by the project's admitted, unfinished jobs."""
        return self._usage.get(project_id, 0)

    def _admit(self) -> None:
        state = self._state
        for project_id, queue in self._queues.items():
            limit = state.vcpu_limit(project_id)
            while queue:
                job = state.jobs.get(queue[0])
                if job is None or job.live.status != JobStatus.SUBMITTED_TO_RESCALE:
                    queue.popleft()
                    continue
                need = job.vcpus
                if limit is not None and self._usage.get(project_id, 0) + need > limit:
                    break
                if self._workspace_usage + need > self._config.workspace_vcpu_limit:
                    break
                queue.popleft()
                self._hold(job)
                state.transition(job, str(JobStatus.SUBMITTED_TO_PROVIDER), "Job scheduled")
                state.transition(job, str(JobStatus.RUNNABLE), "Waiting for compute resources")
                self._send.send_nowait(job.job_id)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Schedule and run jobs until cancelled (then every job process is killed)."""
        self._send, self._receive = anyio.create_memory_object_stream[str](math.inf)
        with self._send, self._receive:
            async with anyio.create_task_group() as workers:
                for _ in range(self._config.max_workers):
                    workers.start_soon(self._worker)
                task_status.started()
                while True:
                    self._admit()
                    await self._wake.wait()
                    self._wake = anyio.Event()

    async def _worker(self) -> None:
        async for job_id in self._receive:
            job = self._state.jobs.get(job_id)
            if job is None or job.live.status != JobStatus.RUNNABLE:
                continue  # cancelled while it waited
            await self._run(job)

    # ------------------------------------------------------------------ cancelling

    def cancel(self, jobs: list[JobRecord]) -> int:
        """Cancel ``jobs``: waiting ones fail at once, running ones are stopped (SIGTERM, then
        SIGKILL after ``kill_grace``) and fail when their processes are gone.

        A cancelled job ends FAILED with statusReason "Job cancelled by user request", no
        failureCode (none of the service's codes means cancellation, and clients must not
        retry it), and a status event with ``userCancelledEvent: true``.
        """
        state = self._state
        count = 0
        for job in jobs:
            if job.is_terminal or job.cancel_requested:
                continue
            count += 1
            job.cancel_requested = True
            status = job.live.status
            if status in RUNNING_STATES and job.job_id in self._attempts:
                attempt = self._attempts[job.job_id]
                attempt.cancelled = True
                attempt.scope.cancel()
                continue
            state.transition(job, str(JobStatus.FAILED), CANCEL_REASON, cancelled=True)
            self._release(job)
        self.wake()
        return count

    # ------------------------------------------------------------------ running one job

    async def _run(self, job: JobRecord) -> None:
        state = self._state
        attempt = _Attempt()
        self._attempts[job.job_id] = attempt
        job.attempts += 1
        try:
            state.transition(job, str(JobStatus.STARTING), "Starting container")
            if self._config.run_mode == "simulated":
                outcome = await self._simulate(job, attempt)
            else:
                outcome = await self._execute(job, attempt)
        finally:
            self._attempts.pop(job.job_id, None)
        if outcome.retryable and job.attempts <= job.max_retries and not job.cancel_requested:
            state.transition(
                job,
                str(JobStatus.RUNNABLE),
                f"Attempt {job.attempts} failed ({outcome.reason}); retrying",
            )
            self._send.send_nowait(job.job_id)
            return
        state.transition(
            job,
            outcome.status,
            outcome.reason,
            failure_code=outcome.failure_code,
            exit_code=outcome.exit_code,
            container_reason=outcome.container_reason,
            cancelled=outcome.cancelled,
        )
        self._release(job)

    async def _prepare(self, job: JobRecord) -> tuple[Path, dict[str, str]]:
        """The job's working directory (created) and environment."""
        root = self.jobs_root
        project_shared = root / "projects" / job.project_id / "shared"
        task_shared = root / "projects" / job.project_id / "tasks" / job.task_id / "shared"
        job_dir = root / "jobs" / job.job_id.replace(":", "_")
        workdir = _working_dir(job_dir, job.definition.working_dir)
        for directory in (project_shared, task_shared, workdir):
            await anyio.Path(directory).mkdir(parents=True, exist_ok=True)

        state = self._state
        claims: dict[str, Any] = {
            **state.user_claims(),
            "projectId": job.project_id,
            "taskId": job.task_id,
            "jobId": job.job_id,
            "region": job.region,
        }
        for claim in job.definition.claims or ():
            claims[f"userDefined_{claim.name}"] = claim.value
        if job.refresh_token is None:
            job.refresh_token = state.add_refresh_token(claims)
        env = {name: os.environ[name] for name in self._config.inherit_env if name in os.environ}
        env["HOME"] = str(job_dir)
        env.update({e.name: e.value or "" for e in job.definition.envs or () if e.name})
        env.update(
            {
                "RESCALE_HTC_PROJECT_ID": job.project_id,
                "RESCALE_HTC_TASK_ID": job.task_id,
                "RESCALE_JOB_ID": job.job_id,
                "RESCALE_HTC_REGION": job.region,
                "RESCALE_HTC_BEARER_TOKEN": self._issuer.issue(claims, self.token_lifetime),
                "RESCALE_HTC_REFRESH_TOKEN": job.refresh_token,
                "PROJECT_SHARED_FOLDER": str(project_shared),
                "TASK_SHARED_FOLDER": str(task_shared),
                "AWS_BATCH_JOB_ARRAY_INDEX": str(job.index),
                "AWS_BATCH_JOB_ATTEMPT": str(job.attempts),
            }
        )
        if self.api_url is not None:
            env["RESCALE_HTC_API_URL"] = self.api_url
        return workdir, env

    async def _execute(self, job: JobRecord, attempt: _Attempt) -> _Outcome:
        """Run one attempt of ``job``; the emulator's own cancellation kills it and propagates."""
        state = self._state
        process: anyio.abc.Process | None = None
        timed_out = False
        start_error: OSError | None = None
        try:
            async with anyio.create_task_group() as pumps:
                with attempt.scope:
                    if self._config.startup_delay > 0:
                        await anyio.sleep(self._config.startup_delay)
                    workdir, env = await self._prepare(job)
                    argv = list(job.definition.commands or [])
                    if not argv:
                        state.transition(job, str(JobStatus.RUNNING), "Container running")
                        return _Outcome(
                            str(JobStatus.SUCCEEDED),
                            "Completed",
                            exit_code=0,
                            container_reason="Container Exited",
                        )
                    spawned = now()
                    try:
                        process = await anyio.open_process(
                            argv,
                            cwd=workdir,
                            env=env,
                            stdin=subprocess.DEVNULL,
                            start_new_session=POSIX,
                        )
                    except OSError as exc:
                        start_error = exc
                    if process is not None:
                        self.processes += 1
                        self.started += 1
                        self.max_processes = max(self.max_processes, self.processes)
                        assert process.stdout is not None
                        assert process.stderr is not None
                        pumps.start_soon(self._pump, process.stdout, job)
                        pumps.start_soon(self._pump, process.stderr, job)
                        state.transition(
                            job, str(JobStatus.RUNNING), "Container running", at=spawned
                        )
                        timeout = job.definition.exec_timeout_seconds
                        limit = (
                            math.inf
                            if timeout is None
                            else timeout * self._config.exec_timeout_scale
                        )
                        with anyio.move_on_after(limit) as timer:
                            await process.wait()
                        timed_out = timer.cancelled_caught
                if process is not None:
                    if process.returncode is None:
                        await terminate(process, self._config.kill_grace)
                    signal_group(process, signal.SIGKILL)  # the container goes away
                    pumps.cancel_scope.deadline = anyio.current_time() + DRAIN_SECONDS
        finally:
            if process is not None:
                with anyio.CancelScope(shield=True):
                    if process.returncode is None:
                        signal_group(process, signal.SIGKILL)
                        with anyio.move_on_after(5):
                            await process.wait()
                    await process.aclose()
                    self.processes -= 1
        return self._outcome(process, attempt, timed_out, start_error)

    def _outcome(
        self,
        process: anyio.abc.Process | None,
        attempt: _Attempt,
        timed_out: bool,
        start_error: OSError | None,
    ) -> _Outcome:
        code = _exit_code(process.returncode) if process is not None else None
        if attempt.cancelled:
            return _Outcome(
                str(JobStatus.FAILED),
                CANCEL_REASON,
                exit_code=code,
                container_reason="Container stopped: job cancelled" if process else None,
                cancelled=True,
            )
        if start_error is not None or process is None:
            detail = f"{type(start_error).__name__}: {start_error}" if start_error else "no process"
            return _Outcome(
                str(JobStatus.FAILED),
                f"CannotStartContainerError: {detail}",
                failure_code="ErrorStartingContainer",
            )
        if timed_out:
            return _Outcome(
                str(JobStatus.FAILED),
                "Job attempt duration exceeded timeout",
                failure_code="ErrorTimeout",
                exit_code=code,
                container_reason="Job attempt duration exceeded timeout",
            )
        if code == 0:
            return _Outcome(
                str(JobStatus.SUCCEEDED),
                "Completed",
                exit_code=0,
                container_reason="Container Exited",
            )
        return _Outcome(
            str(JobStatus.FAILED),
            "Essential container in task exited",
            failure_code="ErrorNonZeroContainerExitCode",
            exit_code=code,
            container_reason="Container Exited",
        )

    async def _simulate(self, job: JobRecord, attempt: _Attempt) -> _Outcome:
        """One attempt without a process: RUNNING for a drawn duration, then a drawn outcome
        (a timeout when the duration exceeds the job's scaled ``execTimeoutSeconds``).
        """
        config = self._config
        low, high = config.simulated_duration
        duration = self._simulation.uniform(low, high)
        fails = self._simulation.random() < config.simulated_failure_rate
        timeout = job.definition.exec_timeout_seconds
        limit = math.inf if timeout is None else timeout * config.exec_timeout_scale
        with attempt.scope:
            if config.startup_delay > 0:
                await anyio.sleep(config.startup_delay)
            self._state.transition(job, str(JobStatus.RUNNING), "Container running")
            await anyio.sleep(min(duration, limit))
        if attempt.cancelled:
            return self._outcome(None, attempt, timed_out=False, start_error=None)
        timed_out = duration > limit
        code = 1 if fails else 0
        self._state.append_log(
            job,
            f"simulated attempt {job.attempts}: "
            + ("timed out" if timed_out else f"{duration:.3f} s, exit code {code}"),
        )
        return _simulated_outcome(timed_out=timed_out, fails=fails)

    async def _pump(self, stream: anyio.abc.ByteReceiveStream, job: JobRecord) -> None:
        """Turn a job's output into log lines."""
        state = self._state
        pending = b""
        try:
            async for chunk in stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    state.append_log(job, _decode(line))
                while len(pending) > MAX_LINE_BYTES:
                    state.append_log(job, _decode(pending[:MAX_LINE_BYTES]))
                    pending = pending[MAX_LINE_BYTES:]
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            if pending:
                state.append_log(job, _decode(pending))


def _simulated_outcome(*, timed_out: bool, fails: bool) -> _Outcome:
    """How a simulated attempt that was not cancelled ends."""
    if timed_out:
        return _Outcome(
            str(JobStatus.FAILED),
            "Job attempt duration exceeded timeout",
            failure_code="ErrorTimeout",
            container_reason="Job attempt duration exceeded timeout",
        )
    if fails:
        return _Outcome(
            str(JobStatus.FAILED),
            "Essential container in task exited",
            failure_code="ErrorNonZeroContainerExitCode",
            exit_code=1,
            container_reason="Container Exited",
        )
    return _Outcome(
        str(JobStatus.SUCCEEDED), "Completed", exit_code=0, container_reason="Container Exited"
    )


def _working_dir(job_dir: Path, requested: str | None) -> Path:
    """``workingDir`` inside the job's directory (as a container's is inside its image);
    the job's directory itself when none is given or it would lead outside.
    """
    if not requested:
        return job_dir
    candidate = Path(os.path.normpath(job_dir / requested.lstrip("/\\")))
    return candidate if candidate.is_relative_to(job_dir) else job_dir


def _decode(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", errors="replace")
