"""``client.images``."""

from __future__ import annotations

from ._base import APIResource

__all__ = ["Images"]


class Images(APIResource):
    """TODO(helper): the images operations."""
