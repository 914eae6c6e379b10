"""Job definitions checked as the service checks them, with DRF's messages and error shapes.

A refused body answers 400 with a field map nested like the request: a list field has one
map per item (``{}`` for an item without errors), so a wrong ``coresPerSlot`` of the second
analysis reads ``{"jobanalyses": [{}, {"hardware": {"coresPerSlot": ["..."]}}]}``. Unknown
fields are ignored (DRF ignores them); what is kept is the normalized definition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._catalogue import ANALYSES, CORETYPES, Analysis, AnalysisVersion, CoreType
from ._errors import bad_request
from ._records import FileRecord

__all__ = ["DEFAULT_WALLTIME", "check_create", "check_update"]

DEFAULT_WALLTIME = 24
"""Hours of walltime a job gets when its hardware names none."""

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."

_CORETYPES = {core.code: core for core in CORETYPES}
_ANALYSES = {analysis.code: analysis for analysis in ANALYSES}
_MISSING: Any = object()


class Invalid(Exception):
    """One field's errors: a list of messages, or a nested map / list of maps."""

    def __init__(self, errors: Any) -> None:
        super().__init__(errors)
        self.errors = errors


def _kind(value: Any) -> str:
    return {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), type(value).__name__
    )


def _string(value: Any, *, blank: bool = False) -> str:
    if value is None:
        raise Invalid([NOT_NULL])
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(["Not a valid string."])
    text = str(value)
    if not blank and not text.strip():
        raise Invalid([NOT_BLANK])
    return text


def _integer(value: Any, *, minimum: int = 1) -> int:
    if value is None:
        raise Invalid([NOT_NULL])
    whole = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )
    digits = isinstance(value, str) and value.strip().lstrip("+-").isdigit()
    if not (whole or digits):
        raise Invalid(["A valid integer is required."])
    number = int(value)
    if number < minimum:
        raise Invalid([f"Ensure this value is greater than or equal to {minimum}."])
    return number


_TRUE = frozenset({"true", "True", "TRUE", "1", "yes", "on"})
_FALSE = frozenset({"false", "False", "FALSE", "0", "no", "off"})


def _boolean(value: Any) -> bool:
    """DRF's BooleanField: a JSON boolean, 0/1, or one of its words."""
    if value is None:
        raise Invalid([NOT_NULL])
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in _TRUE | _FALSE:
        return value in _TRUE
    raise Invalid(["Must be a valid boolean."])


def _mapping(value: Any) -> dict[str, Any]:
    if value is None:
        raise Invalid([NOT_NULL])
    if not isinstance(value, dict):
        raise Invalid(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {_kind(value)}."]}
        )
    return value


