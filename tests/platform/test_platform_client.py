"""``PlatformClient``: where its key and base URL come from, how it authenticates, its errors."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import respx
from support import VirtualClock, make_jwt

from rescale_async import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    PermissionDeniedError,
    PlatformClient,
    RateLimitError,
)
from rescale_async._core.config import apiconfig_path

KEY = "key-SECRET-from-argument"


@pytest.fixture(autouse=True)
def _no_platform_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESCALE_API_URL", raising=False)


def write_profiles(text: str) -> Path:
    path = apiconfig_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


async def header_sent(c: PlatformClient) -> tuple[str, str]:
    """The URL and Authorization of the client's ``users.me()`` call."""
    with respx.mock(assert_all_called=False) as router:
        route = router.get(url__regex=r".*/users/me/$").respond(json={"email": "me@x"})
        await c.users.me()
        request = route.calls.last.request
    return str(request.url), request.headers["authorization"]


async def test_arguments_come_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", "key-from-env")
    monkeypatch.setenv("RESCALE_API_URL", "https://eu.rescale.com")
    write_profiles("[default]\napikey = key-from-profile\napibaseurl = https://kr.rescale.com\n")
    async with PlatformClient(KEY, base_url="https://platform.rescale.jp") as c:
        assert await header_sent(c) == (
            "https://platform.rescale.jp/api/v2/users/me/",
            f"Token {KEY}",
        )


async def test_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", "key-from-env")
    monkeypatch.setenv("RESCALE_API_URL", "https://eu.rescale.com/")
    write_profiles("[default]\napikey = key-from-profile\napibaseurl = https://kr.rescale.com\n")
    async with PlatformClient() as c:
        assert await header_sent(c) == (
            "https://eu.rescale.com/api/v2/users/me/",
            "Token key-from-env",
        )


async def test_then_the_apiconfig_profile() -> None:
    write_profiles(
        "[default]\napikey = key-default\napibaseurl = https://eu.rescale.com\n"
        "[us]\napikey = key-us\napibaseurl = https://platform.rescale.com/api/v2/\n"
    )
    async with PlatformClient() as c:
        assert await header_sent(c) == (
            "https://eu.rescale.com/api/v2/users/me/",
            "Token key-default",
        )
    async with PlatformClient(profile="us") as c:
        assert await header_sent(c) == (
            "https://platform.rescale.com/api/v2/users/me/",
            "Token key-us",
        )


async def test_the_default_host_is_north_america() -> None:
    async with PlatformClient(KEY) as c:
        assert c.base_url == "https://platform.rescale.com/api/v2"


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us", "platform.rescale.com"),
        ("NA", "platform.rescale.com"),
        ("eu", "eu.rescale.com"),
        ("kr", "kr.rescale.com"),
        ("jp", "platform.rescale.jp"),
        ("itar", "itar.rescale.com"),
        ("itar-gov", "itar.rescale-gov.com"),
    ],
)
async def test_regions_name_their_hosts(
    region: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESCALE_API_URL", "https://eu.rescale.com")  # the argument wins
    async with PlatformClient(KEY, region=region) as c:
        assert c.base_url == f"https://{host}/api/v2"


def test_an_unknown_region_lists_the_known_ones() -> None:
    with pytest.raises(
        ConfigurationError,
        match="unknown region 'mars'; the regions are: eu, itar, itar-gov, jp, kr, na, us",
    ):
        PlatformClient(KEY, region="mars")


def test_region_and_base_url_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="region= or base_url=, not both"):
        PlatformClient(KEY, region="eu", base_url="https://eu.rescale.com")


def test_no_key_anywhere_names_every_place_looked_at() -> None:
    with pytest.raises(ConfigurationError) as err:
        PlatformClient()
    message = str(err.value)
    assert "argument api_key=" in message and "RESCALE_API_KEY" in message
    assert "RESCALE_HTC_REFRESH_TOKEN" not in message  # HTC's tokens are not the platform's
    assert "profile [default]" in message


