"""The HTC OpenAPI documents for the model tests, and example payloads built from them.

The documents live outside the repository, in ``<repo>/../shared/api``. When they are absent,
every test that needs them is skipped with a reason saying where they were looked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark import ParameterSet
from pydantic import TypeAdapter, ValidationError

from rescale_async.htc.types import UTCDateTime

SPEC_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "api"
DOCUMENTS = {"patched": "htc-openapi-patched.json", "published": "htc-openapi.json"}

Schema = dict[str, Any]

# The identifying fields of each response schema: the ids later calls need (a project's, a
# task's two, a job's, a submission's parent job id, a limit's) and the bearer token itself.
# A response model requires these and nothing else; the spec marks none of them required.
IDENTIFYING: dict[str, set[str]] = {
    "HTCJob": {"jobUUID"},
    "HTCJobSubmitRequest": {"parentJobId"},
    "HTCProject": {"projectId"},
    "HTCProjectLimit": {"id"},
    "HTCTask": {"projectId", "taskId"},
    "HTCToken": {"tokenValue"},
}

# Fields an example must carry beyond the spec's required ones.
EXTRA_REQUIRED: dict[str, set[str]] = IDENTIFYING

# Declared fields beyond the spec's: the RFC 7517 members the JWKS endpoint really sends, and
# the whole status event behind the patched document's one-property HTCJobStatusEvent fragment.
EXTRA_FIELDS: dict[str, set[str] | None] = {
    "JsonWebKey": {"kty", "kid", "alg", "n", "e", "crv", "x", "y"},
    "HTCJobStatusEvent": None,  # any
}

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
"""No example could be built."""


def _path(doc: str) -> Path:
    return (SPEC_DIR / DOCUMENTS[doc]).resolve()


@cache
def load(doc: str) -> dict[str, Any] | None:
    """The parsed document, or None when its file is absent."""
    path = _path(doc)
    if not path.is_file():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _absent(doc: str) -> str:
    return f"HTC OpenAPI document not found at {_path(doc)} (expected in <repo>/../shared/api)"


def spec(doc: str = "patched") -> dict[str, Any]:
    """The document, or skip the calling test when it is absent."""
    document = load(doc)
    if document is None:
        pytest.skip(_absent(doc))
    return document


def schemas(doc: str) -> dict[str, Schema]:
    result: dict[str, Schema] = spec(doc)["components"]["schemas"]
    return result


Cases = Callable[[str, dict[str, Any]], Iterable[tuple[str, tuple[Any, ...]]]]
Parametrize = tuple[str, list[ParameterSet]]


def params(
    argnames: str, make: Cases, docs: tuple[str, ...] = ("patched", "published")
) -> Parametrize:
    """Arguments for ``pytest.mark.parametrize(*params(...))``: ``argnames`` (the first is
    ``doc``) and a case for each ``(id, values)`` of ``make(doc, document)`` for each document.
    A document that is absent gives one skipped case saying where it was looked for.
    """
    width = len(argnames.split(","))
    cases: list[ParameterSet] = []
    for doc in docs:
        document = load(doc)
        if document is None:
            skip = pytest.mark.skip(reason=_absent(doc))
            cases.append(pytest.param(doc, *[None] * (width - 1), marks=skip, id=doc))
            continue
        for case_id, values in make(doc, document):
            cases.append(pytest.param(doc, *values, id=f"{doc}-{case_id}"))
    return argnames, cases


def schema_params(
    argnames: str,
    where: Callable[[Schema], bool] = lambda schema: True,
    docs: tuple[str, ...] = ("patched", "published"),
) -> Parametrize:
    """Cases ``(doc, schema_name)`` for every schema of each document that satisfies ``where``."""

    def make(doc: str, document: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        for name, schema in document["components"]["schemas"].items():
            if where(schema):
                yield name, (name,)

    return params(argnames, make, docs)


def is_object(schema: Schema) -> bool:
    return "properties" in schema


def ref_name(schema: Schema) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def merged(document: dict[str, Any], schema: Schema) -> Schema:
    """``schema`` with ``$ref`` and ``allOf`` folded in; its own keys win (e.g. ``example``)."""
    name = ref_name(schema)
    if name is not None:
        return merged(document, document["components"]["schemas"][name])
    if "allOf" not in schema:
        return schema
    result: Schema = {}
    for part in schema["allOf"]:
        result.update(merged(document, part))
    result.update({k: v for k, v in schema.items() if k != "allOf"})
    return result


_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
_datetime = TypeAdapter(UTCDateTime)


def example_contradicts_format(schema: Schema) -> bool:
    """The schema's own example is not of its declared format (e.g. ``""`` as a date-time)."""
    if "example" not in schema or schema.get("format") != "date-time":
        return False
    try:
        _datetime.validate_python(schema["example"])
    except ValidationError:
        return True
    return False


