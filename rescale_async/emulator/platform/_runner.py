"""Running submitted platform jobs for real, through the statuses the service shows.

A submitted job is Pending, then Queued (its cluster exists: Not Started, Starting,
Started), Started, Validated and Executing, each ``status_delay`` after the one before.
Executing stages the input files into ``<jobs>/<id>/work`` (zip files extracted unless
``decompress`` is false), then runs each analysis's ``command`` in order as ``bash -c``
(argv, no shell of ours; its own process group), stdout and stderr appended to
``<jobs>/<id>/process_output.log``, until one fails, the walltime runs out or a stop is
requested (SIGTERM to the process group, SIGKILL after ``kill_grace``). Then every file the
job left new or changed in ``work`` becomes an output (typeId 5, with its SHA-512), with
``process_output.log``; the job is Completed, with "Completed successfully" or the failure as
reason; the cluster goes Stop Requested, Stopping, Stopped.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.abc

from .._config import EmulatorConfig
from .._processes import POSIX, signal_group, terminate
from .._tokens import new_secret
from ._catalogue import CORETYPES
from ._files import hash_file
from ._records import (
    COMPLETED,
    OUTPUT_FILE,
    SUCCESS_REASON,
    FileRecord,
    PlatformJob,
    RunRecord,
    now,
)
from ._ssh import ClusterHosts
from ._state import PlatformState

__all__ = ["LOG_NAME", "STOP_REASON", "PlatformRunner"]

logger = logging.getLogger("rescale_async.emulator")

LOG_NAME = "process_output.log"
STOP_REASON = "Job stopped by user request"
_CORETYPES = {core.code: core for core in CORETYPES}

Snapshot = dict[str, tuple[int, int]]
"""A working directory's files before the job ran: relative path -> (size, mtime_ns)."""


def _files_of(work: Path) -> dict[str, Path]:
    """Every regular file under ``work`` (symbolic links not followed) by relative path."""
    found: dict[str, Path] = {}
    for directory, _, names in os.walk(work):
        for name in names:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(work).as_posix()] = path
    return found


def _snapshot(work: Path) -> Snapshot:
    result: Snapshot = {}
    for relative, path in _files_of(work).items():
        stat = path.stat()
        result[relative] = (stat.st_size, stat.st_mtime_ns)
    return result


def _stage(work: Path, inputs: list[tuple[FileRecord, bool]]) -> Snapshot:
    """Put the input files into ``work`` (zip files extracted unless ``decompress`` is false);
    what is there afterwards (blocking: in a thread).
    """
    work.mkdir(parents=True, exist_ok=True)
    for record, decompress in inputs:
        if decompress and record.name.lower().endswith(".zip") and zipfile.is_zipfile(record.path):
            with zipfile.ZipFile(record.path) as archive:
                archive.extractall(work)  # member paths are sanitized by zipfile
        else:
            shutil.copyfile(record.path, work / record.name)
    return _snapshot(work)


def _outputs(work: Path, log: Path, before: Snapshot) -> list[tuple[str, Path, int, str]]:
    """The job's outputs: its log, then each file new or changed since ``before``, with size
    and SHA-512 (blocking: in a thread).
    """
    log.touch(exist_ok=True)
    found = [(LOG_NAME, log, *hash_file(log))]
    for relative, path in sorted(_files_of(work).items()):
        stat = path.stat()
        if before.get(relative) == (stat.st_size, stat.st_mtime_ns):
            continue
        found.append((relative, path, *hash_file(path)))
    return found


