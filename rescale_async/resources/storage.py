"""``client.storage``."""

from __future__ import annotations

from ._base import APIResource

__all__ = ["Storage"]


class Storage(APIResource):
    """TODO(helper): the storage operations."""
