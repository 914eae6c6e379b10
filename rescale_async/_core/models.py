"""Base classes every API model derives from: camelCase wire names, open enums.

Shared by the API packages: HTC's and the platform API's models derive from these.

Responses are parsed tolerantly: only a model's required (identifying) fields must be present
and well-formed; a descriptive field that is missing, null or of an unexpected type is left
unset, its value kept as given. Requests are validated strictly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime, timezone
from enum import Enum, IntEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainSerializer,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from typing_extensions import Self

__all__ = [
    "APIModel",
    "ListResponse",
    "OpenEnum",
    "OpenIntEnum",
    "RequestModel",
    "SecretText",
    "UTCDateTime",
    "check_strictly",
]

T = TypeVar("T")

_logger = logging.getLogger("rescale_async")

_inside_request: ContextVar[bool] = ContextVar("rescale_async_inside_request", default=False)
"""True while a request model is being validated: nested models then set nothing aside."""

_ZONE_ID_SUFFIX = re.compile(r"(?<=[\dZ])\[[\w/+-]+\]\Z")


def _drop_zone_id(value: object) -> object:
    """``2024-05-06T07:08:09Z[UTC]`` (Java's ZonedDateTime) -> ``2024-05-06T07:08:09Z``."""
    return _ZONE_ID_SUFFIX.sub("", value) if isinstance(value, str) else value


def _assume_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


UTCDateTime = Annotated[datetime, BeforeValidator(_drop_zone_id), AfterValidator(_assume_utc)]
"""A timezone-aware datetime: ISO 8601 (``T`` or space, any fraction, with or without an
offset or a Java zone id such as ``[UTC]``) or Unix seconds/milliseconds; naive means UTC."""

SecretText = Annotated[
    SecretStr, PlainSerializer(lambda value: value.get_secret_value(), when_used="json")
]
"""A secret (token, password, credential): masked in reprs and ``str()``, its real value
only in a JSON dump (``to_api()``), where the API needs it."""


class APIModel(BaseModel):
    """A response (or shared) model: snake_case attributes, camelCase on the wire.

    Unknown fields are kept (``model_extra``) so a newer API never loses data. Required fields
    are the identifying ones; any other field whose value does not fit is left unset and its
    value kept in ``model_extra`` under its wire name, so ``to_api()`` still sends it back.
    Inside a request nothing is set aside, and neither are ``_strict_fields``.
    """

    _strict_fields: ClassVar[frozenset[str]] = frozenset()

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON-ready dict the API expects (camelCase, unset fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @model_validator(mode="wrap")
    @classmethod
    def _tolerate_misfits(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Parse ``data``; descriptive fields that do not fit are set aside rather than fatal."""
        try:
            return handler(data)
        except ValidationError as exc:
            tolerant = isinstance(data, dict) and not _inside_request.get()
            misfits = _misfit_keys(cls, exc) if tolerant else None
            if not misfits:
                raise
        model = handler({key: value for key, value in data.items() if key not in misfits})
        if model.__pydantic_extra__ is not None:
            model.__pydantic_extra__.update({key: data[key] for key in misfits})
        _logger.debug("%s: kept %s as given (unexpected values)", cls.__name__, sorted(misfits))
        return model


def _misfit_keys(model: type[APIModel], exc: ValidationError) -> set[str] | None:
    """The input keys of the descriptive fields that failed, or None when a failure is fatal:
    a missing (identifying) field anywhere, or a bad required or strict field.
    """
    tolerable = _tolerable_keys(model)
    keys: set[str] = set()
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        location = error["loc"]
        if error["type"] == "missing" or not location or location[0] not in tolerable:
            return None
        keys.add(str(location[0]))
    return keys


@cache
def _tolerable_keys(model: type[APIModel]) -> frozenset[object]:
    """The wire and Python names of ``model``'s optional, non-structural fields."""
    keys: set[object] = set()
    for name, field in model.model_fields.items():
        if not field.is_required() and name not in model._strict_fields:
            keys.update({name, field.alias or name})
    return frozenset(keys)


class RequestModel(APIModel):
    """A request body: unknown fields are refused so a typo fails before any request."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _tolerate_misfits(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Requests tolerate nothing: the models nested in one are validated strictly too."""
        token = _inside_request.set(True)
        try:
            return handler(data)
        finally:
            _inside_request.reset(token)


def _null_as_empty(value: object) -> object:
    """A null ``items`` holds no item: an empty page, not a failure."""
    return [] if value is None else value


class ListResponse(APIModel, Generic[T]):
    """One page of a listing: ``items``, and ``next``, the absolute URL of the next page if any."""

    _strict_fields: ClassVar[frozenset[str]] = frozenset({"items", "next"})

    items: Annotated[list[T], BeforeValidator(_null_as_empty)] = Field(default_factory=list)
    next: str | None = None


class OpenEnum(str, Enum):
    """A string enum that accepts values it does not know: the API adds values over time.

    An unknown value becomes a pseudo-member whose ``name`` and ``value`` are the string.
    """

    @classmethod
    def _missing_(cls, value: object) -> OpenEnum | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)


def check_strictly(
    spec_type: type[RequestModel], items: object, field: str
) -> Sequence[object] | object:
    """Validate each of ``items`` (dicts or models) as the strict ``spec_type``, so a nested
    value of a request is refused with its index (``envs[1].value: Field required``).
    """
    if not isinstance(items, Sequence) or isinstance(items, str):
        return items
    adapter = _strict_adapter(spec_type)
    for index, item in enumerate(items):
        raw = item.to_api() if isinstance(item, APIModel) else item
        try:
            adapter.validate_python(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}[{index}].{'.'.join(map(str, error['loc']))}: {error['msg']}"
                for error in exc.errors(include_url=False)
            )
            raise ValueError(problems) from None
    return items


@cache
def _strict_adapter(spec_type: type[RequestModel]) -> TypeAdapter[RequestModel]:
    return TypeAdapter(spec_type)


class OpenIntEnum(IntEnum):
    """An integer enum that accepts values it does not know (a pseudo-member named
    ``VALUE_<n>``), as ``OpenEnum`` does for strings.
    """

    @classmethod
    def _missing_(cls, value: object) -> OpenIntEnum | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"VALUE_{value}"
        member._value_ = value
        return member
