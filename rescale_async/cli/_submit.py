"""``jobs submit PROJECT TASK FILE|-``: an array of submit requests, or a JobSpec and ``--count``.

FILE is JSON or YAML (by its suffix; otherwise JSON when it parses as JSON, else YAML):

- an array of HTC submit requests in the API's form (``[{"batchSize": 10,
  "htcJobDefinition": {"imageName": ..., "commands": [...]}}]``), posted as they are;
- a JobSpec mapping (``image: python:3.11``, ``commands: [...]``, ``vcpus: 1``, ...), run
  ``--count`` times.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from pydantic import TypeAdapter, ValidationError

from ..htc.orchestration import JobSpec
from ..htc.types import JobSubmitRequest
from ._context import Context
from ._errors import EXIT_OK, CLIError, extra_missing, validation_summary

__all__ = ["load_submission", "parse_document", "submit"]

_requests = TypeAdapter(list[JobSubmitRequest])

_EXPECTED = "an array of submit requests or a JobSpec mapping"


async def _read(ctx: Context, name: str) -> str:
    if name == "-":
        text: str = await anyio.to_thread.run_sync(ctx.stdin.read)
        return text
    try:
        return await anyio.Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CLIError(f"cannot read {name}: no such file") from None
    except IsADirectoryError:
        raise CLIError(f"cannot read {name}: a directory, not a JSON or YAML file") from None
    except UnicodeDecodeError:
        raise CLIError(f"cannot read {name}: not UTF-8 text (expected JSON or YAML)") from None
    except OSError as exc:
        raise CLIError(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(
            f"{where} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def _yaml(text: str, where: str) -> Any:
    try:  # the cli extra; JSON files do without it (no stubs needed: it is used untyped)
        yaml: Any = importlib.import_module("yaml")
    except ImportError as exc:
        raise extra_missing(exc.name or "PyYAML") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        place = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise CLIError(f"{where} is not valid YAML: {problem}{place}") from None


def parse_document(text: str, name: str) -> Any:
    """The data in ``text`` (read from ``name``, ``-`` for stdin): JSON or YAML."""
    where = "stdin" if name == "-" else name
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        return _json(text, where)
    if suffix in (".yaml", ".yml"):
        return _yaml(text, where)
    if text.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            try:
                return _yaml(text, where)
            except CLIError:
                return _json(text, where)  # reports the JSON error, which is likelier meant
    return _yaml(text, where)


def load_submission(data: Any, name: str) -> list[JobSubmitRequest] | JobSpec:
    """Submit requests (an array) or a JobSpec (a mapping), validated."""
    where = "stdin" if name == "-" else name
    if data is None or data == "":
        raise CLIError(f"{where} is empty: expected {_EXPECTED}")
    if isinstance(data, list):
        if not data:
            raise CLIError(f"{where} holds an empty array: nothing to submit")
        try:
            return _requests.validate_python(data)
        except ValidationError as exc:
            raise CLIError(
                f"{where} is not a valid array of submit requests: {validation_summary(exc)}"
            ) from None
    if isinstance(data, dict):
        if "htcJobDefinition" in data or "htc_job_definition" in data:
            raise CLIError(
                f"{where} holds one submit request: put it in an array ([...]), or write a "
                "JobSpec (image:, commands:, ...) and use --count"
            )
        try:
            return JobSpec.model_validate(data)
        except ValidationError as exc:
            raise CLIError(f"{where} is not a valid JobSpec: {validation_summary(exc)}") from None
    raise CLIError(f"{where} holds a {type(data).__name__}: expected {_EXPECTED}")


_JOB_ID = re.compile(r"(?P<parent>.+):(?P<index>\d+)")


def id_ranges(job_ids: Sequence[str]) -> str:
    """Job ids in short form: ``parent:0..9`` for each run of consecutive indexes."""
    parts: list[str] = []
    run: tuple[str, int, int] | None = None  # parent, first, last

    def close() -> None:
        if run is not None:
            parent, first, last = run
            parts.append(f"{parent}:{first}" + (f"..{last}" if last > first else ""))

    for job_id in job_ids:
        match = _JOB_ID.fullmatch(job_id)
        if match is None:
            close()
            run = None
            parts.append(job_id)
            continue
        parent, index = match["parent"], int(match["index"])
        if run is not None and run[0] == parent and index == run[2] + 1:
            run = (parent, run[1], index)
            continue
        close()
        run = (parent, index, index)
    close()
    return ", ".join(parts)


async def submit(ctx: Context) -> int:
    out = ctx.output
    args = ctx.args
    ref = ctx.task_ref()
    submission = load_submission(parse_document(await _read(ctx, args.file), args.file), args.file)
    if args.count is not None and not isinstance(submission, JobSpec):
        raise CLIError(
            "--count applies to a JobSpec file; in an array of submit requests, each "
            "request's batchSize says how many copies to run"
        )
    group: str | None = args.group
    async with ctx.client() as client:
        if isinstance(submission, JobSpec):
            batch = await client.jobs.submit(ref, submission, count=args.count or 1, group=group)
            job_ids = list(batch.job_ids)
            group = batch.group
        else:
            submitted = await client.jobs.submit_batch(ref, submission, group=group)
            job_ids = [job_id for item in submitted for job_id in item.job_ids]
            group = next((item.group for item in submitted if item.group), group)
    if out.json:
        out.emit_json(
            {"projectId": ref.project_id, "taskId": ref.task_id, "group": group, "jobIds": job_ids}
        )
        return EXIT_OK
    in_group = f" in group {group}" if group else ""
    plural = "" if len(job_ids) == 1 else "s"
    out.line(
        f"submitted {len(job_ids)} job{plural} to task {ref.task_id}{in_group}: "
        f"{id_ranges(job_ids)}"
    )
    out.note(f"watch them: rescale-async watch {ref.project_id} {ref.task_id}")
    return EXIT_OK
