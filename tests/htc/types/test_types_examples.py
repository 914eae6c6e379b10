"""The spec's examples, and a value for every property, parse and serialise back unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import Enum
from typing import Any

import pytest
from htc_spec import (
    EXTRA_REQUIRED,
    MISSING,
    ExampleBuilder,
    Schema,
    contradictory_examples,
    load,
    normalized,
    operations,
    params,
    ref_name,
    schema_params,
    spec,
)
from pydantic import TypeAdapter

from rescale_async.htc.types import (
    APIModel,
    ListResponse,
    OpenEnum,
    ProjectLimit,
    RequestErrorBody,
    RequestModel,
    Task,
    WhoAmI,
    WorkspaceLimit,
)
from rescale_async.htc.types._schemas import REQUEST_TYPES, SCHEMA_TYPES

# Examples the spec gets wrong: an empty string as a date-time.
CONTRADICTORY_EXAMPLES = {
    ("HTCProjectLimit", "createdAt"),
    ("HTCProjectLimit", "updatedAt"),
    ("HTCWorkspaceLimit", "createdAt"),
    ("HTCWorkspaceLimit", "updatedAt"),
}

# Inline response schemas that are neither a list, a string nor an ``{items, next}`` page.
INLINE_RESPONSE_TYPES: dict[tuple[str, str, str], object] = {
    ("delete", "/htc/projects/{projectId}/tasks/{taskId}", "200"): Task,
    (
        "get",
        "/htc/projects/{projectId}/container-registry/images/{imageName}",
        "404",
    ): RequestErrorBody,
    ("get", "/auth/whoami", "200"): WhoAmI,  # published document only
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def assert_round_trip(python_type: Any, payload: Any) -> Any:
    """``payload`` parses (from Python and from JSON) and serialises back to itself."""
    adapter: TypeAdapter[Any] = TypeAdapter(python_type)
    parsed = adapter.validate_python(payload)
    assert adapter.validate_json(json.dumps(payload)) == parsed
    dumped = adapter.dump_python(parsed, mode="json", by_alias=True, exclude_unset=True)
    assert normalized(dumped) == normalized(payload)
    if isinstance(parsed, APIModel):
        assert normalized(parsed.to_api()) == normalized(payload)
    return parsed


def _examples(request: bool, synthesize: bool) -> Any:
    def make(doc: str, document: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        builder = ExampleBuilder(
            document,
            synthesize=synthesize,
            omit="readOnly" if request else "writeOnly",
            extra_required=EXTRA_REQUIRED,
        )
        for name in document["components"]["schemas"]:
            if request and name not in REQUEST_TYPES:
                continue
            payload = builder.build(ref(name))
            if payload is not MISSING:
                yield name, (name, payload)

    return make


@pytest.mark.parametrize(*params("doc, name, payload", _examples(False, False)))
def test_spec_examples_round_trip(doc: str, name: str, payload: Any) -> None:
    assert_round_trip(SCHEMA_TYPES[name], payload)


@pytest.mark.parametrize(*params("doc, name, payload", _examples(True, False)))
def test_spec_examples_round_trip_as_requests(doc: str, name: str, payload: Any) -> None:
    assert_round_trip(REQUEST_TYPES[name], payload)


@pytest.mark.parametrize(*params("doc, name, payload", _examples(False, True)))
def test_every_property_round_trips(doc: str, name: str, payload: Any) -> None:
    parsed = assert_round_trip(SCHEMA_TYPES[name], payload)
    if isinstance(parsed, APIModel):  # python names are accepted too
        by_name = parsed.model_dump(by_alias=False, exclude_unset=True)
        assert type(parsed).model_validate(by_name).to_api() == parsed.to_api()


@pytest.mark.parametrize(*params("doc, name, payload", _examples(True, True)))
def test_every_property_round_trips_as_request(doc: str, name: str, payload: Any) -> None:
    assert_round_trip(REQUEST_TYPES[name], payload)


@pytest.mark.parametrize(*schema_params("doc, name", lambda schema: "example" in schema))
def test_schema_level_examples_round_trip(doc: str, name: str) -> None:
    assert_round_trip(SCHEMA_TYPES[name], spec(doc)["components"]["schemas"][name]["example"])


def response_type(schema: Schema, key: tuple[str, str, str]) -> object:
    """The Python type of an operation's response schema."""
    name = ref_name(schema)
    if name is not None:
        return SCHEMA_TYPES[name]
    if key in INLINE_RESPONSE_TYPES:
        return INLINE_RESPONSE_TYPES[key]
    if schema.get("type") == "string":
        return str
    if schema.get("type") == "array":
        return list[response_type(schema["items"], key)]  # type: ignore[misc]
    if set(schema.get("properties", ())) == {"items", "next"}:
        return ListResponse[response_type(schema["properties"]["items"]["items"], key)]  # type: ignore[misc]
    raise AssertionError(f"no Python type for the inline response schema of {key}")


def _response_examples(doc: str, document: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    builder = ExampleBuilder(document, synthesize=False, omit="writeOnly")
    for method, path, operation in operations(document):
        for status, response in operation.get("responses", {}).items():
            for media_type, media in response.get("content", {}).items():
                schema = media.get("schema", {})
                key = (method, path, status)
                label = f"{method} {path} {status} {media_type}"
                if media_type == "text/plain":
                    continue  # Prometheus metrics, not JSON
                found: list[tuple[str, Any]] = []
                if "example" in media:
                    found.append(("example", media["example"]))
                found += [(k, v["value"]) for k, v in media.get("examples", {}).items()]
                if "$ref" not in schema:
                    built = builder.build(schema)
                    if built is not MISSING:
                        found.append(("schema", built))
                for which, value in found:
                    yield f"{label} {which}", (response_type(schema, key), value)


@pytest.mark.parametrize(*params("doc, python_type, payload", _response_examples))
def test_response_examples_round_trip(doc: str, python_type: object, payload: Any) -> None:
    assert_round_trip(python_type, payload)


def test_every_inline_response_schema_has_a_type() -> None:
    for doc in ("patched", "published"):
        document = spec(doc)
        for method, path, operation in operations(document):
            for status, response in operation.get("responses", {}).items():
                for media in response.get("content", {}).values():
                    assert response_type(media["schema"], (method, path, status)) is not None


@pytest.mark.parametrize("doc", ["patched", "published"])
def test_contradictory_examples_are_known_and_tolerated(doc: str) -> None:
    """An empty string as a date-time leaves the field unset and is sent back as given."""
    if load(doc) is None:
        pytest.skip(f"{doc} document absent")
    assert contradictory_examples(doc) == CONTRADICTORY_EXAMPLES
    cases: list[tuple[type[APIModel], dict[str, Any], str]] = [
        (ProjectLimit, {"id": 3, "vCPUs": 1}, "createdAt"),
        (WorkspaceLimit, {"vCPUs": 1}, "updatedAt"),
    ]
    for model, base, field in cases:
        parsed = model.model_validate({**base, field: ""})
        assert getattr(parsed, "created_at" if field == "createdAt" else "updated_at") is None
        assert parsed.model_extra == {field: ""}
        assert parsed.to_api() == {**base, field: ""}


def test_request_types_are_strict_and_response_types_lenient() -> None:
    for python_type in SCHEMA_TYPES.values():
        if isinstance(python_type, type) and issubclass(python_type, APIModel):
            forbid = issubclass(python_type, RequestModel)
            assert python_type.model_config.get("extra") == ("forbid" if forbid else "allow")
        elif isinstance(python_type, type) and issubclass(python_type, Enum):
            assert issubclass(python_type, OpenEnum)
