"""The real registry standing in for every project's ECR (``EmulatorConfig.registry_address``),
as the emulator asks it which images a project has.

Repositories are ``rescale/<project id>/<repository>``; the emulator logs in as the projects
do, with user ``AWS`` and the project's registry token.
"""

from __future__ import annotations

import ipaddress
import logging

import httpx

from ._errors import ApiError

__all__ = ["RegistryView"]

logger = logging.getLogger("rescale_async.emulator")

_MANIFESTS = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_PAGE = 1000


class RegistryView:
    """Answers "does this project's registry hold image ``repo:tag``?" from the registry."""

    def __init__(self, address: str) -> None:
        host = httpx.URL(f"//{address}").host
        local = host == "localhost" or _loopback_address(host)
        self.address = address
        self._http = httpx.AsyncClient(
            base_url=f"{'http' if local else 'https'}://{address}", timeout=10.0
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def has_image(self, project_id: str, image: str, password: str) -> bool:
        """Whether the manifest ``image`` (``repo:tag``) is in the project's repositories."""
        repository, _, tag = image.rpartition(":")
        response = await self._get(
            f"/v2/rescale/{project_id}/{repository}/manifests/{tag}",
            password,
            method="HEAD",
            headers={"Accept": _MANIFESTS},
        )
        return response.status_code == 200

    async def images(self, project_id: str, password: str) -> list[str]:
        """Every ``repo:tag`` of the project's repositories."""
        prefix = f"rescale/{project_id}/"
        repositories: list[str] = []
        path: str | None = f"/v2/_catalog?n={_PAGE}"
        while path is not None:
            response = await self._get(path, password)
            names = (response.json() or {}).get("repositories") or []
            repositories += [name for name in names if name.startswith(prefix)]
            path = _next_link(response)
        found = []
        for repository in repositories:
            response = await self._get(f"/v2/{repository}/tags/list?n={_PAGE}", password)
            tags = (response.json() or {}).get("tags") or [] if response.status_code == 200 else []
            found += [f"{repository.removeprefix(prefix)}:{tag}" for tag in tags]
        return found

    async def _get(
        self,
        path: str,
        password: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, path, headers=headers, auth=("AWS", password)
            )
        except httpx.TransportError as exc:
            raise _unavailable(f"the registry {self.address} cannot be reached: {exc}") from exc
        if response.status_code in (200, 404):
            return response
        raise _unavailable(
            f"the registry {self.address} answered {method} {httpx.URL(path).path} with "
            f"{response.status_code}"
        )


def _loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _next_link(response: httpx.Response) -> str | None:
    """The path of a ``Link: <...>; rel="next"`` header (the catalog's paging)."""
    link = response.headers.get("link", "")
    if 'rel="next"' not in link:
        return None
    return link.split(";", 1)[0].strip().strip("<>") or None


def _unavailable(message: str) -> ApiError:
    logger.warning("%s", message)
    return ApiError(
        502, {"error": "REGISTRY_UNAVAILABLE", "errorDescription": message, "message": message}
    )
