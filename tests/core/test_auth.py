"""The token-refresh middleware: single flight, proactive refresh, 401 replay, verification."""

from __future__ import annotations

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from support import API_KEY, TokenEndpoint, client, jwks, make_jwt, mock_api

from rescale_async import AuthenticationError, BearerToken, TokenVerificationError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"auth": request.headers["Authorization"]})


async def test_ten_thousand_concurrent_calls_cause_one_token_request() -> None:
    tokens = TokenEndpoint(lifetime=100)

    async def slow_token(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.05)  # every caller piles up behind the one refresh
        return tokens(request)

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=slow_token)
        thing = router.get("/thing").mock(side_effect=ok)
        clock = FakeClock()
        async with client(max_concurrency=10_000, clock=clock) as c:
            await c.request("GET", "thing")
            assert tokens.calls == 1
            clock.now += 95  # inside the 10 s refresh margin of a 100 s token

            async def call() -> None:
                await c.request("GET", "thing")

            async with anyio.create_task_group() as tg:
                for _ in range(10_000):
                    tg.start_soon(call)
    assert tokens.calls == 2
    assert thing.call_count == 10_001
    newest = f"Bearer {tokens.issued[-1]}"
    assert all(call.request.headers["Authorization"] == newest for call in thing.calls[1:])


@pytest.mark.parametrize(
    ("lifetime", "still_fresh", "refreshed"),
    [(100.0, 89.0, 91.0), (21600.0, 21600.0 - 301, 21600.0 - 299)],
)
async def test_proactive_refresh_margin(
    lifetime: float, still_fresh: float, refreshed: float
) -> None:
    tokens = TokenEndpoint(lifetime=lifetime)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        router.get("/thing").mock(side_effect=ok)
        clock = FakeClock()
        async with client(clock=clock) as c:
            start = clock.now
            await c.request("GET", "thing")
            clock.now = start + still_fresh
            await c.request("GET", "thing")
            assert tokens.calls == 1
            clock.now = start + refreshed
            await c.request("GET", "thing")
            assert tokens.calls == 2


async def test_concurrent_401s_cause_one_refresh() -> None:
    tokens = TokenEndpoint()

    def reject_first_token(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == f"Bearer {tokens.issued[0]}":
            return httpx.Response(
                401, json={"error": "invalid_token", "errorDescription": "revoked"}
            )
        return httpx.Response(200, json={})

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        router.get("/thing").mock(side_effect=reject_first_token)
        async with client(max_concurrency=500) as c:
            await c.auth.bearer_token()
            results: list[int] = []

            async def call() -> None:
                results.append((await c.request("GET", "thing")).status_code)

            async with anyio.create_task_group() as tg:
                for _ in range(500):
                    tg.start_soon(call)
    assert results == [200] * 500
    assert tokens.calls == 2


async def test_401_replays_once_then_raises() -> None:
    tokens = TokenEndpoint()
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        thing = router.get("/thing").mock(
            return_value=httpx.Response(401, json={"error": "x", "errorDescription": "nope"})
        )
        async with client() as c:
            with pytest.raises(AuthenticationError, match="GET /api/v1/thing -> 401: nope"):
                await c.request("GET", "thing")
    assert thing.call_count == 2
    assert tokens.calls == 2


async def test_rejected_api_key_raises_authentication_error() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        thing = router.get("/thing").mock(side_effect=ok)
        async with client(api_key="wrong-key") as c:
            with pytest.raises(AuthenticationError, match="GET /api/v1/auth/token -> 401: bad key"):
                await c.request("GET", "thing")
    assert thing.call_count == 0


async def test_refresh_cancelled_by_its_caller_leaves_others_working() -> None:
    tokens = TokenEndpoint()
    first_started = anyio.Event()

    async def token(request: httpx.Request) -> httpx.Response:
        if tokens.calls == 0 and not first_started.is_set():
            first_started.set()
            await anyio.sleep(3600)
        return tokens(request)

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=token)
        router.get("/thing").mock(side_effect=ok)
        async with client() as c:
            outcome: list[str] = []

            async def leader(scope: anyio.CancelScope) -> None:
                with scope:
                    await c.request("GET", "thing")
                outcome.append("leader cancelled" if scope.cancel_called else "leader done")

            async def follower() -> None:
                await first_started.wait()
                response = await c.request("GET", "thing")
                outcome.append(f"follower {response.status_code}")

            leader_scope = anyio.CancelScope()
            async with anyio.create_task_group() as tg:
                tg.start_soon(leader, leader_scope)
                tg.start_soon(follower)
                await first_started.wait()
                await anyio.sleep(0.01)
                leader_scope.cancel()
    assert sorted(outcome) == ["follower 200", "leader cancelled"]
    assert tokens.calls == 1  # the follower's refresh; the leader's never completed


