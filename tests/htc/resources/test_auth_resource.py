"""``client.auth``: fresh tokens, whoami, OAuth2 client tokens, the JWKS; what each call sends."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr
from resource_support import api, example
from support import API_KEY, TokenEndpoint, client, jwks, make_jwt, mock_api

from rescale_async import ConfigurationError, HTCClient
from rescale_async.htc.types import AuthToken, OAuth2Token, WhoAmI

Call = Callable[[HTCClient], Awaitable[object]]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_token_is_a_fresh_token_apart_from_the_managed_one() -> None:
    tokens = TokenEndpoint()
    async with api() as (router, c):
        route = router.get("/auth/token").mock(side_effect=tokens)
        fresh = await c.auth.token()
        managed = await c.auth.bearer_token()
    assert [call.request.headers["Authorization"] for call in route.calls] == [
        f"Token {API_KEY}"
    ] * 2
    assert isinstance(fresh, AuthToken)
    assert (fresh.token_value.get_secret_value(), fresh.expires_in) == (tokens.issued[0], 21600)
    assert managed.value.get_secret_value() == tokens.issued[1]


async def test_token_and_user_take_the_refresh_token_header() -> None:
    with mock_api() as router:
        token = router.get("/auth/token").mock(side_effect=TokenEndpoint())
        whoami = router.get("/auth/whoami").respond(json=example("WhoAmI", full=True))
        async with client(api_key=None, refresh_token="r-SECRET") as c:
            await c.auth.token()
            await c.auth.user()
    for route in (token, whoami):
        assert route.calls.last.request.headers["Authorization"] == "Refresh r-SECRET"


async def test_user() -> None:
    body = example("WhoAmI", full=True)
    async with api() as (router, c):
        route = router.get("/auth/whoami").respond(json=body)
        me = await c.auth.user()
        assert [call.request.url.path for call in router.calls] == ["/api/v1/auth/whoami"]
    request = route.calls.last.request
    assert (request.method, request.url.query) == ("GET", b"")
    assert request.headers["Authorization"] == f"Token {API_KEY}"
    assert me == WhoAmI.model_validate(body)
    assert me.user is not None
    assert me.user.email == "user1@rescale.com"


@pytest.mark.parametrize(
    ("scope", "form"),
    [
        (None, {"grant_type": ["client_credentials"]}),
        (
            "htc:read htc:write",
            {"grant_type": ["client_credentials"], "scope": ["htc:read htc:write"]},
        ),
    ],
)
async def test_oauth2_token_uses_the_client_credentials_grant(
    scope: str | None, form: dict[str, list[str]]
) -> None:
    body = example("OAuth2Token", full=True, access_token="at-SECRET", token_type="Bearer")
    async with api() as (router, c):
        route = router.post("/oauth2/token").respond(json=body)
        token = await c.auth.oauth2_token(
            client_id="app:1", client_secret=SecretStr("s3cr:et+"), scope=scope
        )
        assert [call.request.url.path for call in router.calls] == ["/api/v1/oauth2/token"]
    request = route.calls.last.request
    assert request.headers["Authorization"] == basic("app%3A1", "s3cr%3Aet%2B")  # RFC 6749 2.3.1
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == form
    assert token == OAuth2Token.model_validate(body)
    assert token.access_token is not None
    assert token.access_token.get_secret_value() == "at-SECRET"


async def test_jwks_is_fetched_without_credentials() -> None:
    async with api() as (router, c):
        route = router.get("/.well-known/jwks.json").respond(json=jwks())
        keys = await c.auth.jwks()
        assert len(router.calls) == 1  # no token request either
    assert "Authorization" not in route.calls.last.request.headers
    assert keys == jwks()


async def test_whoami_sends_the_bearer_token() -> None:
    payload: dict[str, Any] = {"sub": "user-1", "email": "user1@rescale.com"}
    async with api() as (router, c):
        route = router.get("/auth/token/whoami").respond(json=payload)
        assert await c.auth.whoami() == payload
        bearer = await c.auth.bearer_token()
    expected = f"Bearer {bearer.value.get_secret_value()}"
    assert route.calls.last.request.headers["Authorization"] == expected


async def test_tokens_stay_out_of_reprs() -> None:
    oauth = example("OAuth2Token", full=True, access_token="at-SECRET")
    async with api() as (router, c):
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.post("/oauth2/token").respond(json=oauth)
        shown = [
            await c.auth.token(),
            await c.auth.oauth2_token(client_id="client-1", client_secret="s"),
        ]
    text = f"{shown!r} {shown[0]} {shown[1]}"
    assert "at-SECRET" not in text
    assert ".ey" not in text  # no JWT


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.auth.oauth2_token(client_id="", client_secret="s"), "client_id cannot"),
        (lambda c: c.auth.oauth2_token(client_id="a", client_secret=""), "client_secret cannot"),
        (
            lambda c: c.auth.oauth2_token(client_id="a", client_secret=SecretStr("")),
            "client_secret cannot",
        ),
    ],
)
async def test_bad_input_fails_before_any_request(call: Call, match: str) -> None:
    async with api() as (router, c):
        with pytest.raises(ValueError, match=match):
            await call(c)
        assert not router.calls


@pytest.mark.parametrize("method", ["token", "user"])
async def test_a_bearer_only_client_cannot_use_the_credential_endpoints(method: str) -> None:
    with mock_api() as router:
        async with client(api_key=None, bearer_token=make_jwt()) as c:
            with pytest.raises(ConfigurationError, match="hold only a bearer token"):
                await getattr(c.auth, method)()
        assert not router.calls