def contradictory_examples(doc: str) -> set[tuple[str, str]]:
    """``(schema, property)`` pairs whose example contradicts the property's format."""
    document = spec(doc)
    return {
        (name, prop)
        for name, schema in schemas(doc).items()
        for prop, sub in schema.get("properties", {}).items()
        if example_contradicts_format(merged(document, sub))
    }


class ExampleBuilder:
    """Builds a payload for a schema from the document.

    With ``synthesize=False`` only the document's own examples are used (plus values for the
    properties that must be present); with ``synthesize=True`` every property gets a value,
    its example when it has a valid one, else one made from its type. Properties flagged
    ``omit`` (``"readOnly"`` for request bodies, ``"writeOnly"`` for responses) are left out.
    """

    def __init__(
        self,
        document: dict[str, Any],
        *,
        synthesize: bool,
        omit: str,
        extra_required: dict[str, set[str]] | None = None,
    ) -> None:
        self.document = document
        self.synthesize = synthesize
        self.omit = omit
        self.extra_required = extra_required or {}

    def build(self, schema: Schema, *, synthesize: bool | None = None) -> Any:
        synth = self.synthesize if synthesize is None else synthesize
        name = ref_name(schema)
        full = merged(self.document, schema)
        if "example" in full and not example_contradicts_format(full):
            return full["example"]
        if full.get("type") == "object" or "properties" in full:
            return self._object(full, name, synth)
        if "enum" in full:
            return full["enum"][0] if synth else MISSING
        if full.get("type") == "array":
            item = self.build(full["items"], synthesize=synth)
            return MISSING if item is MISSING else [item]
        return self._scalar(full) if synth else MISSING

    def _object(self, full: Schema, name: str | None, synth: bool) -> Any:
        if "properties" not in full:
            extra = full.get("additionalProperties")
            if not synth or extra is None:
                return MISSING
            value = self.build(extra, synthesize=True) if extra else "text"
            return {"key": value}
        required = set(full.get("required", ())) | self.extra_required.get(name or "", set())
        result: dict[str, Any] = {}
        for prop, sub in full["properties"].items():
            if merged(self.document, sub).get(self.omit):
                continue
            value = self.build(sub, synthesize=synth)
            if value is MISSING and prop in required:
                value = self.build(sub, synthesize=True)
            if value is not MISSING:
                result[prop] = value
        return result if result or synth else MISSING

    @staticmethod
    def _scalar(full: Schema) -> Any:
        kind, fmt = full.get("type"), full.get("format")
        if kind == "string":
            return {
                "date-time": "2024-05-06T07:08:09.123Z",
                "uri": "https://htc.example.com/api/v1/next",
                "binary": "AQAB",
            }.get(fmt or "", "text")
        if kind == "integer":
            low, high = full.get("minimum"), full.get("maximum")
            return low if low is not None else high if high is not None else 7
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        return None  # untyped, e.g. ``{"nullable": true}``


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, Schema]]:
    """``(method, path, operation)`` for every operation of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield method, path, operation


def normalized(value: Any) -> Any:
    """JSON made comparable: ISO timestamps become datetimes, integral floats ints."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        parsed: datetime = _datetime.validate_python(value)
        return parsed
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