class PlatformRunner:
    """Moves submitted jobs through their statuses and runs their commands, in its task group."""

    def __init__(self, state: PlatformState, config: EmulatorConfig, root: Path) -> None:
        self._state = state
        self._config = config
        self._settings = config.platform
        self.jobs_root = root / "jobs"
        """Where job directories are: ``<job id>/work`` and ``<job id>/process_output.log``."""
        self.api_url: str | None = None
        """The served platform root, given to jobs as ``RESCALE_API_URL`` (None in process)."""
        self._group: anyio.abc.TaskGroup | None = None
        self.processes = 0
        """Command processes alive now."""
        self.started = 0
        """Command processes started so far."""
        self.ssh = ClusterHosts(lambda: state.public_key)
        """The SSH servers of executing jobs (their "clusters")."""

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run jobs until cancelled (then every job process is killed)."""
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                task_status.started()
                await anyio.sleep_forever()
        finally:
            await self.ssh.aclose()

    # ------------------------------------------------------------------ requests

    def submit(self, job: PlatformJob) -> None:
        """Start a saved job (Pending now; the rest follows in the background)."""
        assert self._group is not None, "the runner is not running"
        self._state.set_status(job, "Pending")
        self._state.submissions += 1
        self._group.start_soon(self._lifecycle, job)

    def stop(self, job: PlatformJob) -> None:
        """Ask a submitted job to stop: Stopping now, Completed once its command has ended
        (SIGTERM, then SIGKILL after ``kill_grace``) and its files are kept.
        """
        if job.completed or job.stop_requested.is_set():
            return
        self._state.set_status(job, "Stopping", "Stop requested by user")
        job.stop_requested.set()

    # ------------------------------------------------------------------ the lifecycle

    async def _pause(self, job: PlatformJob) -> bool:
        """Wait ``status_delay`` seconds; True when a stop has been requested."""
        with anyio.move_on_after(self._settings.status_delay):
            await job.stop_requested.wait()
        return job.stop_requested.is_set()

    async def _lifecycle(self, job: PlatformJob) -> None:
        state = self._state
        try:
            reason = await self._bring_up_and_run(job)
        finally:
            if job.key is not None:
                state.job_keys.pop(job.key, None)
        state.set_status(job, COMPLETED, reason)
        settings = self._settings
        delay = settings.status_delay
        if settings.cluster_stop_delay is not None:
            delay = settings.cluster_stop_delay
        if job.cluster is not None:
            for status in ("Stop Requested", "Stopping", "Stopped"):
                await anyio.sleep(delay)
                if status == "Stopped":
                    job.instances_up = False
                state.set_cluster_status(job, status)

    async def _bring_up_and_run(self, job: PlatformJob) -> str:
        """The cluster started and the commands run; the reason the job completes with."""
        state = self._state
        if await self._pause(job):
            return STOP_REASON
        state.set_status(job, "Queued")
        state.set_cluster_status(job, "Not Started")
        if await self._pause(job):
            return STOP_REASON
        state.set_cluster_status(job, "Starting")
        if await self._pause(job):
            return STOP_REASON
        state.set_cluster_status(job, "Started")
        job.instances_up = True
        state.set_status(job, "Started")
        if await self._pause(job):
            return STOP_REASON
        state.set_status(job, "Validated")
        if await self._pause(job):
            return STOP_REASON
        return await self._execute(job)

    def _inputs(self, job: PlatformJob) -> list[tuple[FileRecord, bool]] | str:
        """The job's input files with their ``decompress``, or why they cannot be staged."""
        inputs: list[tuple[FileRecord, bool]] = []
        for analysis in job.analyses:
            for item in analysis["inputFiles"]:
                record = self._state.files.get(item["id"])
                if record is None or record.deleted:
                    return f"Input file {item['id']} no longer exists"
                inputs.append((record, bool(item["decompress"])))
        return inputs

    async def _execute(self, job: PlatformJob) -> str:
        state = self._state
        home = self.jobs_root / job.job_id
        work = home / "work"
        log = home / LOG_NAME
        job.directory = home
        inputs = self._inputs(job)
        if isinstance(inputs, str):
            return inputs
        try:
            before = await anyio.to_thread.run_sync(_stage, work, inputs)
        except (OSError, zipfile.BadZipFile) as exc:
            return f"Could not stage the input files: {exc}"
        job.key = new_secret("job-key")
        state.job_keys[job.key] = job.job_id
        # the cluster answers on SSH from Executing on, until the commands have ended
        environment = self._environment(job, job.analyses[0], home)
        job.ssh_port = await self.ssh.open(job.job_id, work, environment)
        state.set_status(job, "Executing")
        job.run = RunRecord("1", now())
        hardware = job.analyses[0]["hardware"]
        deadline = anyio.current_time() + hardware["walltime"] * self._settings.walltime_hour
        reason = SUCCESS_REASON
        try:
            for analysis in job.analyses:
                failure = await self._command(job, analysis, home, deadline)
                if failure is not None:
                    reason = failure
                    break
        finally:
            job.ssh_port = None
            await self.ssh.close(job.job_id)
        await self._collect(job, work, log, before)
        return reason

    async def _collect(self, job: PlatformJob, work: Path, log: Path, before: Snapshot) -> None:
        """Register what the job left as its output files."""
        state = self._state
        try:
            found = await anyio.to_thread.run_sync(_outputs, work, log, before)
        except OSError:
            logger.exception("could not collect the outputs of job %s", job.job_id)
            found = []
        for relative, path, size, digest in found:
            record = state.register_file(
                state.new_id(),
                path.name,
                path,
                size,
                digest,
                type_id=OUTPUT_FILE,
                relative_path=relative,
                job_id=job.job_id,
            )
            job.outputs.append(record.file_id)
        if job.run is not None:
            job.run.completed = now()

    # ------------------------------------------------------------------ one command

    def _environment(
        self, job: PlatformJob, analysis: dict[str, Any], home: Path
    ) -> dict[str, str]:
        """What a command sees: the inherited host variables, the analysis's ``envVars``,
        then the job's own (documented in the package docstring).
        """
        config = self._config
        hardware = job.analyses[0]["hardware"]
        core = _CORETYPES[hardware["coreType"]]
        cores, slots = int(hardware["coresPerSlot"]), int(hardware["slots"])
        nodes_per_slot = core.nodes_per_slot(cores)
        env = {name: os.environ[name] for name in config.inherit_env if name in os.environ}
        env.update(analysis["envVars"])
        env.update(
            {
                "HOME": str(home),
                "RESCALE_JOB_ID": job.job_id,
                "RESCALE_RUN_ID": "1",
                "RESCALE_CORE_TYPE": core.code,
                "RESCALE_CORES_PER_SLOT": str(cores),
                "RESCALE_SLOTS": str(slots),
                "RESCALE_NODES_PER_SLOT": str(nodes_per_slot),
                "RESCALE_NODES": str(nodes_per_slot * slots),
                "RESCALE_WALLTIME_HOURS": str(hardware["walltime"]),
            }
        )
        if job.key is not None:
            env["RESCALE_API_KEY"] = job.key
        if self.api_url is not None:
            env["RESCALE_API_URL"] = self.api_url
        return env

    async def _command(
        self, job: PlatformJob, analysis: dict[str, Any], home: Path, deadline: float
    ) -> str | None:
        """Run one analysis's command; None when it succeeded, else the failure reason."""
        bash = shutil.which("bash")
        if bash is None:
            return "Could not start the command: bash is not installed"
        log: IO[bytes] = await anyio.to_thread.run_sync((home / LOG_NAME).open, "ab")
        process: anyio.abc.Process | None = None
        ended = "exited"
        try:
            try:
                process = await anyio.open_process(
                    [bash, "-c", analysis["command"]],
                    cwd=home / "work",
                    env=self._environment(job, analysis, home),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=POSIX,
                )
            except OSError as exc:
                return f"Could not start the command: {exc}"
            self.processes += 1
            self.started += 1
            ended = await self._wait(process, job, deadline)
            if ended != "exited":
                await terminate(process, self._config.kill_grace)
        finally:
            with anyio.CancelScope(shield=True):
                if process is not None:
                    await self._reap(process)
                await anyio.to_thread.run_sync(log.close)
        if ended == "stopped":
            return STOP_REASON
        if ended == "walltime":
            hours = job.analyses[0]["hardware"]["walltime"]
            return f"Exceeded the walltime of {hours} hour{'s' if hours != 1 else ''}"
        assert process is not None
        code = process.returncode
        if code == 0:
            return None
        if code is not None and code < 0:
            return f"Command was killed by signal {-code}"
        return f"Command exited with code {code}"

    @staticmethod
    async def _wait(process: anyio.abc.Process, job: PlatformJob, deadline: float) -> str:
        """How the command ended: "exited", "stopped" (a stop request) or "walltime"."""
        ended = "walltime"
        with anyio.CancelScope(deadline=deadline):
            async with anyio.create_task_group() as group:

                async def exited() -> None:
                    nonlocal ended
                    await process.wait()
                    ended = "exited"
                    group.cancel_scope.cancel()

                async def stopped() -> None:
                    nonlocal ended
                    await job.stop_requested.wait()
                    ended = "stopped"
                    group.cancel_scope.cancel()

                group.start_soon(exited)
                group.start_soon(stopped)
        return ended

    async def _reap(self, process: anyio.abc.Process) -> None:
        """Make sure nothing of the command is left (the cluster goes away), then close it."""
        if process.returncode is None:
            signal_group(process, signal.SIGKILL)
            with anyio.move_on_after(5):
                await process.wait()
        signal_group(process, signal.SIGKILL)
        await process.aclose()
        self.processes -= 1
