"""Every schema of the HTC OpenAPI document has a Python type, with the spec's wire names."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from htc_spec import (
    EXTRA_FIELDS,
    IDENTIFYING,
    is_object,
    load,
    merged,
    operations,
    params,
    ref_name,
    schema_params,
    schemas,
    spec,
)
from pydantic import BaseModel

import rescale_async.htc.types as types_pkg
from rescale_async.htc.types import APIModel, OpenEnum, RequestModel
from rescale_async.htc.types._schemas import REQUEST_TYPES, SCHEMA_TYPES


def wire_names(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def required_wire_names(model: type[BaseModel]) -> set[str]:
    return {
        field.alias or name for name, field in model.model_fields.items() if field.is_required()
    }


def model_of(name: str, *, request: bool = False) -> type[APIModel]:
    model = REQUEST_TYPES.get(name, SCHEMA_TYPES[name]) if request else SCHEMA_TYPES[name]
    assert isinstance(model, type)
    assert issubclass(model, APIModel)
    return model


def test_every_schema_has_a_type_and_nothing_else() -> None:
    assert set(SCHEMA_TYPES) == set(schemas("patched"))


def test_published_schemas_are_a_subset() -> None:
    assert set(schemas("published")) <= set(SCHEMA_TYPES)


def test_request_types_name_real_schemas_and_are_request_models() -> None:
    assert set(REQUEST_TYPES) <= set(SCHEMA_TYPES)
    for model in REQUEST_TYPES.values():
        assert isinstance(model, type)
        assert issubclass(model, RequestModel)


def test_every_public_type_is_exported() -> None:
    exported = set(types_pkg.__all__)
    for python_type in [*SCHEMA_TYPES.values(), *REQUEST_TYPES.values()]:
        for part in [python_type, *typing.get_args(python_type)]:
            if isinstance(part, type) and part.__module__.startswith("rescale_async.htc.types"):
                assert part.__name__ in exported, part
    assert all(hasattr(types_pkg, name) for name in exported)


@pytest.mark.parametrize(*schema_params("doc, name"))
def test_type_kind_matches_schema_kind(doc: str, name: str) -> None:
    schema = schemas(doc)[name]
    python_type = SCHEMA_TYPES[name]
    if "enum" in schema:
        assert isinstance(python_type, type)
        assert issubclass(python_type, OpenEnum)
        assert [m.value for m in python_type] == schema["enum"]
    elif "properties" in schema:
        assert isinstance(python_type, type)
        assert issubclass(python_type, APIModel)
        assert python_type.__doc__, f"{python_type.__name__} needs a docstring"
        assert f"{name})" in python_type.__doc__ or f"{name};" in python_type.__doc__
    elif schema.get("type") == "array":
        assert typing.get_origin(python_type) is list
        (item,) = typing.get_args(python_type)
        assert item is SCHEMA_TYPES[str(ref_name(schema["items"]))]
    else:
        assert schema.get("type") == "string"


@pytest.mark.parametrize(*schema_params("doc, name", is_object))
def test_wire_names_are_the_spec_property_names(doc: str, name: str) -> None:
    document = spec(doc)
    properties = schemas(doc)[name]["properties"]
    flags = {prop: merged(document, sub) for prop, sub in properties.items()}
    readable = {p for p, sub in flags.items() if not sub.get("writeOnly")}
    writable = {p for p, sub in flags.items() if not sub.get("readOnly")}

    model = model_of(name)
    if issubclass(model, RequestModel):
        assert wire_names(model) == writable
    else:
        assert readable <= wire_names(model), readable - wire_names(model)
        extra = EXTRA_FIELDS.get(name, set())
        if extra is not None:
            assert wire_names(model) - readable <= extra
    if name in REQUEST_TYPES:
        assert wire_names(model_of(name, request=True)) == writable


@pytest.mark.parametrize(*schema_params("doc, name", is_object))
def test_required_fields_follow_the_spec(doc: str, name: str) -> None:
    """A request requires what the spec requires; a response only its identifying fields."""
    schema = schemas(doc)[name]
    document = spec(doc)
    required = set(schema.get("required", ()))
    model = model_of(name)
    if issubclass(model, RequestModel):
        assert required_wire_names(model) == required
    else:
        assert required_wire_names(model) == IDENTIFYING.get(name, set())
    if name in REQUEST_TYPES:
        read_only = {
            p for p, sub in schema["properties"].items() if merged(document, sub).get("readOnly")
        }
        assert required_wire_names(model_of(name, request=True)) == required - read_only


def _body_types(doc: str, document: dict[str, Any]) -> Any:
    for method, path, operation in operations(document):
        body = operation.get("requestBody")
        if body is None:
            continue
        for media in body["content"].values():
            schema = media["schema"]
            element = schema["items"] if schema.get("type") == "array" else schema
            yield f"{method} {path}", (ref_name(element),)


@pytest.mark.parametrize(*params("doc, name", _body_types))
def test_request_bodies_parse_into_request_models(doc: str, name: str) -> None:
    assert load(doc) is not None
    assert issubclass(model_of(name, request=True), RequestModel)
