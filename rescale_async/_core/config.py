"""Where credentials and the base URL come from: arguments, then environment, then a profile.

The first of these sources that holds any credential supplies all of them; sources are never
mixed, so an explicit ``api_key=`` is never combined with a token from the environment.
Inside a running HTC job the environment carries a bearer token (used as is until it expires)
and often a refresh token (used to renew it). Each API names its own base-URL variable and
profile key (``SettingsSources``): ``RESCALE_HTC_API_URL``/``htcbaseurl`` for HTC,
``RESCALE_API_URL``/``apibaseurl`` for the platform API.
"""

from __future__ import annotations

import configparser
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from .claims import unverified_claims
from .exceptions import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "HTC_SOURCES",
    "Credentials",
    "Settings",
    "SettingsSources",
    "apiconfig_path",
    "resolve_settings",
]

logger = logging.getLogger("rescale_async")

DEFAULT_BASE_URL = "https://htc.rescale.com/api/v1"

ENV_API_KEY = "RESCALE_API_KEY"
ENV_API_KEY_ALIAS = "RESCALE_API_TOKEN"
ENV_REFRESH_TOKEN = "RESCALE_HTC_REFRESH_TOKEN"  # noqa: S105 (a variable name)
ENV_BEARER_TOKEN = "RESCALE_HTC_BEARER_TOKEN"  # noqa: S105
ENV_BASE_URL = "RESCALE_HTC_API_URL"
ENV_PROFILE = "RESCALE_PROFILE"


@dataclass(frozen=True)
class SettingsSources:
    """Where one API's settings are looked for, beside the API key's own places."""

    default_base_url: str
    """The base URL when no argument, variable or profile gives one."""
    base_url_variable: str
    """The environment variable holding a base URL."""
    profile_base_url_key: str
    """The apiconfig profile key holding a base URL."""
    token_variables: bool = True
    """Whether refresh and bearer tokens are read (arguments and environment): HTC only."""
    api_path: str = ""
    """The path added to a base URL given as a bare host (``/api/v2``: the apiconfig file's
    ``apibaseurl = https://eu.rescale.com``)."""

    @property
    def looked_in_arguments(self) -> str:
        if self.token_variables:
            return "arguments api_key=, refresh_token=, bearer_token="
        return "argument api_key="

    @property
    def looked_in_environment(self) -> str:
        names = [ENV_API_KEY, ENV_API_KEY_ALIAS]
        if self.token_variables:
            names += [ENV_REFRESH_TOKEN, ENV_BEARER_TOKEN]
        return "environment variables " + ", ".join(names)


HTC_SOURCES = SettingsSources(DEFAULT_BASE_URL, ENV_BASE_URL, "htcbaseurl")


def apiconfig_path() -> Path:
    """``~/.config/rescale/apiconfig``, the INI file shared with Rescale's other tools."""
    return Path.home() / ".config" / "rescale" / "apiconfig"


@dataclass(frozen=True)
class Credentials:
    """What the client authenticates with. ``source`` says where it came from (no secret)."""

    source: str
    api_key: SecretStr | None = None
    refresh_token: SecretStr | None = None
    bearer_token: SecretStr | None = None

    @property
    def can_renew(self) -> bool:
        """Whether a new bearer token can be obtained (an API key or a refresh token is set)."""
        return self.api_key is not None or self.refresh_token is not None


@dataclass(frozen=True)
class Settings:
    """Resolved client settings."""

    credentials: Credentials
    base_url: str


def _secret(value: str | None, where: str) -> SecretStr | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if any(ch.isspace() for ch in value) or not value.isprintable():
        raise ConfigurationError(
            f"the credential in {where} contains whitespace or control characters; "
            "copy it again without spaces or line breaks"
        )
    return SecretStr(value)


def _check_bearer(token: SecretStr, where: str, *, renewable: bool) -> None:
    try:
        claims = unverified_claims(token.get_secret_value())
    except ValueError:
        raise ConfigurationError(
            f"the bearer token in {where} is not a JWT; pass the token value exactly as "
            "issued by GET /auth/token"
        ) from None
    expires = claims.get("exp")
    if not renewable and isinstance(expires, int | float) and expires <= time.time():
        raise ConfigurationError(
            f"the bearer token in {where} has expired and nothing can renew it; also provide "
            f"an API key ({ENV_API_KEY}) or a refresh token ({ENV_REFRESH_TOKEN})"
        )


def _credentials(
    where: str,
    *,
    api_key: str | None = None,
    refresh_token: str | None = None,
    bearer_token: str | None = None,
    where_each: tuple[str, str, str] | None = None,
) -> Credentials | None:
    places = where_each or (where, where, where)
    key = _secret(api_key, places[0])
    refresh = _secret(refresh_token, places[1])
    bearer = _secret(bearer_token, places[2])
    if key is None and refresh is None and bearer is None:
        return None
    if bearer is not None:
        _check_bearer(bearer, places[2], renewable=key is not None or refresh is not None)
    return Credentials(where, api_key=key, refresh_token=refresh, bearer_token=bearer)


