"""Request bodies checked as strictly as the service checks them, so nothing invalid is stored.

The SDK's request models carry the documented constraints (bounds, patterns, required fields),
but they are lenient by design: their enums are open and pydantic coerces ``false`` to ``0``.
The service (a Java bean validator behind a JSON mapper) refuses what the document does not
allow, so a body is validated here in pydantic's strict JSON mode (a JSON boolean is not an
integer, a number is not a string), then every value is checked against its enum's known
members, and an explicit ``null`` is refused where the document does not mark a field nullable.
Unknown fields stay ignored, as the service ignores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import Enum
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from ....htc.types import JobDefinition, JobSubmitRequest

__all__ = ["NULLABLE_REQUEST_FIELDS", "conform"]

M = TypeVar("M", bound=BaseModel)

NULLABLE_REQUEST_FIELDS: frozenset[tuple[type[BaseModel], str]] = frozenset(
    {
        (JobDefinition, "working_dir"),
        (JobSubmitRequest, "rescale_project_id"),
    }
)
"""The request fields the (patched) document marks nullable, as (SDK model, field name): an
explicit ``null`` is refused in every other field of a request body."""


def conform(model: type[M], data: Any, prefix: str = "") -> tuple[M | None, list[str]]:
    """``data`` (parsed JSON) as ``model`` checked strictly, or None and each problem as
    ``where: message`` (``where`` starting with ``prefix``).
    """
    try:
        instance = model.model_validate_json(
            json.dumps(data), strict=True, by_alias=True, by_name=False
        )
    except ValidationError as exc:
        return None, _pydantic_problems(exc, prefix)
    found = list(_value_problems(instance, prefix))
    return (None, found) if found else (instance, [])


def _pydantic_problems(exc: ValidationError, prefix: str) -> list[str]:
    """Each pydantic error as ``where: message``."""
    return [
        f"{_where(prefix, error['loc'])}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _where(prefix: str, parts: tuple[int | str, ...]) -> str:
    """A field path: ``[index]`` for list positions, ``.name`` for fields and keys."""
    where = prefix
    for part in parts:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "body"


def _value_problems(model: BaseModel, where: str) -> Iterator[str]:
    """Values set aside as misfits, nulls where the document allows none and enum values it
    does not list, in ``model``.
    """
    extra = model.model_extra or {}
    for name, field in type(model).model_fields.items():
        path = _where(where, (field.alias or name,))
        if name not in model.model_fields_set:
            if field.alias in extra:
                yield from _misfit_problems(type(model), name, extra[field.alias], path)
            continue
        value = getattr(model, name)
        if value is None and not _nullable(type(model), name):
            yield f"{path}: must not be null; leave the field out instead"
        else:
            yield from _nested_problems(value, path)


def _misfit_problems(model: type[BaseModel], name: str, value: Any, where: str) -> Iterator[str]:
    """Why ``value`` does not fit field ``name``: the SDK's shared models parse tolerantly and
    keep such a value aside (in ``model_extra``) instead of failing.
    """
    try:
        _field_adapter(model, name).validate_json(json.dumps(value), strict=True)
    except ValidationError as exc:
        yield from _pydantic_problems(exc, where)
    else:  # only fails inside the model (a nested misfit): refuse it all the same
        yield f"{where}: invalid value {value!r}"


@cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """A validator of field ``name`` of ``model`` alone, with its constraints."""
    field = model.model_fields[name]
    annotation: Any = field.annotation
    if field.metadata:  # Annotated[annotation, *metadata], spelt for Python 3.10
        parameters = (annotation, *field.metadata)
        annotation = Annotated[parameters]
    return TypeAdapter(annotation)


def _nested_problems(value: Any, where: str) -> Iterator[str]:
    """``_value_problems`` for a field's value: a model, an enum, or a list or map of them."""
    if isinstance(value, BaseModel):
        yield from _value_problems(value, where)
    elif isinstance(value, Enum):
        yield from _enum_problems(value, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nested_problems(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nested_problems(item, f"{where}.{key}")


def _enum_problems(value: Enum, where: str) -> Iterator[str]:
    """A problem when ``value`` is not a member its enum lists (the SDK's enums are open)."""
    members = type(value).__members__
    if members.get(value.name) is not value:
        known = ", ".join(str(member.value) for member in members.values())
        yield f"{where}: must be one of {known}, got {value.value!r}"


def _nullable(model: type[BaseModel], name: str) -> bool:
    """Whether the document marks field ``name`` of ``model`` (or of a base of it) nullable."""
    return any((base, name) in NULLABLE_REQUEST_FIELDS for base in model.__mro__)
