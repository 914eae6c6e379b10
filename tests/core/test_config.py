"""Credential and base-URL resolution: arguments, then environment, then profile."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from support import API_KEY, make_jwt

from rescale_async import ConfigurationError
from rescale_async._core.auth import CredentialAuth
from rescale_async._core.config import DEFAULT_BASE_URL, apiconfig_path, resolve_settings


def write_profile(text: str, mode: int = 0o600) -> Path:
    path = apiconfig_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_arguments_win_over_environment_and_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", "env-key")
    write_profile("[default]\napikey = profile-key\n")
    settings = resolve_settings(api_key="arg-key")
    assert settings.credentials.api_key is not None
    assert settings.credentials.api_key.get_secret_value() == "arg-key"
    assert settings.credentials.source == "arguments"
    assert settings.base_url == DEFAULT_BASE_URL


def test_environment_wins_over_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", "env-key")
    write_profile("[default]\napikey = profile-key\n")
    creds = resolve_settings().credentials
    assert creds.api_key is not None and creds.api_key.get_secret_value() == "env-key"
    assert creds.source == "environment"


def test_api_token_alias_and_primary_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_TOKEN", "alias-key")
    creds = resolve_settings().credentials
    assert creds.api_key is not None and creds.api_key.get_secret_value() == "alias-key"
    monkeypatch.setenv("RESCALE_API_KEY", "primary-key")
    creds = resolve_settings().credentials
    assert creds.api_key is not None and creds.api_key.get_secret_value() == "primary-key"


def test_job_environment_bearer_and_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    bearer = make_jwt(3600)
    monkeypatch.setenv("RESCALE_HTC_BEARER_TOKEN", bearer)
    monkeypatch.setenv("RESCALE_HTC_REFRESH_TOKEN", "r-SECRET")
    creds = resolve_settings().credentials
    assert creds.bearer_token is not None and creds.bearer_token.get_secret_value() == bearer
    assert creds.refresh_token is not None
    assert CredentialAuth(creds).build_header() == "Refresh r-SECRET"


def test_profile_default_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile(
        "[default]\napikey = d-key\n\n[prod]\napikey = p-key\nhtcbaseurl = https://eu.example/api/v1/\n"
    )
    default = resolve_settings()
    assert CredentialAuth(default.credentials).build_header() == "Token d-key"
    assert default.base_url == DEFAULT_BASE_URL
    named = resolve_settings(profile="prod")
    assert CredentialAuth(named.credentials).build_header() == "Token p-key"
    assert named.base_url == "https://eu.example/api/v1"
    monkeypatch.setenv("RESCALE_PROFILE", "prod")
    assert CredentialAuth(resolve_settings().credentials).build_header() == "Token p-key"


def test_profile_argument_beats_environment_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile("[prod]\napikey = p-key\n")
    monkeypatch.setenv("RESCALE_API_KEY", "env-key")
    assert (
        CredentialAuth(resolve_settings(profile="prod").credentials).build_header() == "Token p-key"
    )


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile("[default]\napikey = k\nhtcbaseurl = https://profile.example/api/v1\n")
    assert resolve_settings().base_url == "https://profile.example/api/v1"
    monkeypatch.setenv("RESCALE_HTC_API_URL", "http://localhost:8700/api/v1")
    assert resolve_settings().base_url == "http://localhost:8700/api/v1"
    assert resolve_settings(base_url="https://arg.example/x/").base_url == "https://arg.example/x"


def test_missing_credentials_names_every_place() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_settings()
    text = str(info.value)
    for place in (
        "api_key=",
        "refresh_token=",
        "bearer_token=",
        "RESCALE_API_KEY",
        "RESCALE_API_TOKEN",
        "RESCALE_HTC_REFRESH_TOKEN",
        "RESCALE_HTC_BEARER_TOKEN",
        "[default]",
        str(apiconfig_path()),
        "file not found",
    ):
        assert place in text


def test_missing_profile_section_is_explained() -> None:
    write_profile("[other]\napikey = k\n")
    with pytest.raises(ConfigurationError, match=r"no \[default\] section \(sections: other\)"):
        resolve_settings()
    write_profile("[default]\nhtcbaseurl = https://x.example\n")
    with pytest.raises(ConfigurationError, match=r"\[default\] has no apikey"):
        resolve_settings()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_key": "two words"}, "argument api_key contains whitespace"),
        ({"bearer_token": "not-a-jwt"}, "argument bearer_token is not a JWT"),
        ({"api_key": "k", "base_url": "ftp://x"}, "not an http\\(s\\) URL"),
        ({"api_key": "k", "base_url": "no scheme"}, "not an http\\(s\\) URL"),
    ],
)
def test_unusable_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_settings(**kwargs)


def test_expired_bearer_without_renewal_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="has expired and nothing can renew it"):
        resolve_settings(bearer_token=make_jwt(-10))
    # With a key to renew it, an expired bearer is fine: it is simply refreshed.
    assert resolve_settings(bearer_token=make_jwt(-10), api_key=API_KEY).credentials.can_renew


def test_bearer_only_cannot_build_renewal_header() -> None:
    creds = resolve_settings(bearer_token=make_jwt(600)).credentials
    with pytest.raises(ConfigurationError, match="cannot be renewed"):
        CredentialAuth(creds).build_header()


def test_unreadable_profile_file() -> None:
    path = write_profile("not an ini file at all")
    with pytest.raises(ConfigurationError, match=f"cannot read {path}"):
        resolve_settings()


def test_world_readable_profile_warns(caplog: pytest.LogCaptureFixture) -> None:
    write_profile("[default]\napikey = k\n", mode=0o644)
    with caplog.at_level(logging.WARNING, logger="rescale_async"):
        resolve_settings()
    assert "readable by other users" in caplog.text
    assert "apikey" not in caplog.text and " k\n" not in caplog.text
