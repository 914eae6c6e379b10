"""``client.jobs``."""

from __future__ import annotations

from ._base import APIResource

__all__ = ["Jobs"]


class Jobs(APIResource):
    """TODO(helper): the jobs operations."""
