"""The tutorial's whole story in one call: upload the inputs, create the job, submit it, wait
for it, download every output verified; exactly once across a crash with a ``RunLedger``.

Each step is recorded in the ledger before its request is sent (``_ledger`` tells the design),
so a re-run of a program killed at any moment goes on from where it stopped: inputs already
uploaded are not uploaded again, a job is created once and submitted once, and outputs already
downloaded and verified are not fetched again. ``run_many`` runs many jobs at once: the starts
(uploads, create, submit) a few at a time, the submissions paced by the client's job-submission
scope, the waits side by side, the downloads a few jobs at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

import anyio
import anyio.to_thread

from ..._core.concurrency import run_all
from ..._core.options import Sleep
from ..resources.files import Files
from ..resources.jobs import Jobs
from ..types import File, InputFile, Job, JobCreate, JobOutcome, JobStatus
from ._download import DownloadedFile, check_transfer
from ._hooks import ByteProgressHook, StatusHook, call_hook
from ._launch import Launcher, new_marker
from ._ledger import RecordedOutput, RunLedger, RunLedgerLike, RunRecord, Stage, as_run_ledger
from ._outputs import download_all, plan_outputs
from ._wait import wait_for_status

__all__ = ["InputPath", "JobRun", "RunHook", "RunOptions", "Runner", "as_definition"]

logger = logging.getLogger("rescale_async")

InputPath: TypeAlias = str | os.PathLike[str]
"""A local file to upload as a job input."""

RunHook: TypeAlias = Callable[[str, JobOutcome], Awaitable[None] | None]
"""Called with a job's id and its outcome so far each time its status history grows."""

_Seen = Callable[[str, JobOutcome], Awaitable[None]]

_UPLOADS_AT_ONCE = 4
_STARTS_AT_ONCE = 8
_DOWNLOADING_JOBS_AT_ONCE = 2


@dataclass(frozen=True)
class JobRun:
    """What ``jobs.run`` did: the job, its outcome, the input files it uploaded and the
    outputs it downloaded (verified) into ``output_dir``.
    """

    job: Job
    outcome: JobOutcome
    inputs: tuple[str, ...]
    """The ids of the uploaded input files, in the order given."""
    files: tuple[DownloadedFile, ...]
    output_dir: Path | None

    @property
    def succeeded(self) -> bool:
        """Whether the job completed successfully (a Completed failure is not)."""
        return self.outcome.succeeded

    @property
    def paths(self) -> list[Path]:
        """Where the outputs were written."""
        return [downloaded.path for downloaded in self.files]


@dataclass(frozen=True)
class RunOptions:
    """How ``run`` goes about each step (the same for every job of ``run_many``)."""

    decompress: bool | None = None
    search: str | None = None
    timeout: float | None = None
    interval: float = 30.0
    connections: int = 10
    chunk_size: int | None = None
    check_coretypes: bool = True
    download_progress: ByteProgressHook | None = None

    def __post_init__(self) -> None:
        check_transfer(self.connections, self.chunk_size)
        if self.timeout is not None and not self.timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds or None, got {self.timeout!r}")
        if not self.interval >= 0:
            raise ValueError(f"interval must be >= 0 seconds, got {self.interval!r}")


def as_definition(
    definition: JobCreate | Mapping[str, Any], where: str = "definition"
) -> JobCreate:
    """``definition`` validated strictly (before anything is sent)."""
    if isinstance(definition, JobCreate):
        return definition
    if not isinstance(definition, Mapping):
        raise TypeError(
            f"{where} must be a JobCreate or a mapping, got {type(definition).__name__}"
        )
    return JobCreate.model_validate(definition)


def _checked_inputs(inputs: Sequence[InputPath]) -> list[Path]:
    """The inputs' absolute paths, each a regular file (blocking: run in a worker thread)."""
    if isinstance(inputs, str | os.PathLike):
        raise TypeError("inputs must be a list of paths, not one path: inputs=[path]")
    paths = [Path(path).absolute() for path in inputs]
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise FileNotFoundError(f"input {path} cannot be read: {exc.strerror}") from None
        if not stat.S_ISREG(mode):
            raise IsADirectoryError(f"input {path} is not a regular file (zip a directory first)")
    return paths