async def test_bearer_token_model_and_user_claims() -> None:
    tokens = TokenEndpoint()
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        async with client() as c:
            token = await c.auth.bearer_token()
            assert await c.auth.bearer_token() is token
    assert isinstance(token, BearerToken)
    assert token.value.get_secret_value() == tokens.issued[0]
    assert tokens.issued[0] not in repr(token)
    assert token.expires_at.tzinfo is not None
    assert token.claims["sub"] == "user-1"
    decoded = BearerToken.from_jwt(make_jwt(60, userDefined_sweep="s1", userDefined_n=3, other=1))
    assert decoded.user_claims == {"sweep": "s1", "n": 3}


async def test_refresh_token_header() -> None:
    tokens = TokenEndpoint()
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        router.get("/thing").mock(side_effect=ok)
        async with client(api_key=None, refresh_token="r-SECRET") as c:
            await c.request("GET", "thing")
    assert tokens.calls == 1


async def test_bearer_from_job_environment_is_used_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bearer = make_jwt(3600)
    monkeypatch.setenv("RESCALE_HTC_BEARER_TOKEN", bearer)
    with mock_api() as router:
        token_route = router.get("/auth/token")
        thing = router.get("/thing").mock(side_effect=ok)
        clock = FakeClock()
        async with client(api_key=None, clock=clock) as c:
            start = clock.now
            response = await c.request("GET", "thing")
            assert response.json() == {"auth": f"Bearer {bearer}"}
            assert (await c.auth.bearer_token()).value.get_secret_value() == bearer
            # Once expired (monotonic clock moved on) it is refused before sending: the token
            # had at most 3600 s left when first used.
            clock.now = start + 3600 + 1
            with pytest.raises(AuthenticationError, match="has expired and there is no API key"):
                await c.request("GET", "thing")
    assert token_route.call_count == 0
    assert thing.call_count == 1


async def test_bearer_only_401_is_not_replayed() -> None:
    with mock_api() as router:
        thing = router.get("/thing").mock(return_value=httpx.Response(401))
        async with client(api_key=None, bearer_token=make_jwt(3600)) as c:
            with pytest.raises(AuthenticationError):
                await c.request("GET", "thing")
    assert thing.call_count == 1


async def test_env_bearer_is_refreshed_with_refresh_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_HTC_BEARER_TOKEN", make_jwt(100))
    monkeypatch.setenv("RESCALE_HTC_REFRESH_TOKEN", "r-SECRET")
    tokens = TokenEndpoint()
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        router.get("/thing").mock(side_effect=ok)
        clock = FakeClock()
        async with client(api_key=None, clock=clock) as c:
            start = clock.now
            await c.request("GET", "thing")
            assert tokens.calls == 0
            # A 100 s token is refreshed from 10 s before it expires: at most 90 s after its
            # first use.
            clock.now = start + 90 + 1
            response = await c.request("GET", "thing")
    assert tokens.calls == 1
    assert response.json() == {"auth": f"Bearer {tokens.issued[0]}"}


async def test_malformed_token_response() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(return_value=httpx.Response(200, json={"nope": 1}))
        async with client() as c:
            with pytest.raises(Exception, match="without tokenValue/expiresIn"):
                await c.request("GET", "thing")


async def test_verify_against_jwks() -> None:
    with mock_api() as router:
        jwks_route = router.get("/.well-known/jwks.json").mock(
            return_value=httpx.Response(200, json=jwks())
        )
        async with client() as c:
            good = make_jwt(600, userDefined_run="a")
            verified = await c.auth.verify(good)
            assert verified.user_claims == {"run": "a"}
            with pytest.raises(TokenVerificationError, match="expired"):
                await c.auth.verify(make_jwt(-60))
            other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            forged = jwt.encode(
                {"sub": "x"}, other_key, algorithm="RS256", headers={"kid": "test-key-1"}
            )
            with pytest.raises(TokenVerificationError, match="Signature verification failed"):
                await c.auth.verify(forged)
            unknown = jwt.encode({"sub": "x"}, other_key, algorithm="RS256", headers={"kid": "zzz"})
            with pytest.raises(TokenVerificationError, match="'zzz' is not among"):
                await c.auth.verify(unknown)
            with pytest.raises(TokenVerificationError):
                await c.auth.verify("not a jwt")
    assert "Authorization" not in jwks_route.calls[0].request.headers
    assert API_KEY  # the key never reached the public endpoint (no auth header above)
