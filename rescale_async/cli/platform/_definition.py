"""The YAML job definition of ``platform run`` and ``platform jobs submit``.

A flat mapping a person writes (``name``, ``analysis``, ``command``, ``coretype``, ``cores``,
``walltime``, ``inputs``, ``outputs``...; ``_parser.RUN_HELP`` shows one), validated strictly
before any request: an unknown field, a wrong type, an input that is not a file, then (with
the API) an analysis version or a core count the service does not offer, each fail with the
file, the line and the field to fix. Paths in the file are relative to its directory.
"""

from __future__ import annotations

import difflib
import importlib
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..._core.exceptions import NoMatchError
from ...platform.client import PlatformClient
from ...platform.types import JobCreate
from .._errors import EXIT_USAGE, CLIError, one_line, validation_summary
from .._submit import parse_document

__all__ = ["BRING_YOUR_OWN", "JobDefinition", "LoadedDefinition", "load_definition"]

BRING_YOUR_OWN = "user_included"
"""The analysis that runs your own software; its only version is ``"0"``."""

Location = tuple[str | int, ...]


def _scalar_as_text(value: object) -> object:
    """A number written where text is meant (``version: 0``, ``OMP_NUM_THREADS: 4``) as the
    text it was written as.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


ScalarText = Annotated[str, BeforeValidator(_scalar_as_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnalysisSpec(_Strict):
    """The software: an analysis code and one of its versions (display name or versionCode)."""

    code: str = Field(min_length=1)
    version: ScalarText | None = Field(default=None, min_length=1)


class JobDefinition(_Strict):
    """One job, as the YAML file holds it."""

    name: str = Field(min_length=1)
    description: str | None = None
    project: str | None = Field(default=None, min_length=1)
    low_priority: bool | None = None
    analysis: AnalysisSpec
    command: str = Field(min_length=1)
    coretype: str = Field(min_length=1)
    cores: int = Field(ge=1)
    slots: int | None = Field(default=None, ge=1)
    walltime: int | None = Field(default=None, ge=1)
    env: dict[str, ScalarText] | None = None
    inputs: list[str] = Field(default_factory=list)
    decompress: bool | None = None
    outputs: str | None = Field(default=None, min_length=1)
    search: str | None = Field(default=None, min_length=1)


_FIELDS = list(JobDefinition.model_fields)


@dataclass(frozen=True)
class LoadedDefinition:
    """A job definition file, validated, with its paths made absolute."""

    source: str
    text: str
    spec: JobDefinition
    inputs: tuple[Path, ...]
    outputs: Path | None

    def error(self, where: Location, message: str) -> CLIError:
        """A usage error pointing at the field ``where`` of the file (and its line)."""
        return field_error(self.source, self.text, where, message)

    async def check(self, client: PlatformClient) -> str:
        """Ask the service whether it offers the analysis version, the coretype and its core
        count (an error pointing at the field when not); the version's ``versionCode``.
        """
        version = await self._version_code(client)
        await self._check_hardware(client)
        return version

    def job_create(self, version_code: str, input_files: Sequence[str] = ()) -> JobCreate:
        """The ``POST jobs/`` body: the analysis at ``version_code`` (from ``check``), with the
        uploaded ``input_files`` (ids).
        """
        spec = self.spec
        hardware = {
            "core_type": spec.coretype,
            "cores_per_slot": spec.cores,
            "slots": spec.slots,
            "walltime": spec.walltime,
        }
        inputs = [_given({"id": file_id, "decompress": spec.decompress}) for file_id in input_files]
        analysis = {
            "analysis": {"code": spec.analysis.code, "version": version_code},
            "command": spec.command,
            "hardware": _given(hardware),
            "input_files": inputs or None,
            "env_vars": spec.env,
        }
        body = {
            "name": spec.name,
            "description": spec.description,
            "project_id": spec.project,
            "is_low_priority": spec.low_priority,
            "jobanalyses": [_given(analysis)],
        }
        try:
            return JobCreate.model_validate(_given(body))
        except ValidationError as exc:  # the file's checks cover all but a real command's
            raise self.error(("command",), validation_summary(exc)) from None

    async def _version_code(self, client: PlatformClient) -> str:
        analysis = self.spec.analysis
        if analysis.code == BRING_YOUR_OWN and analysis.version in (None, "0"):
            return "0"
        if analysis.version is None:
            raise self.error(
                ("analysis", "version"),
                f"give a version of {analysis.code!r} (its name or versionCode); "
                f"'rescale-async platform analyses --search {analysis.code}' lists them",
            )
        try:
            found = await client.analyses.version(analysis.code, analysis.version)
        except NoMatchError as exc:
            raise self.error(("analysis",), str(exc)) from None
        return found.ref().version

    async def _check_hardware(self, client: PlatformClient) -> None:
        spec = self.spec
        catalogue = {coretype.code: coretype async for coretype in client.coretypes.list()}
        coretype = catalogue.get(spec.coretype)
        if coretype is None:
            close = difflib.get_close_matches(spec.coretype, list(catalogue), n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise self.error(
                ("coretype",),
                f"no coretype {spec.coretype!r}; {hint}'rescale-async platform coretypes' "
                "lists them",
            )
        if not coretype.allows(spec.cores):
            allowed = ", ".join(map(str, coretype.cores or ()))
            raise self.error(
                ("cores",),
                f"coretype {coretype.code!r} does not offer {spec.cores} cores per slot; "
                f"it offers {allowed}",
            )


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` without the ones left out (None): unset, not sent as null."""
    return {key: value for key, value in fields.items() if value is not None}


