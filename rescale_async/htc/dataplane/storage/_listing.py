"""Listing an area's objects, finding what a key or prefix names, deleting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...._core.exceptions import StorageError
from ._engine import S3Session
from ._models import StoredObject
from ._verify import strip_etag

__all__ = ["DELETE_BATCH", "Page", "delete_keys", "list_page", "named_objects"]

DELETE_BATCH = 1000
"""Keys one DeleteObjects request takes at most (S3's limit)."""


@dataclass(frozen=True)
class Page:
    """Objects of one listing page, and the token of the next page (None: the last)."""

    objects: tuple[StoredObject, ...]
    next_token: str | None


def _stored(entry: dict[str, Any], prefix: str) -> StoredObject:
    key = str(entry["Key"])
    modified = entry.get("LastModified")
    return StoredObject(
        key=key[len(prefix) :] if key.startswith(prefix) else key,
        size=int(entry.get("Size", 0)),
        modified=modified if isinstance(modified, datetime) else None,
        checksum=strip_etag(entry.get("ETag")),
    )


async def list_page(s3: S3Session, prefix: str, token: str | None) -> Page:
    """One page (up to 1,000 objects) of the area's objects whose keys start with ``prefix``."""
    location = await s3.location()
    params: dict[str, Any] = {"Prefix": location.key(prefix), "MaxKeys": 1000}
    if token is not None:
        params["ContinuationToken"] = token
    answer = await s3.call("list_objects_v2", **params)
    objects = tuple(_stored(entry, location.prefix) for entry in answer.get("Contents") or ())
    following = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
    return Page(objects, None if following is None else str(following))


def _named(key_or_prefix: str, stored: StoredObject) -> bool:
    """Whether ``stored`` is the object ``key_or_prefix`` names or one under it as a folder."""
    if not key_or_prefix or key_or_prefix.endswith("/"):
        return stored.key.startswith(key_or_prefix)
    return stored.key == key_or_prefix or stored.key.startswith(key_or_prefix + "/")


async def named_objects(s3: S3Session, key_or_prefix: str) -> list[StoredObject]:
    """The object named ``key_or_prefix``, or every object under it taken as a folder
    (``results`` means ``results`` and ``results/...``, never ``results2``); all objects of
    the area for ``""``.
    """
    found: list[StoredObject] = []
    token: str | None = None
    while True:
        page = await list_page(s3, key_or_prefix, token)
        found.extend(stored for stored in page.objects if _named(key_or_prefix, stored))
        if page.next_token is None:
            return found
        token = page.next_token


async def delete_keys(s3: S3Session, keys: Sequence[str]) -> int:
    """Delete ``keys`` (within the area), 1,000 per request; how many were deleted."""
    location = await s3.location()
    deleted = 0
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start : start + DELETE_BATCH]
        answer = await s3.call(
            "delete_objects",
            Delete={"Objects": [{"Key": location.key(key)} for key in batch], "Quiet": True},
        )
        errors = answer.get("Errors") or []
        if errors:
            first = errors[0]
            raise StorageError(
                f"{len(errors)} of {len(batch)} objects were not deleted from {s3.area_name}; "
                f"{location.relative(str(first.get('Key')))!r}: {first.get('Code')} "
                f"{first.get('Message') or ''}".rstrip(),
                code=first.get("Code"),
                key=location.relative(str(first.get("Key"))),
            )
        deleted += len(batch)
    return deleted
