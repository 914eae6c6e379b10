"""No secret (API key, refresh token, bearer token) in any repr, exception text or log line."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import httpx
import pytest
from support import API_KEY, TokenEndpoint, client, make_jwt, mock_api, no_sleep_client

from rescale_async import ConfigurationError, RescaleError
from rescale_async._core.config import resolve_settings

REFRESH = "r-SECRET"


def texts_of(error: BaseException) -> list[str]:
    found: list[str] = []
    current: BaseException | None = error
    while current is not None:
        found += [str(current), repr(current), "".join(traceback.format_exception(current))]
        current = current.__cause__ or current.__context__
    return found


async def test_a_failing_run_leaks_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    tokens = TokenEndpoint(lifetime=100)
    env_bearer = make_jwt(3600)
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        router.get("/flaky").mock(
            side_effect=[httpx.Response(503), httpx.ConnectError("refused"), httpx.Response(500)]
        )
        router.get("/denied").mock(return_value=httpx.Response(401, json={"error": "x"}))
        router.post("/boom").mock(side_effect=httpx.ReadError("reset"))
        async with no_sleep_client(max_retries=2) as c:
            settings = resolve_settings(api_key=API_KEY, base_url=c.base_url)
            seen += [repr(c), str(c), repr(c.options), repr(c.auth), repr(settings)]
            for method, path in [("GET", "flaky"), ("GET", "denied"), ("POST", "boom")]:
                with pytest.raises(RescaleError) as info:
                    await c.request(method, path)
                seen += texts_of(info.value)
            token = await c.auth.bearer_token()
            seen += [repr(token), str(token), token.model_dump_json()]
        async with client(api_key="wrong", refresh_token=None) as bad:
            with pytest.raises(RescaleError) as info:
                await bad.request("GET", "flaky")
            seen += texts_of(info.value)
    async with client(api_key=None, bearer_token=env_bearer) as bearer_only:
        seen += [repr(bearer_only), str(bearer_only)]
        seen.append(repr(resolve_settings(bearer_token=env_bearer).credentials))
    bad_inputs: list[dict[str, Any]] = [
        {"api_key": f"{API_KEY} x"},
        {"bearer_token": "abc.def"},
        {"refresh_token": f"{REFRESH}\n"},
    ]
    for kwargs in bad_inputs:
        try:
            resolve_settings(**kwargs)
        except ConfigurationError as exc:
            seen += texts_of(exc)
    seen += [record.getMessage() for record in caplog.records]
    seen += [str(record.args) for record in caplog.records]
    assert any("retrying GET /api/v1/flaky" in line for line in seen)  # the run did log
    everything = "\n".join(seen)
    secrets = [API_KEY, REFRESH, env_bearer, *tokens.issued]
    assert tokens.issued
    for secret in secrets:
        assert secret not in everything
        # Not even a recognisable part of it.
        assert secret[-16:] not in everything