class _Fields:
    """Collects the checked fields of one object and the errors of the others."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, Any] = {}

    def take(
        self,
        name: str,
        check: Callable[[Any], Any],
        *,
        required: bool = False,
        default: Any = _MISSING,
        nullable: bool = False,
    ) -> Any:
        """The checked value of field ``name`` (``default`` when absent), or None after
        noting its errors.
        """
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            if required:
                self.errors[name] = [REQUIRED]
            return None if default is _MISSING else default
        if value is None and nullable:
            return None
        try:
            return check(value)
        except Invalid as exc:
            self.errors[name] = exc.errors
            return None


def _file_ids(files: Mapping[str, FileRecord]) -> Callable[[Any], list[dict[str, Any]]]:
    def check(value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise Invalid([f'Expected a list of items but got type "{_kind(value)}".'])
        items: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in value:
            try:
                fields = _Fields(_mapping(item))
            except Invalid as exc:
                errors.append(exc.errors)
                continue
            file_id = fields.take("id", _string, required=True)
            decompress = fields.take("decompress", _boolean, default=True)
            if file_id is not None:
                record = files.get(file_id)
                if record is None or record.deleted:
                    fields.errors["id"] = [f'Invalid pk "{file_id}" - object does not exist.']
            errors.append(fields.errors)
            items.append({"id": file_id, "decompress": decompress})
        if any(errors):
            raise Invalid(errors)
        return items

    return check


def _environment(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid([f'Expected a dictionary of items but got type "{_kind(value)}".'])
    errors: dict[str, Any] = {}
    result: dict[str, str] = {}
    for key, item in value.items():
        try:
            result[str(key)] = _string(item, blank=True)
        except Invalid as exc:
            errors[str(key)] = exc.errors
    if errors:
        raise Invalid(errors)
    return result


def _version_of(analysis: Analysis, code: str) -> AnalysisVersion:
    for version in analysis.versions:
        if version.code == code:
            return version
    known = ", ".join(f'"{v.code}" ({v.version})' for v in analysis.versions)
    raise Invalid([f'Analysis {analysis.code} has no version with versionCode "{code}": {known}.'])


def _analysis(value: Any) -> tuple[Analysis, AnalysisVersion]:
    fields = _Fields(_mapping(value))
    code = fields.take("code", _string, required=True)
    version_code = fields.take("version", _string, required=True)
    analysis = None
    if code is not None:
        analysis = _ANALYSES.get(code)
        if analysis is None:
            fields.errors["code"] = [f"Object with code={code} does not exist."]
    version = None
    if analysis is not None and version_code is not None:
        try:
            version = _version_of(analysis, version_code)
        except Invalid as exc:
            fields.errors["version"] = exc.errors
    if fields.errors:
        raise Invalid(fields.errors)
    assert analysis is not None
    assert version is not None
    return analysis, version


def _coretype(value: Any) -> CoreType:
    code = _string(value.get("code") if isinstance(value, dict) else value)
    core = _CORETYPES.get(code)
    if core is None:
        raise Invalid([f"Object with code={code} does not exist."])
    if not core.is_active:
        raise Invalid([f"Core type {code} is not active."])
    return core


def _hardware(value: Any, version: tuple[Analysis, AnalysisVersion] | None) -> dict[str, Any]:
    fields = _Fields(_mapping(value))
    core = fields.take("coreType", _coretype, required=True)
    cores = fields.take("coresPerSlot", _integer, required=True)
    slots = fields.take("slots", _integer, default=1)
    walltime = fields.take("walltime", _integer, default=DEFAULT_WALLTIME)
    if core is not None and version is not None:
        analysis, chosen = version
        if chosen.allowed_coretypes and core.code not in chosen.allowed_coretypes:
            fields.errors["coreType"] = [
                f"Core type {core.code} is not allowed for {analysis.name} {chosen.version}. "
                f"Allowed: {', '.join(chosen.allowed_coretypes)}."
            ]
    if core is not None and cores is not None and cores not in core.cores:
        fields.errors["coresPerSlot"] = [
            f"Invalid number of cores per slot ({cores}) for core type {core.code}. "
            f"Allowed: {', '.join(str(n) for n in core.cores)}."
        ]
    if fields.errors:
        raise Invalid(fields.errors)
    return {
        "coreType": core.code,
        "coresPerSlot": cores,
        "slots": slots,
        "walltime": walltime,
        "type": "compute",
    }


def _job_analysis(files: Mapping[str, FileRecord]) -> Callable[[Any], dict[str, Any]]:
    def check(value: Any) -> dict[str, Any]:
        fields = _Fields(_mapping(value))
        chosen = fields.take("analysis", _analysis, required=True)
        command = fields.take("command", _string, required=True)
        hardware_value = fields.data.get("hardware", _MISSING)
        hardware = None
        if hardware_value is _MISSING:
            fields.errors["hardware"] = [REQUIRED]
        else:
            try:
                hardware = _hardware(hardware_value, chosen)
            except Invalid as exc:
                fields.errors["hardware"] = exc.errors
        inputs = fields.take("inputFiles", _file_ids(files), default=[])
        env = fields.take("envVars", _environment, default={})
        flags = fields.take("flags", _mapping, default={})
        rescale_license = fields.take("useRescaleLicense", _boolean, default=False)
        if fields.errors:
            raise Invalid(fields.errors)
        analysis, version = chosen
        return {
            "analysis": {
                "code": analysis.code,
                "name": analysis.name,
                "version": version.code,
                "versionName": version.version,
            },
            "command": command,
            "hardware": hardware,
            "inputFiles": inputs,
            "envVars": env,
            "flags": flags,
            "useRescaleLicense": rescale_license,
            "onDemandLicenseSeller": fields.data.get("onDemandLicenseSeller"),
            "userDefinedLicenseSettings": fields.data.get("userDefinedLicenseSettings"),
        }

    return check


def _job_analyses(files: Mapping[str, FileRecord]) -> Callable[[Any], list[dict[str, Any]]]:
    entry = _job_analysis(files)

    def check(value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise Invalid([f'Expected a list of items but got type "{_kind(value)}".'])
        if not value:
            raise Invalid({"non_field_errors": ["This list may not be empty."]})
        items: list[dict[str, Any]] = []
        errors: list[Any] = []
        for item in value:
            try:
                items.append(entry(item))
                errors.append({})
            except Invalid as exc:
                errors.append(exc.errors)
        if any(errors):
            raise Invalid(errors)
        return items

    return check


def _project(projects: set[str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        project_id = _string(value)
        if project_id not in projects:
            raise Invalid([f'Invalid pk "{project_id}" - object does not exist.'])
        return project_id

    return check


def _refuse(errors: dict[str, Any]) -> None:
    if errors:
        raise bad_request(errors)


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {_kind(body)}."]}
        )
    return body


def _top_level(
    fields: _Fields, projects: set[str], files: Mapping[str, FileRecord], *, partial: bool
) -> dict[str, Any]:
    """The checked top-level fields present (all of them, defaults filled, unless ``partial``)."""
    found: dict[str, Any] = {}
    data = fields.data
    checks: list[tuple[str, Callable[[Any], Any], Any, bool]] = [
        ("name", _string, _MISSING, False),
        ("description", lambda v: _string(v, blank=True), "", True),
        ("isLowPriority", _boolean, False, False),
        ("jobanalyses", _job_analyses(files), _MISSING, False),
    ]
    for name, check, default, nullable in checks:
        if partial and name not in data:
            continue
        required = default is _MISSING
        value = fields.take(name, check, required=required, default=default, nullable=nullable)
        found[name] = "" if name == "description" and value is None else value
    # The service takes ``projectId``; clients (the tutorial among them) also send ``project_id``.
    project_key = "projectId" if "projectId" in data else "project_id"
    if not partial or project_key in data:
        project = fields.take(project_key, _project(projects), default=None, nullable=True)
        if project_key in fields.errors:
            fields.errors["projectId"] = fields.errors.pop(project_key)
        found["projectId"] = project
    return found


def check_create(
    body: Any, *, projects: set[str], files: Mapping[str, FileRecord]
) -> dict[str, Any]:
    """The normalized definition of a new job; 400 with DRF field errors otherwise."""
    fields = _Fields(_body(body))
    definition = _top_level(fields, projects, files, partial=False)
    _refuse(fields.errors)
    return definition


def check_update(
    body: Any,
    current: dict[str, Any],
    *,
    projects: set[str],
    files: Mapping[str, FileRecord],
) -> dict[str, Any]:
    """``current`` with the fields of a PATCH body applied (each checked as on create)."""
    fields = _Fields(_body(body))
    changes = _top_level(fields, projects, files, partial=True)
    _refuse(fields.errors)
    return {**current, **changes}
