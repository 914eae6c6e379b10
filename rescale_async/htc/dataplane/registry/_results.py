"""What a push reports: its progress as it goes, and the image it pushed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["PlatformManifest", "PushProgress", "PushProgressHook", "PushedImage"]


@dataclass(frozen=True)
class PushProgress:
    """How far a push is: blob bytes sent of those to send, blobs done (uploaded or found
    already present) of all the image's blobs.
    """

    bytes_sent: int
    bytes_total: int
    blobs_done: int
    blobs_total: int
    blobs_skipped: int = 0
    """Blobs the registry had already (HEAD 200), counted in ``blobs_done``."""


PushProgressHook: TypeAlias = Callable[[PushProgress], Awaitable[None] | None]
"""Called (or awaited) with the progress after each piece of a blob is sent."""


@dataclass(frozen=True)
class PlatformManifest:
    """One manifest a push put by digest: a platform's image manifest of an index."""

    digest: str
    media_type: str
    platform: str | None
    """``os/architecture[/variant]``, None when the index does not say."""


@dataclass(frozen=True)
class PushedImage:
    """An image pushed into the project's registry; ``image`` (``repository:tag``) is the
    name a ``JobSpec`` runs it by.
    """

    image: str
    repository: str
    tag: str
    digest: str
    """The digest of what the tag names: the image manifest, or the index of platforms."""
    media_type: str
    registry: str
    """The project's registry: ``host/rescale/<project path>``."""
    bytes_sent: int
    """Bytes of the blobs uploaded (0 when the registry had every blob already)."""
    blobs_uploaded: int
    blobs_skipped: int
    platforms: tuple[PlatformManifest, ...] = ()
    """The manifests pushed by digest before the tag (empty for a single image manifest)."""
    ready: bool = False
    """True when the push waited until the image was READY for jobs."""

    @property
    def reference(self) -> str:
        """The full, immutable reference: ``host/rescale/<project>/<repository>@<digest>``."""
        return f"{self.registry}/{self.repository}@{self.digest}"
