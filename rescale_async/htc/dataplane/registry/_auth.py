"""Registry credentials: the project's registry token as HTTP Basic ``AWS:<token>`` (ECR's
login), or exchanged for a bearer token where the registry's challenge asks for one.

The token is fetched once per push and again after a 401, by one caller for every
concurrent request (the others wait for it and use the new one).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import httpx
from pydantic import SecretStr

from ...._core.exceptions import RegistryError
from ._http import check_scheme

__all__ = ["AuthState", "Challenge", "RegistryAuth", "RegistryPassword", "parse_challenge"]

REGISTRY_USER = "AWS"
"""The user name of ECR's Basic login (the token is the password)."""

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


@dataclass(frozen=True)
class Challenge:
    """A ``WWW-Authenticate`` challenge: its scheme (lower case) and parameters."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    """The first challenge of a ``WWW-Authenticate`` header, or None."""
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {m[1].lower(): m[2] if m[2] or not m[3] else m[3] for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


class RegistryPassword:
    """The registry token, fetched when first needed and renewed once per 401 wave."""

    def __init__(self, fetch: Callable[[], Awaitable[SecretStr]]) -> None:
        self._fetch = fetch
        self._value: SecretStr | None = None
        self._generation = 0
        self._lock = anyio.Lock()

    @property
    def generation(self) -> int:
        """How many tokens have been fetched (the one in use is the latest)."""
        return self._generation

    async def current(self) -> tuple[int, SecretStr]:
        """The token in use and its generation (fetched on first use)."""
        if self._value is None:
            await self.renew(0)
        assert self._value is not None
        return self._generation, self._value

    async def renew(self, seen: int) -> None:
        """Fetch a new token unless one newer than generation ``seen`` is already here."""
        async with self._lock:
            if self._generation == seen:
                self._value = await self._fetch()
                self._generation += 1


@dataclass(frozen=True)
class AuthState:
    """What a request was sent with, to tell a stale credential from a fresh one on a 401."""

    header: str | None
    generation: int


class RegistryAuth:
    """The ``Authorization`` of one repository's requests: Basic from the start (ECR, the
    Debian registry), switched to a bearer token when a 401 challenges with ``Bearer``.
    """

    def __init__(
        self, http: httpx.AsyncClient, password: RegistryPassword, repository: str
    ) -> None:
        self._http = http
        self._password = password
        self._repository = repository
        self._bearer: SecretStr | None = None
        self._lock = anyio.Lock()

    async def current(self) -> AuthState:
        """The header to send now."""
        generation, password = await self._password.current()
        return AuthState(self._bearer_header() or _basic(password), generation)

    async def challenged(self, response: httpx.Response, sent: AuthState, *, again: bool) -> bool:
        """After a 401 to a request sent with ``sent``: renew what was stale (once per wave of
        concurrent requests); False when there is nothing left to try: an unknown challenge,
        or Basic refusing a request that was already resent with a renewed token (``again``).
        """
        challenge = parse_challenge(response.headers.get("www-authenticate"))
        if challenge is None:
            return False
        if challenge.scheme == "basic" and not again:
            await self._password.renew(sent.generation)
            return True
        if challenge.scheme == "bearer":
            async with self._lock:
                current = self._bearer_header()
                if current is None or current == sent.header:  # nobody has replaced it yet
                    self._bearer = await self._exchange(challenge)
            return True
        return False

    def _bearer_header(self) -> str | None:
        return None if self._bearer is None else f"Bearer {self._bearer.get_secret_value()}"

    async def _exchange(self, challenge: Challenge) -> SecretStr:
        """A bearer token from the challenge's realm, for pushing to this repository."""
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryError("the registry asked for a bearer token without naming a realm")
        url = check_scheme(httpx.URL(realm), "the token realm")
        wanted = f"repository:{self._repository}:pull,push"
        scopes = [wanted] + [s for s in [challenge.params.get("scope")] if s and s != wanted]
        params: dict[str, str | list[str]] = {"scope": scopes}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        for attempt in range(2):
            generation, password = await self._password.current()
            response = await self._http.get(
                url, params=params, headers={"Authorization": _basic(password)}
            )
            if response.status_code == 401 and attempt == 0:
                await self._password.renew(generation)
                continue
            break
        if response.status_code != 200:
            raise RegistryError.answered(response, "getting a bearer token from the realm")
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(
                f"the token realm {url.host}{url.path} answered without a token", response=response
            )
        return SecretStr(token)


def _basic(password: SecretStr) -> str:
    pair = f"{REGISTRY_USER}:{password.get_secret_value()}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")