def _digest(body: JobCreate, paths: Sequence[Path]) -> str:
    """A stable fingerprint of a run: its definition and its inputs' paths."""
    text = json.dumps(
        {"definition": body.to_api(), "inputs": [str(path) for path in paths]},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _with_inputs(body: JobCreate, file_ids: Sequence[str], decompress: bool | None) -> JobCreate:
    """``body`` with the uploaded files added to its first analysis' inputs."""
    if not file_ids:
        return body
    first = body.jobanalyses[0]
    extra = {} if decompress is None else {"decompress": decompress}
    added = [InputFile(id=file_id, **extra) for file_id in file_ids]
    analysis = first.model_copy(update={"input_files": [*(first.input_files or []), *added]})
    return body.model_copy(update={"jobanalyses": [analysis, *body.jobanalyses[1:]]})


class _Uploads:
    """Uploads of local files shared by the runs of one call: each path once."""

    def __init__(self, files: Files) -> None:
        self._files = files
        self._uploaded: dict[Path, str] = {}
        self._locks: dict[Path, anyio.Lock] = {}
        self._slots = anyio.CapacityLimiter(_UPLOADS_AT_ONCE)

    async def file_id(self, path: Path) -> str:
        lock = self._locks.setdefault(path, anyio.Lock())
        async with lock:
            if path not in self._uploaded:
                async with self._slots:
                    uploaded: File = await self._files.upload(path)
                self._uploaded[path] = uploaded.id
            return self._uploaded[path]


class Runner:
    """``jobs.run`` and ``jobs.run_many`` over the public calls of the jobs and files
    resources.
    """

    def __init__(self, jobs: Jobs, files: Files, *, sleep: Sleep, settle_delay: float) -> None:
        self._jobs = jobs
        self._files = files
        self._sleep = sleep
        self._launcher = Launcher(jobs, sleep=sleep, settle_delay=settle_delay)

    async def run(
        self,
        definition: JobCreate | Mapping[str, Any],
        inputs: Sequence[InputPath],
        outputs: str | os.PathLike[str] | None,
        *,
        options: RunOptions,
        ledger: RunLedgerLike | None,
        key: str | None,
        progress: StatusHook | None,
    ) -> JobRun:
        """Run one job (see the module); ``outputs`` None downloads nothing."""
        body = as_definition(definition)
        paths = await anyio.to_thread.run_sync(_checked_inputs, inputs)
        book = as_run_ledger(ledger)
        uploads = _Uploads(self._files)

        async def hook(_: str, outcome: JobOutcome) -> None:
            await call_hook(progress, outcome)

        return await self._run_one(
            body,
            paths,
            None if outputs is None else Path(outputs),
            per_job=False,
            options=options,
            book=book,
            key=key,
            uploads=uploads,
            hook=hook,
            starts=anyio.CapacityLimiter(1),
            downloads=anyio.CapacityLimiter(1),
        )

    async def run_many(
        self,
        definitions: Iterable[JobCreate | Mapping[str, Any]],
        inputs: Sequence[InputPath],
        outputs: str | os.PathLike[str] | None,
        *,
        options: RunOptions,
        ledger: RunLedgerLike | None,
        progress: RunHook | None,
        max_starting: int,
    ) -> list[JobRun]:
        """Run every definition (each with the same ``inputs``, uploaded once), its outputs
        into ``outputs/<job id>/``; the runs in order. Every run goes to its end; the first
        error is then raised (with a ledger, a re-run resumes the others' results).
        """
        bodies = [as_definition(d, f"definitions[{i}]") for i, d in enumerate(definitions)]
        if not bodies:
            raise ValueError("run_many needs at least one job definition, got none")
        if isinstance(max_starting, bool) or max_starting < 1:
            raise ValueError(f"max_starting must be >= 1, got {max_starting!r}")
        paths = await anyio.to_thread.run_sync(_checked_inputs, inputs)
        book = as_run_ledger(ledger)
        uploads = _Uploads(self._files)
        starts = anyio.CapacityLimiter(max_starting)
        downloads = anyio.CapacityLimiter(_DOWNLOADING_JOBS_AT_ONCE)

        async def hook(job_id: str, outcome: JobOutcome) -> None:
            if progress is not None:
                await call_hook(partial(progress, job_id), outcome)

        keys = [book.next_key(_digest(b, paths)) if book else None for b in bodies]
        calls = [
            partial(
                self._run_one,
                body,
                paths,
                None if outputs is None else Path(outputs),
                per_job=True,
                options=options,
                book=book,
                key=key,
                uploads=uploads,
                hook=hook,
                starts=starts,
                downloads=downloads,
            )
            for body, key in zip(bodies, keys, strict=True)
        ]
        return await run_all(calls)

    async def _run_one(
        self,
        body: JobCreate,
        paths: Sequence[Path],
        outputs: Path | None,
        *,
        per_job: bool,
        options: RunOptions,
        book: RunLedger | None,
        key: str | None,
        uploads: _Uploads,
        hook: _Seen,
        starts: anyio.CapacityLimiter,
        downloads: anyio.CapacityLimiter,
    ) -> JobRun:
        digest = _digest(body, paths)
        record: RunRecord | None = None
        if book is not None:
            key = key or book.next_key(digest)
            record = await book.find(key, digest)
        resumed = record is not None
        if record is None:
            record = RunRecord(key or "", digest, new_marker())
            if book is not None:
                await book.begin(record)
        else:
            logger.info("resuming run %s from stage %s", record.key, record.stage.value)
        async with starts:
            job = await self._start(
                body, paths, record, book, resumed=resumed, options=options, uploads=uploads
            )

        async def seen(outcome: JobOutcome) -> None:
            await hook(job.id, outcome)

        outcome = await wait_for_status(
            self._jobs,
            job,
            until=JobStatus.COMPLETED,
            timeout=options.timeout,
            interval=options.interval,
            progress=seen,
        )
        directory = None if outputs is None else (outputs / job.id if per_job else outputs)
        files: list[DownloadedFile] = []
        if directory is not None:
            async with downloads:
                files = await self._download(job, directory, book, options)
        inputs = tuple(record.inputs[i] for i in range(len(paths)))
        return JobRun(job, outcome, inputs, tuple(files), directory)

    async def _start(
        self,
        body: JobCreate,
        paths: Sequence[Path],
        record: RunRecord,
        book: RunLedger | None,
        *,
        resumed: bool,
        options: RunOptions,
        uploads: _Uploads,
    ) -> Job:
        """Upload, create and submit, each step once, from the stage ``record`` is at."""
        if record.stage is Stage.UPLOADING:
            await self._upload(paths, record, book, uploads=uploads)
            await _advance(book, record, Stage.CREATING)
            resumed = False  # the create is sent now, for the first time
        job: Job
        if record.stage is Stage.CREATING:
            file_ids = [record.inputs[i] for i in range(len(paths))]
            job = await self._launcher.create(
                _with_inputs(body, file_ids, options.decompress),
                record.marker,
                since=record.updated,
                in_doubt=resumed,
                check_coretypes=options.check_coretypes,
            )
            await _advance(book, record, Stage.CREATED, job.id)
        else:
            assert record.job_id is not None
            job = await self._jobs.get(record.job_id)
        if record.stage in (Stage.CREATED, Stage.SUBMITTING):
            in_doubt = record.stage is Stage.SUBMITTING
            await _advance(book, record, Stage.SUBMITTING)
            await self._launcher.submit(job, in_doubt=in_doubt)
            await _advance(book, record, Stage.SUBMITTED)
        return job

    async def _upload(
        self, paths: Sequence[Path], record: RunRecord, book: RunLedger | None, *, uploads: _Uploads
    ) -> None:
        """Upload the inputs not uploaded yet, concurrently, each recorded as it completes."""

        async def one(index: int) -> None:
            file_id = await uploads.file_id(paths[index])
            if book is not None:
                await book.record_input(record, index, file_id)
            else:
                record.inputs[index] = file_id

        missing = [i for i in range(len(paths)) if i not in record.inputs]
        if missing:
            await run_all([partial(one, index) for index in missing])

    async def _download(
        self, job: Job, directory: Path, book: RunLedger | None, options: RunOptions
    ) -> list[DownloadedFile]:
        """Every output of the job (``search``: those matching) into ``directory``; with a
        ledger, those downloaded by an earlier call and still in place are not fetched again.
        """
        listed = await self._jobs.files(job, search=options.search).to_list()
        planned = await anyio.to_thread.run_sync(plan_outputs, listed, directory)
        recorded = {} if book is None else await book.outputs(job.id)
        kept = await anyio.to_thread.run_sync(_still_there, planned, recorded)
        wanted = [(file, path) for file, path in planned if file.id not in kept]

        async def record(done: DownloadedFile) -> None:
            if book is not None:
                output = RecordedOutput(
                    done.file.id, done.path, done.size, done.hash_function, done.digest
                )
                await book.record_output(job.id, output)

        fetched = await download_all(
            self._files,
            wanted,
            connections=options.connections,
            chunk_size=options.chunk_size,
            progress=options.download_progress,
            sleep=self._sleep,
            on_done=record,
        )
        by_id = {done.file.id: done for done in [*kept.values(), *fetched]}
        return [by_id[file.id] for file, _ in planned]


def _still_there(
    planned: Sequence[tuple[File, Path]], recorded: Mapping[str, RecordedOutput]
) -> dict[str, DownloadedFile]:
    """The outputs an earlier call downloaded that are still in place, whole (blocking)."""
    kept: dict[str, DownloadedFile] = {}
    for file, path in planned:
        earlier = recorded.get(file.id)
        if earlier is None or earlier.path != path:
            continue
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size == earlier.size:
            kept[file.id] = DownloadedFile(
                file, path, size, earlier.hash_function, earlier.digest, verified=True
            )
    return kept


async def _advance(
    book: RunLedger | None, record: RunRecord, stage: Stage, job_id: str | None = None
) -> None:
    """Move the run to ``stage``, recorded in the ledger if there is one."""
    if book is not None:
        await book.record_stage(record, stage, job_id)
    else:
        record.stage = stage
        record.job_id = job_id or record.job_id
