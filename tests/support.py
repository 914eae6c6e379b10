"""Helpers shared by the tests: signed JWTs, a respx-backed client, a fake token endpoint."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import anyio.lowlevel
import httpx
import jwt
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from rescale_async import HTCClient

BASE_URL = "https://htc.test/api/v1"
API_KEY = "key-SECRET-0123456789abcdef"
KID = "test-key-1"


@lru_cache(maxsize=1)
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_jwt(lifetime: float = 21600.0, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + int(lifetime), "sub": "user-1", **claims}
    return jwt.encode(payload, signing_key(), algorithm="RS256", headers={"kid": KID})


def jwks() -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key().public_key(), as_dict=True)
    return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}


class TokenEndpoint:
    """A ``GET /auth/token`` side effect that counts calls and issues tokens."""

    def __init__(self, lifetime: float = 21600.0) -> None:
        self.lifetime = lifetime
        self.calls = 0
        self.issued: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if request.headers.get("Authorization") not in (f"Token {API_KEY}", "Refresh r-SECRET"):
            return httpx.Response(
                401, json={"error": "unauthorized", "errorDescription": "bad key"}
            )
        token = make_jwt(self.lifetime, n=self.calls)
        self.issued.append(token)
        return httpx.Response(200, json={"tokenValue": token, "expiresIn": self.lifetime})


def client(**kwargs: Any) -> HTCClient:
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("base_url", BASE_URL)
    return HTCClient(**kwargs)


def no_sleep_client(delays: list[float] | None = None, **kwargs: Any) -> HTCClient:
    """A client whose waits (retry backoff, rate-limit pauses...) are recorded in ``delays``
    instead of waited.
    """
    record = delays if delays is not None else []

    async def fake_sleep(seconds: float) -> None:
        record.append(seconds)

    return client(sleep=fake_sleep, **kwargs)


class VirtualClock:
    """A monotonic clock that moves only when the client waits: pass ``clock=clock.time,
    sleep=clock.sleep`` to a client, and rate-limit pauses and backoff cost no real time.
    ``slept`` holds every wait asked for.
    """

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


def mock_api() -> respx.MockRouter:
    """A respx router for the test API; routes a test leaves uncalled are asserted on explicitly."""
    return respx.mock(base_url=BASE_URL, assert_all_called=False)
