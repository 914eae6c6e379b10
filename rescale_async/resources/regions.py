"""``client.regions``."""

from __future__ import annotations

from ._base import APIResource

__all__ = ["Regions"]


class Regions(APIResource):
    """TODO(helper): the regions operations."""
