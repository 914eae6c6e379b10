"""Requests to one repository of a registry: credentials on the registry's own origin only,
redirects followed hop by hop (without ``Authorization`` off that origin), a 401 answered
with a fresh credential.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

import httpx

from ...._core.exceptions import RegistryError
from ._auth import RegistryAuth
from ._http import check_scheme

__all__ = ["Body", "RegistrySession"]

Body = bytes | AsyncIterable[bytes] | None
"""A request body: bytes (resendable), a stream (sent once), or none."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_HOPS = 5
_AUTH_ROUNDS = 3
"""Sends of one request at most: once, again after a challenge, again after a renewal."""


class RegistrySession:
    """One repository (``rescale/<project>/<repo>``) of the registry at ``origin``."""

    def __init__(
        self, http: httpx.AsyncClient, origin: httpx.URL, repository: str, auth: RegistryAuth
    ) -> None:
        self.http = http
        self.origin = origin
        self.repository = repository
        self.auth = auth

    def url(self, path: str) -> httpx.URL:
        """``/v2/<repository>/<path>`` on the registry."""
        return self.origin.join(f"/v2/{self.repository}/{path}")

    def on_registry(self, url: httpx.URL) -> bool:
        """Whether ``url`` is on the registry's origin (the only one credentials go to)."""
        return (url.scheme, url.host, _port(url)) == (
            self.origin.scheme,
            self.origin.host,
            _port(self.origin),
        )

    async def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        body: Body = None,
    ) -> httpx.Response:
        """Send one request (a stream ``body`` only once): the final response, whatever its
        status; a 401 from the registry is answered by renewing the credential and resending
        (a resendable body only; after a stream the credential is renewed, and the 401
        returned for the caller to start its step again).
        """
        for attempt in range(_AUTH_ROUNDS):
            sent = await self.auth.current()
            response = await self._follow(method, url, headers or {}, body, sent.header)
            if response.status_code != 401 or not self.on_registry(response.url):
                break
            if attempt == _AUTH_ROUNDS - 1:
                break
            if not await self.auth.challenged(response, sent, again=attempt > 0):
                break
            if not isinstance(body, bytes | None):
                break  # a stream was consumed: its caller starts the step again
        return response

    async def _follow(
        self,
        method: str,
        url: httpx.URL,
        headers: dict[str, str],
        body: Body,
        authorization: str | None,
    ) -> httpx.Response:
        """Send, following redirects of bodyless or resendable requests for a few hops."""
        for _ in range(_MAX_HOPS):
            check_scheme(url, "the registry URL")
            sending = dict(headers)
            if authorization is not None and self.on_registry(url):
                sending["Authorization"] = authorization
            request = self.http.build_request(method, url, headers=sending, content=body)
            response = await self.http.send(request)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or location is None:
                return response
            if not isinstance(body, bytes | None):
                raise RegistryError(
                    f"registry {url.host}: {method} {url.path} answered a streamed upload "
                    f"with a redirect ({response.status_code}), which cannot be resent",
                    response=response,
                )
            url = response.url.join(location)
            if response.status_code == 303 and method != "HEAD":
                method, body = "GET", None
        raise RegistryError(
            f"registry {url.host}: more than {_MAX_HOPS} redirects for {method} {url.path}"
        )


def _port(url: httpx.URL) -> int | None:
    return url.port or {"http": 80, "https": 443}.get(url.scheme)
