"""The one connection pool a client uses for registries, and which URLs it may use.

Plain HTTP only to loopback registries (as docker allows for localhost), HTTPS elsewhere.
"""

from __future__ import annotations

import ipaddress

import anyio
import httpx

from ...._core.exceptions import RegistryError
from ...._core.options import ClientOptions
from ...._core.pipeline import USER_AGENT

__all__ = ["RegistryHTTP", "check_scheme", "is_loopback", "registry_origin"]


class RegistryHTTP:
    """An ``httpx.AsyncClient`` for registry requests, made on first use and closed with the
    HTC client: separate from the API's pool (other hosts, no Rescale token), never following
    redirects by itself (each hop is checked, see ``RegistrySession``).
    """

    def __init__(self, options: ClientOptions) -> None:
        self._options = options
        self._http: httpx.AsyncClient | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._closed = False

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """Registry requests in flight at once, across pushes: ``max_concurrency``. Not the
        API's slots, which a push's own API calls (a token renewal) need while holding one.
        """
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._options.max_concurrency)
        return self._limiter

    def client(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("the client has been closed: push with an open HTCClient")
        if self._http is None:
            options = self._options
            self._http = httpx.AsyncClient(
                timeout=options.timeout,
                follow_redirects=False,
                http2=options.http2,
                headers={"User-Agent": USER_AGENT},
                limits=httpx.Limits(
                    max_connections=options.max_concurrency + 2,
                    max_keepalive_connections=options.max_concurrency,
                ),
            )
        return self._http

    async def aclose(self) -> None:
        self._closed = True
        if self._http is not None:
            await self._http.aclose()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, without port) is this machine."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_origin(address: str) -> httpx.URL:
    """The base URL of the registry at ``address`` (``host[:port]``): http on loopback."""
    url = httpx.URL(f"//{address}")
    scheme = "http" if is_loopback(url.host) else "https"
    return httpx.URL(f"{scheme}://{address}/")


def check_scheme(url: httpx.URL, what: str) -> httpx.URL:
    """``url`` if it may be used: https, or http to a loopback host."""
    if url.scheme == "https" or (url.scheme == "http" and is_loopback(url.host)):
        return url
    raise RegistryError(
        f"refusing {what} {url.scheme}://{url.host}{url.path}: only https (or http to a "
        "loopback address) is used for registries"
    )
