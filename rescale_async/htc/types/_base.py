"""Base classes every API model derives from: camelCase wire names, open enums."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, SecretStr
from pydantic.alias_generators import to_camel

__all__ = ["APIModel", "ListResponse", "OpenEnum", "RequestModel", "SecretText", "UTCDateTime"]

T = TypeVar("T")


def _assume_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


UTCDateTime = Annotated[datetime, AfterValidator(_assume_utc)]
"""A timezone-aware datetime; a naive timestamp from the wire is taken as UTC."""

SecretText = Annotated[
    SecretStr, PlainSerializer(lambda value: value.get_secret_value(), when_used="json")
]
"""A secret (token, password, credential): masked in reprs and ``str()``, its real value
only in a JSON dump (``to_api()``), where the API needs it."""


class APIModel(BaseModel):
    """A response (or shared) model: snake_case attributes, camelCase on the wire.

    Unknown fields are kept (``model_extra``) so a newer API never loses data.
    """

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


class RequestModel(APIModel):
    """A request body: unknown fields are refused so a typo fails before any request."""

    model_config = ConfigDict(extra="forbid")


class ListResponse(APIModel, Generic[T]):
    """One page of a listing: ``items``, and ``next``, the absolute URL of the next page if any."""

    items: list[T] = Field(default_factory=list)
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
