"""Where a platform client's key and base URL come from, and the regional hosts by name.

Arguments, then ``RESCALE_API_KEY`` / ``RESCALE_API_URL``, then a profile of
``~/.config/rescale/apiconfig`` (``apikey``, ``apibaseurl``: the file HTC reads too). A base URL
given as a bare host (``https://eu.rescale.com``, as apiconfig files hold) gets ``/api/v2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._core.config import Settings, SettingsSources, resolve_settings
from .._core.exceptions import ConfigurationError

__all__ = ["PLATFORM_SOURCES", "REGION_HOSTS", "region_base_url", "resolve_platform_settings"]

API_PATH = "/api/v2"

REGION_HOSTS: Mapping[str, str] = MappingProxyType(
    {
        "us": "platform.rescale.com",
        "na": "platform.rescale.com",
        "eu": "eu.rescale.com",
        "kr": "kr.rescale.com",
        "jp": "platform.rescale.jp",
        "itar": "itar.rescale.com",
        "itar-gov": "itar.rescale-gov.com",
    }
)
"""The platform's hosts by region name (an API key works only on its own host)."""

PLATFORM_SOURCES = SettingsSources(
    default_base_url=f"https://{REGION_HOSTS['us']}{API_PATH}",
    base_url_variable="RESCALE_API_URL",
    profile_base_url_key="apibaseurl",
    token_variables=False,
    api_path=API_PATH,
)


def region_base_url(region: str) -> str:
    """The base URL of the region named ``region`` (``"eu"``: ``https://eu.rescale.com/api/v2``)."""
    host = REGION_HOSTS.get(region.strip().lower())
    if host is None:
        known = ", ".join(sorted(REGION_HOSTS))
        raise ConfigurationError(f"unknown region {region!r}; the regions are: {known}")
    return f"https://{host}{API_PATH}"


def resolve_platform_settings(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The key and base URL a PlatformClient uses (``region`` names the base URL)."""
    if region is not None:
        if base_url is not None:
            raise ConfigurationError(
                f"give region= or base_url=, not both (region {region!r} means "
                f"{region_base_url(region)})"
            )
        base_url = region_base_url(region)
    return resolve_settings(
        api_key=api_key,
        base_url=base_url,
        profile=profile,
        environ=environ,
        sources=PLATFORM_SOURCES,
    )
