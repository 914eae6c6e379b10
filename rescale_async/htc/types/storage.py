"""Storage: temporary cloud credentials, presigned upload URLs and regional stores."""

from __future__ import annotations

from ._base import APIModel, SecretText, UTCDateTime
from .enums import CloudProvider, Region

__all__ = [
    "PresignedPutUrl",
    "RegionStorageOption",
    "RegionalStorage",
    "RegionalStore",
    "StorageAccessToken",
    "StorageAccessTokens",
]


class StorageAccessToken(APIModel):
    """Temporary credentials for a project's (or task's) storage in one region (StorageAccessToken).

    ``credentials`` holds provider-specific variables, e.g. ``AWS_ACCESS_KEY_ID``.
    """

    provider: CloudProvider | None = None
    region: Region | None = None
    storage_name: str | None = None
    project_id: str | None = None
    project_shared_storage_path: str | None = None
    user: str | None = None
    credentials: dict[str, SecretText] | None = None
    expiration: UTCDateTime | None = None


class StorageAccessTokens(APIModel):
    """Storage credentials for every region, and the default region (StorageAccessTokens)."""

    default_region: Region | None = None
    region_stores: list[StorageAccessToken] | None = None


class PresignedPutUrl(APIModel):
    """A presigned URL to upload one file (PresignedPutUrlResponse).

    The spec describes ``url`` as a serialised ``java.net.URL`` object; it is sent as a string.
    """

    url: str | None = None
    storage_name: str | None = None
    region: Region | None = None
    expiration: UTCDateTime | None = None


class RegionStorageOption(APIModel):
    """A storage location available in a region (RegionStorageOption)."""

    provider: CloudProvider | None = None
    region: Region | None = None
    storage_name: str | None = None


class RegionalStore(APIModel):
    """A task's storage paths and credentials in one region (RegionalStore)."""

    provider: CloudProvider | None = None
    region: Region | None = None
    project_path: str | None = None
    task_path: str | None = None
    credentials: dict[str, SecretText] | None = None


class RegionalStorage(APIModel):
    """A task's stores in every region, seen from ``rescale_region`` (RegionalStorageResponse)."""

    rescale_region: Region | None = None
    regional_stores: list[RegionalStore] | None = None