def _read_profile(path: Path, profile: str) -> tuple[dict[str, str] | None, str]:
    """The profile's keys (None when absent) and a note on what was found, for messages."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        return None, "file not found"
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigurationError(
            f"cannot read {path}: {type(exc).__name__}; fix or remove the file"
        ) from None
    if path.stat().st_mode & 0o077:
        logger.warning("%s is readable by other users; run: chmod 600 %s", path, path)
    if not parser.has_section(profile):
        sections = ", ".join(parser.sections()) or "none"
        return None, f"no [{profile}] section (sections: {sections})"
    return dict(parser.items(profile)), f"[{profile}] has no apikey"


def _check_url(url: str, where: str, sources: SettingsSources = HTC_SOURCES) -> str:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            f"the base URL from {where} is not an http(s) URL: {url!r}; "
            f"expected something like {sources.default_base_url}"
        )
    if sources.api_path and parsed.path in ("", "/"):
        parsed = parsed.copy_with(path=sources.api_path)
    return str(parsed).rstrip("/")


def _from_arguments(
    api_key: str | None, refresh_token: str | None, bearer_token: str | None
) -> Credentials | None:
    """Credentials passed as arguments, or None when none was."""
    return _credentials(
        "arguments",
        api_key=api_key,
        refresh_token=refresh_token,
        bearer_token=bearer_token,
        where_each=("argument api_key", "argument refresh_token", "argument bearer_token"),
    )


def _from_environment(env: Mapping[str, str], *, tokens: bool = True) -> Credentials | None:
    """Credentials in environment variables (``RESCALE_API_KEY`` before its alias), or None;
    the token variables too when ``tokens``.
    """
    key_var = ENV_API_KEY if env.get(ENV_API_KEY, "").strip() else ENV_API_KEY_ALIAS
    return _credentials(
        "environment",
        api_key=env.get(key_var),
        refresh_token=env.get(ENV_REFRESH_TOKEN) if tokens else None,
        bearer_token=env.get(ENV_BEARER_TOKEN) if tokens else None,
        where_each=(f"${key_var}", f"${ENV_REFRESH_TOKEN}", f"${ENV_BEARER_TOKEN}"),
    )


def _from_profile(section: Mapping[str, str] | None, where: str) -> Credentials | None:
    """The API key of a profile section (None when the section is absent or has none)."""
    if section is None:
        return None
    return _credentials(where, api_key=section.get("apikey"))


def _no_credentials(looked: list[str]) -> ConfigurationError:
    """The error for no credentials anywhere, listing every place looked at."""
    return ConfigurationError(
        "no Rescale credentials found. Looked at: "
        + "; ".join(looked)
        + f". Pass api_key=..., set {ENV_API_KEY}, or add 'apikey = ...' to the profile."
    )


def _base_url(
    argument: str | None,
    env: Mapping[str, str],
    section: Mapping[str, str] | None,
    name: str,
    sources: SettingsSources = HTC_SOURCES,
) -> str:
    """The base URL: the argument, else the environment, else the profile, else the default."""
    if argument is not None:
        return _check_url(argument, "argument base_url", sources)
    variable, key = sources.base_url_variable, sources.profile_base_url_key
    if env.get(variable, "").strip():
        return _check_url(env[variable], f"${variable}", sources)
    if section is not None and section.get(key, "").strip():
        return _check_url(section[key], f"{key} of profile [{name}]", sources)
    return sources.default_base_url


def resolve_settings(
    *,
    api_key: str | None = None,
    refresh_token: str | None = None,
    bearer_token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    sources: SettingsSources = HTC_SOURCES,
) -> Settings:
    """Resolve credentials and base URL, raising ConfigurationError naming every place tried.
    ``sources`` names the API's own base-URL variable, profile key and default.
    """
    env = os.environ if environ is None else environ
    path = apiconfig_path()
    credentials = _from_arguments(api_key, refresh_token, bearer_token)
    looked = [sources.looked_in_arguments]
    if credentials is None and profile is None:  # an explicit profile= skips the environment
        credentials = _from_environment(env, tokens=sources.token_variables)
        looked.append(sources.looked_in_environment)
        profile = env.get(ENV_PROFILE, "").strip() or None
    name = profile or "default"
    needed = credentials is None or base_url is None  # the profile supplies what is missing
    section, note = _read_profile(path, name) if needed else (None, "")
    if credentials is None:
        where = f"profile [{name}] of {path}"
        looked.append(f"{where} ({note})")
        credentials = _from_profile(section, where)
    if credentials is None:
        raise _no_credentials(looked)
    return Settings(
        credentials=credentials, base_url=_base_url(base_url, env, section, name, sources)
    )
