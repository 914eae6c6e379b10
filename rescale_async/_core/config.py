"""Where credentials and the base URL come from: arguments, then environment, then a profile.

The first of these sources that holds any credential supplies all of them; sources are never
mixed, so an explicit ``api_key=`` is never combined with a token from the environment.
Inside a running HTC job the environment carries a bearer token (used as is until it expires)
and often a refresh token (used to renew it).
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
import jwt
from pydantic import SecretStr

from .exceptions import ConfigurationError

__all__ = ["DEFAULT_BASE_URL", "Credentials", "Settings", "apiconfig_path", "resolve_settings"]

logger = logging.getLogger("rescale_async")

DEFAULT_BASE_URL = "https://htc.rescale.com/api/v1"

ENV_API_KEY = "RESCALE_API_KEY"
ENV_API_KEY_ALIAS = "RESCALE_API_TOKEN"
ENV_REFRESH_TOKEN = "RESCALE_HTC_REFRESH_TOKEN"  # noqa: S105 (a variable name)
ENV_BEARER_TOKEN = "RESCALE_HTC_BEARER_TOKEN"  # noqa: S105
ENV_BASE_URL = "RESCALE_HTC_API_URL"
ENV_PROFILE = "RESCALE_PROFILE"


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

    def renewal_header(self) -> str:
        """The ``Authorization`` value for ``/auth/token`` and ``/auth/whoami``."""
        if self.api_key is not None:
            return f"Token {self.api_key.get_secret_value()}"
        if self.refresh_token is not None:
            return f"Refresh {self.refresh_token.get_secret_value()}"
        raise ConfigurationError(
            f"the credentials from {self.source} hold only a bearer token, which cannot be "
            "renewed; provide an API key (api_key= or RESCALE_API_KEY) or a refresh token"
        )


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
        claims = jwt.decode(token.get_secret_value(), options={"verify_signature": False})
    except jwt.PyJWTError:
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


def _check_url(url: str, where: str) -> str:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            f"the base URL from {where} is not an http(s) URL: {url!r}; "
            f"expected something like {DEFAULT_BASE_URL}"
        )
    return str(parsed).rstrip("/")


def resolve_settings(
    *,
    api_key: str | None = None,
    refresh_token: str | None = None,
    bearer_token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve credentials and base URL, raising ConfigurationError naming every place tried."""
    env = os.environ if environ is None else environ
    path = apiconfig_path()
    looked: list[str] = []

    credentials = _credentials(
        "arguments",
        api_key=api_key,
        refresh_token=refresh_token,
        bearer_token=bearer_token,
        where_each=("argument api_key", "argument refresh_token", "argument bearer_token"),
    )
    looked.append("arguments api_key=, refresh_token=, bearer_token=")

    profile_name = profile
    if credentials is None and profile is None:
        key_var = ENV_API_KEY if env.get(ENV_API_KEY, "").strip() else ENV_API_KEY_ALIAS
        credentials = _credentials(
            "environment",
            api_key=env.get(key_var),
            refresh_token=env.get(ENV_REFRESH_TOKEN),
            bearer_token=env.get(ENV_BEARER_TOKEN),
            where_each=(f"${key_var}", f"${ENV_REFRESH_TOKEN}", f"${ENV_BEARER_TOKEN}"),
        )
        looked.append(
            f"environment variables {ENV_API_KEY}, {ENV_API_KEY_ALIAS}, "
            f"{ENV_REFRESH_TOKEN}, {ENV_BEARER_TOKEN}"
        )
        profile_name = env.get(ENV_PROFILE, "").strip() or None

    profile_name = profile_name or "default"
    section: dict[str, str] | None = None
    if credentials is None or base_url is None:
        section, note = _read_profile(path, profile_name)
        if credentials is None:
            where = f"profile [{profile_name}] of {path}"
            looked.append(f"{where} ({note})")
            if section is not None:
                credentials = _credentials(where, api_key=section.get("apikey"))

    if credentials is None:
        raise ConfigurationError(
            "no Rescale credentials found. Looked at: "
            + "; ".join(looked)
            + f". Pass api_key=..., set {ENV_API_KEY}, or add 'apikey = ...' to the profile."
        )

    if base_url is not None:
        url = _check_url(base_url, "argument base_url")
    elif env.get(ENV_BASE_URL, "").strip():
        url = _check_url(env[ENV_BASE_URL], f"${ENV_BASE_URL}")
    elif section is not None and section.get("htcbaseurl", "").strip():
        url = _check_url(section["htcbaseurl"], f"htcbaseurl of profile [{profile_name}]")
    else:
        url = DEFAULT_BASE_URL
    return Settings(credentials=credentials, base_url=url)