async def load_definition(name: str) -> LoadedDefinition:
    """Read, parse and validate the job definition file ``name``; a CLIError (exit code 2)
    pointing at the field to fix.
    """
    text = await _read(name)
    data = parse_document(text, name)
    if not isinstance(data, dict):
        kind = "nothing" if data is None else f"a {type(data).__name__}"
        raise CLIError(
            f"{name} holds {kind}: expected a job definition (name:, analysis:, command:, "
            "coretype:, cores:, ...; see 'rescale-async platform run --help')"
        )
    try:
        spec = JobDefinition.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        # an unknown field first: a misspelt one also makes the field it meant "missing"
        first = min(errors, key=lambda error: error["type"] != "extra_forbidden")
        raise field_error(name, text, tuple(first["loc"]), _problem(first)) from None
    inputs, outputs, problem = await anyio.to_thread.run_sync(_local_paths, name, spec)
    if problem is not None:
        raise field_error(name, text, ("inputs", problem[0]), problem[1])
    loaded = LoadedDefinition(name, text, spec, inputs, outputs)
    loaded.job_create("0")  # the body's own rules too, before any request
    return loaded


async def _read(name: str) -> str:
    try:
        return await anyio.Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CLIError(f"cannot read {name}: not UTF-8 text (expected YAML)") from None
    except OSError as exc:
        raise CLIError(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None


def _problem(error: Any) -> str:
    """What a pydantic error says, in the file's terms."""
    if error["type"] == "extra_forbidden":
        unknown = str(error["loc"][-1])
        where = error["loc"][:-1]
        known = list(AnalysisSpec.model_fields) if where == ("analysis",) else _FIELDS
        close = difflib.get_close_matches(unknown, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown field; {hint}the fields are: {', '.join(known)}"
    if error["type"] == "missing":
        return "required, but missing"
    return one_line(str(error["msg"]).removeprefix("Value error, "))


def _local_paths(
    name: str, spec: JobDefinition
) -> tuple[tuple[Path, ...], Path | None, tuple[int, str] | None]:
    """The inputs and the outputs directory relative to the file ``name``, and the first
    input that cannot be uploaded (its index, why), if any (blocking).
    """
    base = Path(name).absolute().parent
    inputs = tuple(base / path for path in spec.inputs)
    problem = next(((i, why) for i, path in enumerate(inputs) if (why := _not_a_file(path))), None)
    return inputs, None if spec.outputs is None else base / spec.outputs, problem


def _not_a_file(path: Path) -> str:
    """Why ``path`` cannot be uploaded ("" when it can; blocking)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot read the input {path}: {exc.strerror}"
    if not stat.S_ISREG(mode):
        return f"the input {path} is not a regular file (zip a directory first)"
    return ""


def field_error(source: str, text: str, where: Location, message: str) -> CLIError:
    """``source, line N: FIELD: message``; the line is the field's (or its parent's, for a
    missing one) when the file parses as YAML.
    """
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in where)
    line = _line_of(text, where)
    place = f"{source}, line {line}" if line else source
    return CLIError(f"{place}: {field.lstrip('.') or 'the file'}: {message}", EXIT_USAGE)


def _line_of(text: str, where: Location) -> int | None:
    """The line (from 1) of the deepest part of ``where`` present in the YAML ``text``."""
    try:
        yaml: Any = importlib.import_module("yaml")  # the cli extra, used untyped
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except Exception:  # a file that parsed as JSON but not as YAML: no lines to point at
        return None
    line = None
    for part in where:
        if isinstance(node, yaml.MappingNode):
            found = next((pair for pair in node.value if pair[0].value == part), None)
            if found is None:
                break
            line = found[0].start_mark.line + 1
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