def test_a_bad_base_url_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"expected something like https://platform\.rescale\.com/api/v2"
    ):
        PlatformClient(KEY, base_url="platform.rescale.com")


async def test_a_jwt_shaped_key_is_sent_as_bearer() -> None:
    token = make_jwt()
    async with PlatformClient(token, base_url="https://p.test") as c:
        assert await header_sent(c) == ("https://p.test/api/v2/users/me/", f"Bearer {token}")
    async with PlatformClient("eyNot.a-jwt", base_url="https://p.test") as c:  # two parts
        assert (await header_sent(c))[1] == "Token eyNot.a-jwt"


async def test_the_key_never_shows_in_reprs_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="rescale_async")
    clock = VirtualClock()
    c = PlatformClient(
        KEY, base_url="https://p.test", rate_limits=None, max_retries=1, sleep=clock.sleep
    )
    with respx.mock() as router:
        router.get("https://p.test/api/v2/users/me/").mock(
            side_effect=[
                httpx.Response(503),
                httpx.Response(401, json={"detail": "Invalid token."}),
            ]
        )
        with pytest.raises(AuthenticationError) as err:
            await c.users.me()
    await c.aclose()
    assert str(err.value) == "GET /api/v2/users/me/ -> 401: Invalid token."
    seen = [repr(c), str(err.value), repr(err.value), caplog.text, repr(c.options)]
    assert caplog.text  # the retry was logged
    assert all(KEY not in text for text in seen)


async def test_with_options_shares_pool_and_limits_but_not_options() -> None:
    async with PlatformClient(KEY, base_url="https://p.test") as c:
        view = c.with_options(max_retries=0, timeout=5)
        assert view.options.max_retries == 0 and c.options.max_retries == 3
        assert view.jobs is not c.jobs and view.base_url == c.base_url
        assert view.options.rate_scopes == c.options.rate_scopes
        await view.aclose()
        assert c.is_closed


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            403,
            {"detail": "You do not have permission."},
            PermissionDeniedError,
            "You do not have permission.",
        ),
        (
            400,
            {"name": ["This field is required."]},
            BadRequestError,
            "name: This field is required.",
        ),
        (
            400,
            {
                "jobanalyses": [
                    {"hardware": {"coresPerSlot": ["Invalid core count 1 for granite."]}}
                ]
            },
            BadRequestError,
            "jobanalyses[0].hardware.coresPerSlot: Invalid core count 1 for granite.",
        ),
        (
            400,
            {
                "jobanalyses": [{}, {"command": ["Required.", "Too short."]}],
                "non_field_errors": ["Bad job."],
            },
            BadRequestError,
            "jobanalyses[1].command: Required. Too short.; Bad job.",
        ),
        (
            400,
            ["Job is not in a state to be submitted."],
            BadRequestError,
            "Job is not in a state to be submitted.",
        ),
        (
            429,
            {"detail": "Request was throttled. Expected available in 3600 seconds."},
            RateLimitError,
            "Request was throttled. Expected available in 3600 seconds.",
        ),
    ],
)
async def test_drf_error_bodies_name_the_field_path(
    status: int, body: object, error: type[Exception], message: str
) -> None:
    async with PlatformClient(KEY, base_url="https://p.test", rate_limits=None) as c:
        with respx.mock() as router:
            router.post("https://p.test/api/v2/jobs/").respond(
                status, json=body, headers={"Retry-After": "3600"}
            )
            with pytest.raises(error) as err:
                await c.jobs.create(
                    {
                        "name": "n",
                        "jobanalyses": [
                            {
                                "analysis": {"code": "c", "version": "v"},
                                "command": "run",
                                "hardware": {"coreType": "granite", "coresPerSlot": 1},
                            }
                        ],
                    },
                    check_coretypes=False,
                )
    assert str(err.value) == f"POST /api/v2/jobs/ -> {status}: {message}"
