"""Authorization schemes: each ``httpx.Auth`` builds its own header; bearer tokens are renewed
by a single-flight token manager and verified against the service's JWKS.

``GET /auth/token`` (with ``Token <api key>`` or ``Refresh <refresh token>``) gives a JWT that
every other call carries as ``Bearer``. The manager refreshes it before it expires (a margin of
10% of its lifetime, at most 5 minutes, on a monotonic clock); concurrent callers share one
refresh, and concurrent 401s for the same token cause one refresh (a generation counter).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from .claims import unverified_claims
from .config import Credentials
from .exceptions import (
    AuthenticationError,
    ConfigurationError,
    RescaleError,
    TokenVerificationError,
)

if TYPE_CHECKING:
    import jwt

__all__ = [
    "APIKeyAuth",
    "BearerAuth",
    "BearerToken",
    "CredentialAuth",
    "TokenManager",
    "parse_token_response",
    "verify_token",
]

logger = logging.getLogger("rescale_async")

MAX_REFRESH_MARGIN = 300.0
USER_CLAIM_PREFIX = "userDefined_"
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]

TokenFetcher = Callable[[], Awaitable[tuple[str, float]]]
"""Fetches a new token: returns (JWT, lifetime in seconds)."""


class BearerToken(BaseModel):
    """A bearer JWT with its decoded (unverified) claims. ``value`` is secret."""

    model_config = ConfigDict(frozen=True)

    value: SecretStr
    expires_at: datetime
    claims: dict[str, Any]

    @property
    def user_claims(self) -> dict[str, Any]:
        """Claims given at job submission (``userDefined_`` prefix removed)."""
        return {
            name.removeprefix(USER_CLAIM_PREFIX): value
            for name, value in self.claims.items()
            if name.startswith(USER_CLAIM_PREFIX)
        }

    @classmethod
    def from_jwt(cls, value: str, *, expires_in: float | None = None) -> BearerToken:
        """Decode ``value`` without verifying it; expiry from ``exp`` or from ``expires_in``."""
        try:
            claims = unverified_claims(value)
        except ValueError:
            claims = {}
        exp = claims.get("exp")
        if isinstance(exp, int | float):
            expires_at = datetime.fromtimestamp(exp, tz=timezone.utc)
        else:
            expires_at = datetime.now(timezone.utc) + timedelta(seconds=expires_in or 0)
        return cls(value=SecretStr(value), expires_at=expires_at, claims=claims)


@dataclass(frozen=True)
class _HeldToken:
    token: BearerToken
    generation: int
    refresh_at: float  # monotonic: refresh proactively from here on
    expires: float  # monotonic: unusable from here on


class TokenManager:
    """Holds the current bearer token and renews it, one refresh at a time."""

    def __init__(
        self,
        credentials: Credentials,
        fetch: TokenFetcher,
        *,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self._credentials = credentials
        self._fetch = fetch
        self._clock = clock
        self._lock = anyio.Lock()
        self._held: _HeldToken | None = None
        self._generation = 0
        self._initial = credentials.bearer_token

    @property
    def can_renew(self) -> bool:
        return self._credentials.can_renew

    def _hold(
        self, token: BearerToken, lifetime: float, remaining: float | None = None
    ) -> _HeldToken:
        """Make ``token`` current; it lives ``lifetime`` s in all, ``remaining`` s from now."""
        now = self._clock()
        left = lifetime if remaining is None else remaining
        margin = min(MAX_REFRESH_MARGIN, 0.1 * max(0.0, lifetime))
        self._generation += 1
        self._held = _HeldToken(token, self._generation, now + left - margin, now + left)
        return self._held

    def _adopt_initial(self) -> None:
        """Take the bearer token given at configuration (lifetime from its claims)."""
        assert self._initial is not None
        token = BearerToken.from_jwt(self._initial.get_secret_value())
        self._initial = None
        remaining = (token.expires_at - datetime.now(timezone.utc)).total_seconds()
        issued, exp = token.claims.get("iat"), token.claims.get("exp")
        if isinstance(issued, int | float) and isinstance(exp, int | float):
            self._hold(token, float(exp - issued), remaining)
        else:
            self._hold(token, remaining)

    def _usable(self, held: _HeldToken | None) -> bool:
        if held is None:
            return False
        now = self._clock()
        if now < held.refresh_at:
            return True
        # Past the refresh margin: keep using it only if nothing can renew it and it still lives.
        return not self.can_renew and now < held.expires

    async def current(self, request: httpx.Request) -> _HeldToken:
        """A usable token, refreshing it first (once, for all concurrent callers) if needed."""
        if self._initial is not None:
            self._adopt_initial()
        held = self._held
        if self._usable(held):
            assert held is not None
            return held
        async with self._lock:
            held = self._held
            if self._usable(held):
                assert held is not None
                return held
            return await self._refresh(request)

    async def renew_after_rejection(self, generation: int, request: httpx.Request) -> _HeldToken:
        """The server refused token ``generation``: refresh unless someone already did."""
        async with self._lock:
            held = self._held
            if held is not None and held.generation != generation and self._usable(held):
                return held
            return await self._refresh(request)

    async def _refresh(self, request: httpx.Request) -> _HeldToken:
        if not self.can_renew:
            raise AuthenticationError.before_sending(
                request,
                f"the bearer token from {self._credentials.source} has expired and there is no "
                "API key or refresh token to renew it",
            )
        value, lifetime = await self._fetch()
        held = self._hold(BearerToken.from_jwt(value, expires_in=lifetime), lifetime)
        logger.debug("obtained a bearer token valid for %.0f s", lifetime)
        return held


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <JWT>``; on a 401 refreshes once and replays once."""

    def __init__(self, tokens: TokenManager) -> None:
        self._tokens = tokens

    @staticmethod
    def build_header(token: BearerToken) -> str:
        """The ``Authorization`` value that carries ``token``."""
        return f"Bearer {token.value.get_secret_value()}"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("rescale_async is async-only: use httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        held = await self._tokens.current(request)
        request.headers["Authorization"] = self.build_header(held.token)
        response = yield request
        if response.status_code == 401 and self._tokens.can_renew:
            logger.debug("%s %s got 401: renewing the token once", request.method, request.url.path)
            held = await self._tokens.renew_after_rejection(held.generation, request)
            request.headers["Authorization"] = self.build_header(held.token)
            yield request


class CredentialAuth(httpx.Auth):
    """Adds ``Authorization: Token <key>`` or ``Refresh <token>`` (/auth/token, /auth/whoami)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def build_header(self) -> str:
        """``Token <key>``, else ``Refresh <token>``; a bearer token alone cannot renew itself."""
        credentials = self._credentials
        if credentials.api_key is not None:
            return f"Token {credentials.api_key.get_secret_value()}"
        if credentials.refresh_token is not None:
            return f"Refresh {credentials.refresh_token.get_secret_value()}"
        raise ConfigurationError(
            f"the credentials from {credentials.source} hold only a bearer token, which cannot "
            "be renewed; provide an API key (api_key= or RESCALE_API_KEY) or a refresh token"
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = self.build_header()
        yield request


def is_jwt_shaped(value: str) -> bool:
    """Whether ``value`` looks like a JWT: three dot-separated parts, the first starting ``ey``
    (the base64 of ``{"``).
    """
    parts = value.split(".")
    return len(parts) == 3 and parts[0].startswith("ey") and all(parts)


class APIKeyAuth(httpx.Auth):
    """Adds ``Authorization: Token <key>`` to every request, or ``Bearer <key>`` when the key
    is JWT-shaped; the key is sent as is, never exchanged (the platform API).
    """

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def build_header(self) -> str:
        """``Token <key>``, or ``Bearer <key>`` for a JWT-shaped key."""
        key = self._credentials.api_key
        if key is None:
            raise ConfigurationError(
                f"the credentials from {self._credentials.source} hold no API key; provide one "
                "(api_key= or RESCALE_API_KEY)"
            )
        value = key.get_secret_value()
        return f"{'Bearer' if is_jwt_shaped(value) else 'Token'} {value}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = self.build_header()
        yield request


def parse_token_response(response: httpx.Response, base_url: str) -> tuple[str, float]:
    """The JWT and its lifetime in seconds from a ``GET /auth/token`` answer."""
    try:
        body = response.json()
        return str(body["tokenValue"]), float(body["expiresIn"])
    except (ValueError, KeyError, TypeError):
        raise RescaleError(
            "GET /auth/token answered without tokenValue/expiresIn; is the base URL "
            f"{base_url} an HTC API?"
        ) from None


def verify_token(jwks: Mapping[str, Any], token: str) -> dict[str, Any]:
    """The claims of ``token`` once its signature and expiry check out against ``jwks``.

    Raises TokenVerificationError when the token is malformed, expired, or not signed by a key
    in ``jwks`` (a JSON Web Key Set, as ``GET /.well-known/jwks.json`` answers).
    """
    import jwt  # noqa: PLC0415 - only verification needs PyJWT (and its memory)

    try:
        key = _signing_key(jwks, token)
        claims: dict[str, Any] = jwt.decode(
            token, key.key, algorithms=SIGNING_ALGORITHMS, options={"verify_aud": False}
        )
    except jwt.PyJWTError as exc:
        raise TokenVerificationError(f"token verification failed: {exc}") from None
    return claims


def _signing_key(jwks: Mapping[str, Any], token: str) -> jwt.PyJWK:
    """The key of ``jwks`` named by ``token``'s ``kid`` header (the first when it names none)."""
    import jwt  # noqa: PLC0415 - as in verify_token

    key_set = jwt.PyJWKSet.from_dict({"keys": jwks.get("keys") or jwks.get("jsonWebKeys") or []})
    key_id = jwt.get_unverified_header(token).get("kid")
    candidates = [k for k in key_set.keys if key_id is None or k.key_id == key_id]
    if not candidates:
        raise TokenVerificationError(
            f"the token's key id {key_id!r} is not among the service's published keys"
        )
    return candidates[0]
