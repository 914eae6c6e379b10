"""Storage credentials: what a storage token grants, and one holder per area that renews it.

The storage-token endpoints hand out short-lived S3 credentials (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) with an ``expiration``. ``StorageCredentials``
holds the current grant of one area and region and renews it as the core's ``TokenManager``
renews bearer tokens: before it expires (a margin of 10% of its lifetime, at most 5 minutes)
and once when S3 refuses it, one renewal for all concurrent transfers (a generation counter
tells a stale refusal from a fresh one). ``AWS_ENDPOINT_URL`` in the credentials overrides
the S3 endpoint (the emulator sends it; the service does not).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import anyio
from pydantic import SecretStr

from ...._core.exceptions import UnsupportedStorageError
from ...types import StorageAccessToken
from ._target import TargetArea

__all__ = [
    "S3_KEYS",
    "Grant",
    "S3Credentials",
    "StorageCredentials",
    "StoreLocation",
    "grant_from_token",
]

logger = logging.getLogger("rescale_async")

S3_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
"""The credential keys S3 access needs (``AWS_SESSION_TOKEN`` comes with short-lived ones)."""
ENDPOINT_KEY = "AWS_ENDPOINT_URL"
REGION_KEYS = ("AWS_REGION", "AWS_DEFAULT_REGION")
MAX_RENEWAL_MARGIN = timedelta(minutes=5)
TokenFetcher = Callable[[], Awaitable[StorageAccessToken]]
"""Fetches a new storage token for one area and region."""


@dataclass(frozen=True)
class S3Credentials:
    """An S3 key pair and session token (masked in every repr)."""

    access_key_id: SecretStr
    secret_access_key: SecretStr
    session_token: SecretStr | None = None


@dataclass(frozen=True)
class StoreLocation:
    """Where an area's objects are: ``bucket``, the key ``prefix`` (ending in ``/``), the AWS
    ``region`` to sign for, and the endpoint (None: AWS's own).
    """

    bucket: str
    prefix: str
    region: str
    endpoint_url: str | None = None

    def key(self, relative: str) -> str:
        """The full key of ``relative`` (a key within the area)."""
        return self.prefix + relative

    def relative(self, key: str) -> str:
        """``key`` within the area."""
        return key[len(self.prefix) :] if key.startswith(self.prefix) else key


@dataclass(frozen=True)
class Grant:
    """One storage token's worth of access: where, with what, until when. ``generation``
    counts the renewals of its holder.
    """

    generation: int
    location: StoreLocation
    credentials: S3Credentials = field(repr=False)
    expires_at: datetime | None = None
    renew_at: datetime | None = None

    def fresh(self, now: datetime) -> bool:
        """Whether to use it as it is (not yet within its renewal margin)."""
        return self.renew_at is None or now < self.renew_at


def _aws_region(region: str | None, credentials: Mapping[str, SecretStr]) -> str:
    """The AWS region to sign for: the credentials' ``AWS_REGION``, else the Rescale region's
    (``AWS_US_EAST_2`` -> ``us-east-2``), else ``us-east-1``.
    """
    for name in REGION_KEYS:
        if name in credentials:
            return credentials[name].get_secret_value()
    if region and region.startswith("AWS_"):
        return region[len("AWS_") :].lower().replace("_", "-")
    return "us-east-1"


def _endpoint(value: str, area: TargetArea) -> str:
    """``AWS_ENDPOINT_URL``, checked: https, or http to a loopback host only (a session token
    travels in a header, so it never crosses a network in clear).
    """
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return value.rstrip("/")
    if parts.scheme == "http" and host:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if loopback:
            return value.rstrip("/")
    raise UnsupportedStorageError(
        f"the storage token of {area.describe()} names an S3 endpoint the SDK will not use "
        f"({parts.scheme or 'no scheme'}://{host or '?'}): https, or http to a loopback host only"
    )


def _path_of(token: StorageAccessToken, area: TargetArea) -> tuple[str, str]:
    """The area's bucket and key prefix: the token's ``storagePath`` (task) or
    ``projectSharedStoragePath`` (project), else the service's layout in ``storageName``.
    """
    extra = token.model_extra or {}
    given = token.project_shared_storage_path if area.task_id is None else extra.get("storagePath")
    if isinstance(given, str) and given.startswith("s3://"):
        bucket, _, prefix = given[len("s3://") :].partition("/")
        if bucket:
            return bucket, (prefix.rstrip("/") + "/") if prefix else ""
    if token.storage_name:
        return token.storage_name, area.default_prefix()
    raise UnsupportedStorageError(
        f"the storage token of {area.describe()} names no bucket (no storageName, no s3:// path)"
    )


def grant_from_token(
    token: StorageAccessToken, area: TargetArea, *, generation: int, now: datetime
) -> Grant:
    """What ``token`` grants over ``area``; UnsupportedStorageError when its credentials are
    not S3 ones (the error names the keys it holds, never their values).
    """
    credentials = token.credentials or {}
    if not all(name in credentials for name in S3_KEYS):
        provider = str(token.provider) if token.provider is not None else "an unnamed provider"
        held = ", ".join(sorted(credentials)) or "none"
        raise UnsupportedStorageError(
            f"the storage of {area.describe()} is on {provider}, with credential keys {held}; "
            f"the SDK moves files with S3 credentials ({', '.join(S3_KEYS)}) only"
        )
    bucket, prefix = _path_of(token, area)
    endpoint = credentials.get(ENDPOINT_KEY)
    location = StoreLocation(
        bucket=bucket,
        prefix=prefix,
        region=_aws_region(None if token.region is None else str(token.region), credentials),
        endpoint_url=None if endpoint is None else _endpoint(endpoint.get_secret_value(), area),
    )
    keys = S3Credentials(
        access_key_id=credentials[S3_KEYS[0]],
        secret_access_key=credentials[S3_KEYS[1]],
        session_token=credentials.get("AWS_SESSION_TOKEN"),
    )
    renew_at = None
    if token.expiration is not None:
        lifetime = max(timedelta(0), token.expiration - now)
        renew_at = token.expiration - min(MAX_RENEWAL_MARGIN, lifetime / 10)
    return Grant(generation, location, keys, token.expiration, renew_at)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class StorageCredentials:
    """The current grant of one area and region, renewed one caller at a time."""

    def __init__(
        self, area: TargetArea, fetch: TokenFetcher, *, now: Callable[[], datetime] = _utc_now
    ) -> None:
        self.area = area
        self._fetch = fetch
        self._now = now
        self._lock = anyio.Lock()
        self._held: Grant | None = None
        self._generation = 0

    @property
    def renewals(self) -> int:
        """Tokens fetched so far."""
        return self._generation

    def usable(self, grant: Grant | None) -> bool:
        return grant is not None and grant.fresh(self._now())

    async def current(self) -> Grant:
        """A usable grant, fetching a new token first (once, for all callers) if needed."""
        held = self._held
        if held is not None and self.usable(held):
            return held
        async with self._lock:
            held = self._held
            if held is not None and self.usable(held):
                return held
            return await self._renew()

    async def renew_after_rejection(self, generation: int) -> Grant:
        """S3 refused grant ``generation`` as expired: renew, unless someone already did."""
        async with self._lock:
            held = self._held
            if held is not None and held.generation != generation and self.usable(held):
                return held
            return await self._renew()

    async def _renew(self) -> Grant:
        token = await self._fetch()
        self._generation += 1
        grant = grant_from_token(token, self.area, generation=self._generation, now=self._now())
        self._held = grant
        logger.debug(
            "storage credentials %d for %s, until %s",
            grant.generation,
            self.area.describe(),
            grant.expires_at.isoformat() if grant.expires_at else "no stated expiry",
        )
        return grant
